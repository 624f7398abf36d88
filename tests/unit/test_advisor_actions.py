"""The advisor's actions on trackers built with Tracker.from_dict (as tests/unit/test_actions.py)."""
from typing import Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.advisor_form import ADVISOR, FORM, ActionAdvisorRecommend, ActionAdvisorStart, ValidateAdvisorForm
from actions.knowledge.advisor import PATH_QUESTION


def tracker(text: str, intent: str, asked: Optional[str], answers: Dict[str, str] = None,
            latest_action: str = "action_listen") -> Tracker:
    slots = {question: None for question in ADVISOR.questions}
    # Rasa has already put the raw text in the requested slot (its `from_text` mapping).
    slots.update({**(answers or {}), "requested_slot": asked})
    if asked and latest_action == "action_listen":
        slots[asked] = text
    # Rasa validates on a copy of the tracker ending with the form's own action.
    events = [{"event": "action", "name": latest_action}, {"event": "action", "name": FORM}]
    return Tracker.from_dict({
        "sender_id": "test-user",
        "slots": slots,
        "latest_message": {"text": text, "intent": {"name": intent, "confidence": 0.9},
                           "entities": []},
        "events": events,
        "latest_action_name": FORM,
        "active_loop": {"name": "advisor_form"},
    })


def validate(tracker_: Tracker):
    dispatcher = CollectingDispatcher()
    events = ValidateAdvisorForm().run(dispatcher, tracker_, {})
    return [m["text"] for m in dispatcher.messages], events


def slots(events: List[dict]) -> Dict[str, Optional[str]]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def rejected(events: List[dict]) -> bool:
    return any(e["event"] == "action_execution_rejected" for e in events)


def test_starting_forgets_an_earlier_run():
    events = ActionAdvisorStart().run(CollectingDispatcher(), tracker("help me decide",
                                      "start_advisor", None, {PATH_QUESTION: "career"}), {})
    assert set(slots(events)) == set(ADVISOR.questions) | {"requested_slot"}
    assert not any(slots(events).values())


def test_on_activation_the_first_question_is_the_path():
    messages, events = validate(tracker("help me decide", "start_advisor", None,
                                        latest_action="action_advisor_start"))
    assert messages == [] and slots(events) == {"requested_slot": PATH_QUESTION}


def test_an_answer_is_read_and_the_paths_next_question_is_asked():
    messages, events = validate(tracker("its for my company", "nlu_fallback", PATH_QUESTION))
    assert messages == []
    assert slots(events) == {PATH_QUESTION: "business", "requested_slot": "business_work"}


def test_an_answer_with_an_faq_intent_is_still_an_answer():
    answers = {PATH_QUESTION: "business", "business_work": "routine", "business_priority": "cost"}
    _, events = validate(tracker("data security", "ask_data_security", "business_concern", answers))
    assert not rejected(events)
    assert slots(events) == {"business_concern": "data_security", "requested_slot": None}


def test_an_unreadable_answer_is_re_asked_with_a_hint():
    messages, events = validate(tracker("hmm maybe", "nlu_fallback", "career_interest",
                                        {PATH_QUESTION: "career", "career_education": "law"}))
    assert messages == ["Sorry, I didn't catch that. Pick a button or type your answer, "
                        + ADVISOR.hint("career_interest")]
    assert slots(events) == {"career_interest": None, "requested_slot": "career_interest"}
    assert not rejected(events)


def test_an_off_topic_statement_is_an_unreadable_answer_but_an_off_topic_question_is_not():
    answers = {PATH_QUESTION: "career", "career_education": "law"}
    messages, events = validate(tracker("hmm dunno", "out_of_scope", "career_interest", answers))
    assert messages == ["Sorry, I didn't catch that. Pick a button or type your answer, "
                        + ADVISOR.hint("career_interest")]
    assert not rejected(events)
    _, events = validate(tracker("what's the weather like?", "out_of_scope", "career_interest",
                                 answers))
    assert rejected(events)


