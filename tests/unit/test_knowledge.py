"""The facts module on its own: the knowledge is faithful and complete, and every kind of
question gets a grounded answer or an honest "my sources don't cover that"."""
import re

import pytest
import yaml

from actions.knowledge.facts import KNOWLEDGE_DIR, SUBJECTS, KnowledgeBase

DATA = yaml.safe_load((KNOWLEDGE_DIR / "facts.yml").read_text(encoding="utf-8"))
ARTICLES = {
    key: (KNOWLEDGE_DIR / "sources" / article["file"]).read_text(encoding="utf-8")
    for key, article in DATA["articles"].items()
}


def normalise(text: str) -> str:
    return " ".join(text.replace("•", " ").split())


def source_sentences(text: str):
    """The statements of an article: its sentences and bullets, headings aside."""
    for line in text.splitlines():
        line = line.strip()
        bullet = line.startswith("•")
        line = re.sub(r"^(•|\d+\.|a\.)\s*", "", line)
        if not line or (not bullet and not re.search(r"[.!?]", line) and len(line.split()) < 8):
            continue  # a heading
        yield from (s for s in re.split(r"(?<=[.!?])\s+", line) if s)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


# --- the knowledge is faithful to the sources, and complete ------------------------------------

def test_every_passage_is_quoted_verbatim_from_its_article():
    for fact in DATA["facts"]:
        for source in fact["sources"]:
            assert normalise(source["passage"]) in normalise(ARTICLES[source["article"]]), fact["id"]


def test_every_sentence_of_the_sources_is_a_fact_or_set_aside_with_a_reason():
    quoted = {key: [] for key in ARTICLES}
    for fact in DATA["facts"]:
        for source in fact["sources"]:
            quoted[source["article"]].append(normalise(source["passage"]))
    set_aside = {(n["article"], normalise(n["text"])) for n in DATA["not_facts"]}
    assert all(n["why"] for n in DATA["not_facts"])
    for article, text in ARTICLES.items():
        for sentence in source_sentences(text):
            sentence = normalise(sentence)
            assert (article, sentence) in set_aside or any(
                sentence in passage for passage in quoted[article]
            ), f"{article}: {sentence!r} is in no fact"


def test_the_project_ships_the_same_articles_as_the_shared_sources():
    shared = KNOWLEDGE_DIR.parents[2] / "shared" / "sources"  # beside the project
    if not shared.is_dir():
        pytest.skip("no shared/ beside the project")
    for article in DATA["articles"].values():
        assert (shared / article["file"]).read_text() == (
            KNOWLEDGE_DIR / "sources" / article["file"]).read_text()


def test_facts_are_well_formed(kb):
    ids = [fact.id for fact in kb.facts]
    assert len(ids) == len(set(ids))
    for fact in kb.facts:
        assert fact.subject in SUBJECTS + ("both", "outsourcing")
        assert fact.aspects and set(fact.aspects) <= set(kb.aspects), fact.id
        assert fact.sources and fact.answer.endswith((".", "\"."))
    for spec in kb.aspects.values():
        assert set(spec["related"]) <= set(kb.aspects)


def test_every_fact_is_reachable_by_some_question(kb):
    reached = {
        fact.id
        for aspect in kb.aspects
        for subject in SUBJECTS + (None,)
        for fact in kb.answer(aspect, subject).facts
    }
    assert reached == {fact.id for fact in kb.facts}


def test_career_facts_and_backgrounds_name_real_facts(kb):
    ids = {fact.id for fact in kb.facts}
    for fact_ids in kb.career_facts.values():
        assert set(fact_ids) <= ids
    for background in kb.backgrounds:
        assert set(background.fact_ids) <= ids and set(background.fits) <= set(SUBJECTS)


# --- structured questions ---------------------------------------------------------------------

@pytest.mark.parametrize("aspect", sorted(DATA["aspects"]))
@pytest.mark.parametrize("subject", SUBJECTS + (None,))
def test_every_aspect_and_subject_gets_an_answer_that_names_its_sources(kb, aspect, subject):
    answer = kb.answer(aspect, subject)
    if not kb.facts_about(aspect):
        assert answer.text.startswith("My sources don't cover") and not answer.complete
    else:
        assert answer.text and answer.facts and answer.source_titles
    assert set(answer.source_titles) <= {a["title"] for a in DATA["articles"].values()}
    assert all(f.aspect in kb.aspects for f in answer.followups)
    assert len(answer.followups) == 3
    assert aspect not in {f.aspect for f in answer.followups}
    assert "For a " not in answer.text or aspect == "deciding"


def test_definitions(kb):
    kpo = kb.answer("definition", "kpo").text
    assert "Knowledge Process Outsourcing" in kpo and "expertise" in kpo
    bpo = kb.answer("definition", "bpo").text
    assert "Business Process Outsourcing" in bpo and "data entry" in bpo


def test_an_answer_about_one_subject_leaves_out_facts_about_the_other(kb):
    risks = kb.answer("risks", "kpo")
    assert "intellectual property" in risks.text
    assert "service provider" not in risks.text
    assert all(f.subject != "bpo" for f in risks.facts)


def test_a_comparison_covers_both_subjects(kb):
    for aspect in ("risks", "advantages", "definition", "difference", "qualifications"):
        subjects = {f.subject for f in kb.answer(aspect).facts}
        assert {"kpo", "bpo"} <= subjects or "both" in subjects, aspect
    difference = kb.answer("difference").text.lower()
    assert "routine" in difference and "expertise" in difference


