"""KnowledgeBase.respond: every message about outsourcing gets a grounded answer or an honest
"my sources don't cover <what was asked>" with what they do say; off-topic ones are declined."""
import re

import pytest

from actions.knowledge.facts import ANSWERED, DECLINED, NOT_COVERED, SUGGESTIONS, KnowledgeBase, Reading

SOURCE_NUMBERS = {"1", "2", "3", "4", "5", "10000", "1100000"}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def read(text, *ranking):
    """A message that is one question, as NLU read it."""
    return [Reading(text, tuple(ranking))]


@pytest.mark.parametrize("text, reading, named, nearest", [
    ("is there an age limit for bpo jobs", ("qualifications", 0.3), "age limits", "graduation"),
    ("how do i prepare for a bpo interview", (None, 0.6), "interviews", "graduation"),
    ("my english accent is not good, can i join bpo?", ("career", 0.5), "accents", "graduation"),
    ("which companies hire freshers, is genpact good?", ("companies", 0.7), "Genpact", "IBM"),
    ("kpo jobs in pune", ("work", 0.6), "outsourcing in Pune", "equity research"),
    ("will outsourcing take away jobs from american workers", ("outsourcing", 0.5),
     "what outsourcing does to jobs in the countries that send the work", "service provider"),
    ("can night shifts in a call centre cause heart problems", ("conditions", 0.5),
     "the effect on health", "Business Process Outsourcing"),
    ("which colleges offer kpo as a specialisation", ("qualifications", 0.4),
     "courses, certifications or institutes", "any stream"),
    ("is a bpo job a dead end", ("career", 0.4), "how a career grows", "graduation"),
    ("is a kpo firm a good place to work", ("qualifications", 0.5), "day to day", "any stream"),
    ("how much would it cost us to outsource our helpdesk", ("cost", 0.5), "prices or rates",
     "more expensive"),
    ("what can i do after the call centre", ("career", 0.4), "other careers", "graduation"),
    ("how can we avoid misunderstandings with an offshore team", ("risks", 0.5),
     "ways to avoid or manage the risks", "dependency"),
    ("is medical coding a good career", ("career", 0.5), "Medical Coding", "Medical services"),
])
def test_what_the_sources_dont_cover_is_named_then_the_nearest_they_do(kb, text, reading, named,
                                                                       nearest):
    answer = kb.respond(text, read(text, reading))
    assert answer.kind == NOT_COVERED and not answer.complete
    first_line = answer.text.splitlines()[0]
    assert first_line.startswith("My sources don't cover") and named in first_line
    assert nearest in answer.text and answer.facts


@pytest.mark.parametrize("text, reading, expected", [
    ("why do firms contract out their payroll work", ("outsourcing", 0.5), "service provider"),
    ("what is the pay in bpo and how can i tap into it", ("salary", 0.6), "10000"),
    ("is kpo costlier than bpo", ("cost", 0.7), "more expensive"),
])
def test_words_that_only_look_like_a_gap_are_answered_as_asked(kb, text, reading, expected):
    answer = kb.respond(text, read(text, reading))
    assert answer.kind == ANSWERED and "don't cover" not in answer.text
    assert expected in answer.text


def test_a_question_about_handling_calls_is_on_topic_and_honestly_not_covered(kb):
    text = "what should an agent do when a caller shouts during a call"
    answer = kb.respond(text, read(text, (None, 0.3)))
    assert answer.kind == NOT_COVERED and text in answer.text


def test_an_on_topic_question_nothing_answers_is_quoted_without_its_figures(kb):
    text = "do bpo employees get 2 days off after 6 night shifts"
    answer = kb.respond(text, read(text, (None, 0.3)))
    assert answer.kind == NOT_COVERED and not answer.facts
    assert answer.text.startswith("My sources don't cover that: “do bpo employees get days off")
    assert not re.findall(r"\d", answer.text)
    assert answer.followups  # what the sources do answer, as buttons


def test_no_reply_to_an_uncovered_question_states_a_figure_the_sources_lack(kb):
    for text in ("what is the salary of a kpo analyst with 3 years experience",
                 "bpo salary in mumbai for freshers 2024", "is 25 too old for a call centre"):
        answer = kb.respond(text, read(text, ("salary", 0.6)))
        assert set(re.findall(r"\d[\d,.]*\d|\d", answer.text)) <= SOURCE_NUMBERS


def test_off_topic_messages_are_declined(kb):
    for text in ("what time is it in london", "write me a poem", "what is the weather in mumbai"):
        assert kb.respond(text, read(text, (None, 0.9))).kind == DECLINED