def test_a_question_in_the_middle_rejects_the_form_so_a_rule_answers_it():
    _, events = validate(tracker("what is kpo?", "ask_definition", "business_work",
                                 {PATH_QUESTION: "business"}))
    assert rejected(events)
    assert slots(events) == {"business_work": None}  # not the question's text


def test_a_question_using_an_answers_words_is_still_a_question():
    _, events = validate(tracker("is data security a concern in outsourcing?", "ask_data_security",
                                 "business_concern", {PATH_QUESTION: "business"}))
    assert rejected(events)


def test_stop_rejects_the_form_so_the_stop_rule_ends_it():
    _, events = validate(tracker("stop", "stop", "career_interest", {PATH_QUESTION: "career"}))
    assert rejected(events)


def test_asking_for_the_advisor_again_rejects_the_form_so_a_rule_restarts_it():
    _, events = validate(tracker("start again", "start_advisor", "career_interest",
                                 {PATH_QUESTION: "career"}))
    assert rejected(events)


def test_a_change_to_an_earlier_answer_is_made_and_acknowledged():
    answers = {PATH_QUESTION: "career", "career_education": "any_graduate"}
    messages, events = validate(tracker("actually I studied law", "ask_career",
                                        "career_interest", answers))
    assert not rejected(events)
    assert slots(events) == {"career_interest": None, "career_education": "law",
                             "requested_slot": "career_interest"}
    assert messages == [ADVISOR.acknowledge("career_education", "law")]


def test_changing_the_path_asks_the_other_paths_questions():
    answers = {PATH_QUESTION: "career", "career_education": "law"}
    _, events = validate(tracker("actually it's for my business", "ask_which_better",
                                 "career_interest", answers))
    assert slots(events)[PATH_QUESTION] == "business"
    assert slots(events)["requested_slot"] == "business_work"


def test_an_answer_that_is_not_a_choice_is_asked_again():
    # e.g. a slot Rasa filled with raw text that no validation read
    messages, events = validate(tracker("", "nlu_fallback", None, {PATH_QUESTION: "For a business"},
                                        latest_action="action_advisor_start"))
    assert slots(events) == {"requested_slot": PATH_QUESTION}


def test_resuming_after_an_interruption_asks_the_same_question_again():
    messages, events = validate(tracker("what is kpo?", "ask_definition", "business_work",
                                        {PATH_QUESTION: "business"},
                                        latest_action="action_answer_question"))
    assert messages == [] and slots(events) == {"requested_slot": "business_work"}


def test_the_recommendation_names_its_sources_and_offers_follow_ups_and_a_restart():
    answers = {PATH_QUESTION: "career", "career_education": "law",
               "career_interest": "research", "career_languages": "strong"}
    dispatcher = CollectingDispatcher()
    events = ActionAdvisorRecommend().run(dispatcher, tracker("strong", "affirm", None, answers), {})
    [message] = dispatcher.messages
    assert message["text"].startswith("For your career, KPO looks like the better fit.")
    assert "My sources don't cover salary figures for KPO." in message["text"]
    assert "\n\nSource: “Difference between KPO and BPO”" in message["text"]
    payloads = [b["payload"] for b in message["buttons"]]
    assert payloads[-1] == "/start_advisor" and payloads[0].startswith("/ask_qualification")
    assert slots(events) == {"subject": "KPO", "aspect": "deciding", "answer_kind": "answered"}


def test_each_question_is_asked_with_its_buttons():
    from actions.advisor_form import ASK_ACTIONS
    names = {action().name(): action for action in ASK_ACTIONS}
    assert set(names) == {f"action_ask_{question}" for question in ADVISOR.questions}
    dispatcher = CollectingDispatcher()
    names["action_ask_business_concern"]().run(dispatcher, tracker("", "start_advisor", None), {})
    [message] = dispatcher.messages
    assert message["text"] == ADVISOR.questions["business_concern"].ask
    assert [b["title"] for b in message["buttons"]] == [
        "Dependency", "Quality", "Data security", "Intellectual property"]