@pytest.mark.parametrize("subject", ["kpo", "bpo", None])
def test_the_history_is_told_whole_whichever_subject_is_named(kb, subject):
    # KPO's story starts with BPO's repetitive tasks; BPO's ends with KPO's birth.
    told = {fact.id for fact in kb.answer("evolution", subject).facts}
    assert {"bpo_came_first", "kpo_born_from_demand"} <= told


def test_which_is_better_depends_on_who_asks_a_business_or_a_job_seeker(kb):
    text = kb.answer("deciding").text
    assert text.startswith("It depends")
    assert "For a business:" in text and "budget" in text
    assert "For a career:" in text and "any stream" in text


def test_where_the_sources_are_silent_the_answer_says_so_and_offers_the_nearest_fact(kb):
    pay = kb.answer("salary", "kpo")
    assert not pay.complete
    assert pay.text.startswith("My sources don't cover salary figures for KPO.")
    assert "Rs. 10000" in pay.text and "BPO" in pay.text
    companies = kb.answer("companies", "kpo")
    assert not companies.complete and "IBM" in companies.text
    assert "My sources don't cover" in companies.text
    assert kb.answer("salary", "bpo").complete


def test_a_comparison_names_the_side_the_sources_are_silent_on(kb):
    pay = kb.answer("salary")
    assert "Rs. 10000" in pay.text and "My sources don't cover salary figures for KPO." in pay.text
    assert not pay.complete
    assert kb.answer("risks").complete


def test_a_question_the_sources_never_touch_is_answered_honestly_with_what_they_cover(kb):
    shifts = kb.answer("conditions", "bpo")
    assert shifts.text.startswith("My sources don't cover working hours, shifts or working "
                                  "conditions for BPO.")
    assert not shifts.facts and not shifts.complete and len(shifts.followups) == 3
    assert kb.search("do bpo people work night shifts").confidence > 0  # on topic: suggest


def test_no_answer_states_a_figure_the_sources_do_not_give(kb):
    figures_in_sources = set(re.findall(r"\d[\d,]*", " ".join(ARTICLES.values())))
    allowed = {normalise(f).replace(",", "") for f in figures_in_sources}
    for aspect in kb.aspects:
        for subject in SUBJECTS + (None,):
            for figure in re.findall(r"\d[\d,]*\d|\d", kb.answer(aspect, subject).text):
                assert figure.replace(",", "") in allowed, (aspect, subject, figure)


def test_followups_only_offer_what_the_sources_answer_for_that_subject(kb):
    for aspect in kb.aspects:
        for followup in kb.answer(aspect, "kpo").followups:
            assert kb.answer(followup.aspect, "kpo").complete, (aspect, followup)


def test_subject_names_are_recognised_in_any_spelling(kb):
    assert kb.subjects_in("Is B.P.O better than kpo's?") == ["bpo", "kpo"]
    assert kb.subjects_in("knowlege process outsourcing jobs") == ["kpo"]
    assert kb.subject_named("Business Process Outsourcing") == "bpo"
    assert kb.subjects_in("outsourcing in general") == []
    assert kb.subjects_in("a kpop fan") == []


# --- careers ----------------------------------------------------------------------------------

def test_career_advice_connects_a_healthcare_background_to_kpo(kb):
    advice = kb.career_advice("I work at a healthcare company, is there a future for me in KPO?",
                              "kpo")
    text = advice.text.lower()
    assert "medical services" in text and "specialised" in text
    assert not advice.complete and "don't cover salary figures for kpo" in text


def test_career_advice_for_computer_science_names_it_work_in_both_paths(kb):
    text = kb.career_advice("what jobs can I get after an M.Sc in computer science?").text
    assert "software companies" in text and "testing" in text and "IBM" in text
    assert text.count("Rs. 10000") == 1


def test_career_advice_for_a_fresher_gives_bpo_eligibility_and_pay(kb):
    advice = kb.career_advice("I'm a fresher with a BA, can I get a BPO job?", "bpo")
    assert "graduation" in advice.text and "any stream" in advice.text
    assert "Rs. 10000" in advice.text and advice.complete


def test_career_advice_without_a_background_covers_both_paths(kb):
    advice = kb.career_advice("which job should I take")
    assert {"kpo", "bpo"} <= {f.subject for f in advice.facts}


# --- free text --------------------------------------------------------------------------------

@pytest.mark.parametrize("question, aspect", [
    ("which is better, KPO or BPO?", "deciding"),
    ("is my data safe if I outsource", "data_security"),
    ("kpo salery", "salary"),
    ("diffrence betwen kpo n bpo", "difference"),
    ("will robots and ai take over bpo", "automation"),
    ("bpo me kitni salary milti hai", "salary"),
])
def test_free_text_finds_the_aspect_asked_about(kb, question, aspect):
    result = kb.search(question)
    assert result.candidates[0].aspect == aspect
    assert result.confidence >= 0.6


@pytest.mark.parametrize("question", [
    "what time is it in London", "write me a poem", "how do I open a savings account",
    "tell me a joke", "", "🙂🙂",
])
def test_free_text_has_no_confidence_in_questions_off_its_topic(kb, question):
    assert kb.search(question).confidence == 0.0


def test_free_text_search_keeps_the_subject_named(kb):
    best = kb.search("what are the risks of knowledge process outsourcing").candidates[0]
    assert (best.aspect, best.subject) == ("risks", "kpo")
    assert kb.search("kpo?").candidates[0].aspect == "definition"


def test_free_text_naming_only_a_subject_offers_its_basic_questions(kb):
    result = kb.search("what is a kpo analyst")
    assert 0 < result.confidence < 1
    assert [c.aspect for c in result.candidates] == ["definition", "work", "qualifications"]