def test_each_question_of_a_message_is_answered_in_one_reply(kb):
    text = "Define KPO and list the kinds of work it does"
    answer = kb.respond(text, [Reading("Define KPO", (("definition", 0.8),)),
                               Reading("list the kinds of work it does", (("work", 0.7),))])
    assert answer.kind == ANSWERED
    assert "Knowledge Process Outsourcing" in answer.text and "equity research" in answer.text
    # A fact both questions share is said once.
    assert answer.text.count("knowledge-intensive work") == 1


def test_the_second_question_keeps_the_subject_of_the_first(kb):
    text = "what is bpo and what are its advantages"
    answer = kb.respond(text, [Reading("what is bpo", (("definition", 0.9),)),
                               Reading("what are its advantages", (("advantages", 0.9),))])
    assert "cost savings, scalability" in answer.text
    assert "competitive edge" not in answer.text  # KPO's advantages


def test_a_background_and_a_question_about_ones_future_get_career_advice(kb):
    text = ("Do we have any future in KPO sector,i have recently joined a healthcare company "
            "that deal with end to end process of healthcare.")
    answer = kb.respond(text, read(text, ("future", 0.3)))
    assert answer.aspect == "career" and "Medical services" in answer.text
    assert "specialised" in answer.text


def test_a_degree_and_the_scope_of_a_job_after_it_get_career_advice(kb):
    text = "What is the scope of r getting a job after M.Sc computer science?"
    answer = kb.respond(text, read(text, ("future", 0.5)))
    assert answer.aspect == "career" and "software companies" in answer.text


def test_a_confident_question_with_a_background_is_answered_as_asked(kb):
    text = "i am a bcom graduate, what are the risks of kpo for a company"
    answer = kb.respond(text, read(text, ("risks", 0.8)))
    assert answer.aspect == "risks" and "intellectual property" in answer.text


def test_outsourcing_in_general_is_a_subject_of_its_own(kb):
    text = "what is outsourcing? explain with examples"
    answer = kb.respond(text, read(text, ("definition", 0.7)))
    assert answer.aspect == "outsourcing" and "cost savings" in answer.text
    assert "customer support" in answer.text and "equity research" in answer.text


def test_a_reading_well_ahead_of_the_next_is_answered_with_the_runner_up_offered(kb):
    text = "will machines take over kpo work"
    answer = kb.respond(text, read(text, ("automation", 0.3), ("future", 0.1)))
    assert answer.kind == ANSWERED and "complements the expertise" in answer.text
    assert answer.followups[0].aspect == "future"


def test_close_readings_of_an_on_topic_message_answer_the_likeliest_under_a_doubt(kb):
    text = "industries pay automation kpo"
    answer = kb.respond(text, read(text, ("industries", 0.25), ("salary", 0.2)))
    assert answer.kind == SUGGESTIONS and answer.aspect == "industries"
    assert answer.text.startswith("My sources may not cover exactly what you asked "
                                  "(“industries pay automation kpo”). Here is what they say on "
                                  "“Which industries does KPO serve?”:")
    assert "legal services" in answer.text
    assert answer.followups[0].aspect == "salary" and len(answer.followups) >= 2


def test_an_on_topic_question_nlu_cannot_read_is_answered_from_the_search_under_a_doubt(kb):
    text = "will robots take bpo jobs"
    answer = kb.respond(text, read(text, (None, 0.3)))
    assert answer.kind == SUGGESTIONS and answer.aspect == "automation"
    assert answer.text.startswith("My sources may not cover exactly what you asked")
    assert "complements the expertise" in answer.text and len(answer.followups) >= 2


def test_a_long_message_whose_questions_ask_nothing_alone_gets_an_honest_reply(kb):
    text = ("My company told us our jobs are being outsourced and I must train my replacement. "
            "Is that even legit? Can they force me?")
    answer = kb.respond(text, [Reading("Is that even legit?", ((None, 0.3),)),
                               Reading("Can they force me?", ((None, 0.2),))])
    assert answer.kind in (NOT_COVERED, SUGGESTIONS)
    assert "don't cover" in answer.text or "may not cover" in answer.text


def test_what_the_background_of_a_long_message_names_is_reported_too(kb):
    text = ("I work remotely and my employer outsourced my job. Is this a trend? "
            "What is the future of outsourcing?")
    answer = kb.respond(text, [Reading("Is this a trend?", (("trends", 0.6),)),
                               Reading("What is the future of outsourcing?", (("future", 0.9),))])
    assert answer.text.startswith("My sources don't cover working from home")
    assert "blend of BPO and KPO" in answer.text


def test_pros_and_cons_are_both_answered(kb):
    text = "what are the advantages/disadvantages of outsourcing for a small company"
    answer = kb.respond(text, read(text, ("risks", 0.7)))
    assert "intellectual property" in answer.text and "cost savings" in answer.text


def test_why_work_goes_to_india_gives_where_it_goes_and_why_businesses_outsource(kb):
    text = "why do american firms send work to india"
    answer = kb.respond(text, read(text, ("location", 0.7)))
    assert "foreign countries" in answer.text and "cost savings" in answer.text


def test_an_answer_to_a_question_of_words_the_knowledge_never_uses_is_hedged(kb):
    text = "are bpos that bad"
    answer = kb.respond(text, read(text, ("definition", 0.6)))
    assert answer.text.startswith("My sources may not cover exactly what you asked (“are bpos "
                                  "that bad”)")
    assert "Business Process Outsourcing" in answer.text
    plain = kb.respond("what is bpo", read("what is bpo", ("definition", 0.9)))
    assert plain.text.startswith("BPO stands for")


def test_a_question_about_call_centres_is_about_bpo(kb):
    assert kb.subjects_in("how will ai change call centres") == ["bpo"]


def test_a_career_after_a_degree_is_a_career_question_without_an_i(kb):
    text = "Why BPO after engineering?"
    answer = kb.respond(text, read(text, ("deciding", 0.3)))
    assert answer.aspect == "career" and "software companies" in answer.text


def test_a_question_nlu_cannot_read_among_answered_ones_offers_its_readings(kb):
    text = "what is bpo and how much do night desks make"
    answer = kb.respond(text, [Reading("what is bpo", (("definition", 0.9),)),
                               Reading("how much do night desks make",
                                       (("salary", 0.25), ("work", 0.2)))])
    assert "Business Process Outsourcing" in answer.text
    assert ("may not cover exactly what you asked (“how much do night desks make”). Here is "
            "what they say on “How much does a BPO job pay?”") in answer.text
    assert answer.followups[0].aspect == "work"


def test_a_question_in_devanagari_is_not_taken_for_a_bare_name(kb):
    text = "कॉल सेंटर में नौकरी पाने के लिए कितनी पढ़ाई जरूरी है"  # how much study a call centre job needs
    answer = kb.respond(text, read(text, (None, 0.4), ("qualifications", 0.25)))
    assert answer.aspect == "qualifications" and "graduation" in answer.text
    assert answer.text.startswith("My sources may not cover exactly what you asked")


@pytest.mark.parametrize("text, kept, left_out", [
    ("should our company outsource to a kpo or a bpo", "For a business", "For a career"),
    ("kpo or bpo, which is the better career", "For a career", "For a business"),
])
def test_a_choice_asked_from_one_point_of_view_is_answered_from_that_one(kb, text, kept, left_out):
    answer = kb.respond(text, read(text, ("deciding", 0.9)))
    assert answer.text.startswith("It depends on your needs and goals")
    assert kept in answer.text and left_out not in answer.text


def test_a_choice_asked_from_no_point_of_view_is_answered_from_both(kb):
    answer = kb.respond("which is better kpo or bpo", read("which is better kpo or bpo",
                                                           ("deciding", 0.9)))
    assert "For a business" in answer.text and "For a career" in answer.text


@pytest.mark.parametrize("text, named", [
    ("whats the scope of lpo these days", "LPO"),
    ("is ites same as bpo", "ITES"),
    ("what does hr outsourcing involve", "HR outsourcing"),
])
def test_other_kinds_of_outsourcing_are_named_as_not_covered(kb, text, named):
    answer = kb.respond(text, read(text, (None, 0.5)))
    assert answer.kind == NOT_COVERED and answer.text.startswith(f"My sources don't cover {named}.")


def test_a_comparison_of_two_things_other_than_kpo_and_bpo_is_named_as_not_covered(kb):
    text = "what is the difference between onshore and offshore outsourcing?"
    answer = kb.respond(text, read(text, ("difference", 0.9)))
    assert answer.text.startswith("My sources don't cover a comparison of onshore and offshore "
                                  "outsourcing. Here is what they say on “How do KPO and BPO "
                                  "differ?”")


def test_devanagari_is_matched_however_its_nukta_letters_are_written(kb):
    # "why do people leave call centre jobs so soon", with ड़ precomposed and decomposed
    composed = "लोग कॉल सेंटर की नौकरी जल्दी क्यों छो\u095c देते हैं"
    for text in (composed, composed.replace("\u095c", "\u0921\u093c")):
        answer = kb.respond(text, read(text, (None, 0.5)))
        assert answer.text.startswith("My sources don't cover attrition"), text
