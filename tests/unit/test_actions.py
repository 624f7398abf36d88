"""The custom actions, run on trackers built with Tracker.from_dict (as RasaHQ/financial-demo)."""
import json
from typing import Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ASPECT_OF_INTENT, KNOWLEDGE, ActionAnswerCareer, ActionAnswerFreeText, ActionAnswerQuestion


def tracker(intent: str, text: str, processes: List[str] = (),
            slots: Optional[Dict[str, str]] = None, events: List[dict] = ()) -> Tracker:
    return Tracker.from_dict({
        "sender_id": "test-user",
        "slots": {"subject": None, "aspect": None, **(slots or {})},
        "latest_message": {
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "entities": [{"entity": "process", "value": p} for p in processes],
        },
        "events": list(events),
        "latest_action_name": "action_listen",
    })


def run(action, tracker_: Tracker):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker_, {})
    assert len(dispatcher.messages) == 1
    return dispatcher.messages[0], events


def slots(events) -> Dict[str, Optional[str]]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def test_every_aspect_intent_names_a_known_aspect():
    assert set(ASPECT_OF_INTENT.values()) <= set(KNOWLEDGE.aspects)


def test_a_question_is_answered_with_its_source_and_follow_up_buttons():
    message, events = run(ActionAnswerQuestion(), tracker("ask_risks", "risks of kpo?", ["KPO"]))
    assert "intellectual property" in message["text"]
    assert "Source: “BPO vs KPO: Understanding the Key Differences”" in message["text"]
    assert 2 <= len(message["buttons"]) <= 3
    for button in message["buttons"]:
        intent, entities = button["payload"][1:].split("{", 1)
        assert intent.startswith("ask_")
        assert json.loads("{" + entities) == {"process": ["KPO"]}
    assert slots(events) == {"subject": "KPO", "aspect": "risks", "answer_kind": "answered"}


def test_a_question_without_a_subject_keeps_the_conversations_subject():
    message, _ = run(ActionAnswerQuestion(),
                     tracker("ask_risks", "what are its risks?", slots={"subject": "KPO"}))
    assert "intellectual property" in message["text"] and "service provider" not in message["text"]


def test_switching_subject_repeats_the_previous_question_for_the_other_one():
    message, events = run(ActionAnswerQuestion(), tracker(
        "switch_subject", "and for kpo?", ["KPO"], {"subject": "BPO", "aspect": "advantages"}))
    assert "advantages of KPO" in message["text"]
    assert slots(events) == {"subject": "KPO", "aspect": "advantages", "answer_kind": "answered"}


def test_entity_values_in_any_spelling_are_understood():
    message, _ = run(ActionAnswerQuestion(), tracker("ask_definition", "what is b.p.o", ["b.p.o"]))
    assert "Business Process Outsourcing" in message["text"]


def test_naming_both_subjects_compares_them():
    message, events = run(ActionAnswerQuestion(),
                          tracker("ask_risks", "risks of kpo and bpo", ["KPO", "BPO"]))
    assert "intellectual property" in message["text"] and "service provider" in message["text"]
    assert slots(events)["subject"] is None


def test_a_comparison_ignores_the_conversations_subject():
    message, _ = run(ActionAnswerQuestion(),
                     tracker("ask_difference", "how do they differ", slots={"subject": "KPO"}))
    assert "routine" in message["text"] and "expertise" in message["text"]


def test_a_question_the_sources_cannot_answer_says_so():
    message, _ = run(ActionAnswerQuestion(), tracker("ask_salary", "kpo salary", ["KPO"]))
    assert message["text"].startswith("My sources don't cover salary figures for KPO.")


def test_a_topic_the_sources_never_touch_gets_no_source_line_but_suggestions():
    message, _ = run(ActionAnswerQuestion(), tracker("ask_conditions", "bpo night shifts?", ["BPO"]))
    assert message["text"].startswith("My sources don't cover working hours")
    assert "Source:" not in message["text"] and len(message["buttons"]) == 3


def test_follow_up_context_carries_from_pay_to_qualification():
    _, events = run(ActionAnswerQuestion(), tracker("ask_salary", "bpo pay", ["BPO"]))
    message, _ = run(ActionAnswerQuestion(), tracker(
        "ask_qualification", "what qualification do I need for it?", slots=slots(events)))
    assert "graduation" in message["text"] and "any stream" in message["text"]


def test_career_advice_uses_what_the_user_says_about_themselves():
    message, events = run(ActionAnswerCareer(), tracker(
        "ask_career", "I work in healthcare, is there a future for me in KPO?", ["KPO"]))
    assert "Medical services" in message["text"]
    assert slots(events) == {"subject": "KPO", "aspect": "career", "answer_kind": "answered"}
    assert message["buttons"]


def test_switching_subject_after_career_advice_keeps_the_users_background():
    said = "I work in a hospital, can I get a job in BPO?"
    earlier = {"event": "user", "text": said, "parse_data": {"intent": {"name": "ask_career"}}}
    message, events = run(ActionAnswerQuestion(), tracker(
        "switch_subject", "and kpo?", ["KPO"], {"subject": "BPO", "aspect": "career"}, [earlier]))
    assert "Medical services" in message["text"] and "any stream can work in KPO" in message["text"]
    assert slots(events) == {"subject": "KPO", "aspect": "career", "answer_kind": "answered"}


@pytest.mark.parametrize("text, expected", [
    ("kpo salery plz", "My sources don't cover salary figures for KPO."),
    ("is my data safe when i outsource", "stringent security measures"),
])
def test_free_text_answers_when_the_search_is_confident(text, expected):
    message, _ = run(ActionAnswerFreeText(), tracker("nlu_fallback", text))
    assert expected in message["text"]


def test_free_text_answers_its_likeliest_reading_under_a_doubt_with_the_others_as_buttons():
    message, events = run(ActionAnswerFreeText(),
                          tracker("nlu_fallback", "will robots take bpo jobs"))
    assert message["text"].startswith("My sources may not cover exactly what you asked "
                                      "(“will robots take bpo jobs”)")
    assert "complements the expertise" in message["text"] and "Source: " in message["text"]
    assert 2 <= len(message["buttons"]) <= 3
    assert {"event": "slot", "timestamp": None, "name": "answer_kind",
            "value": "suggestions"} in events


def test_free_text_declines_what_is_off_topic_without_quoting_facts():
    message, _ = run(ActionAnswerFreeText(), tracker("nlu_fallback", "what time is it in London"))
    assert message["text"].startswith("Sorry, I didn't understand")
    assert "Source" not in message["text"]


def test_each_question_nlu_found_in_a_message_is_answered_in_one_message():
    t = tracker("ask_definition", "what is bpo and what are its risks")
    t.latest_message["questions"] = [
        {"text": "what is bpo", "intent_ranking": [{"name": "ask_definition", "confidence": 0.9}]},
        {"text": "what are its risks", "intent_ranking": [{"name": "ask_risks", "confidence": 0.8}]},
    ]
    message, events = run(ActionAnswerQuestion(), t)
    assert "Business Process Outsourcing" in message["text"]
    assert "dependency on the service provider" in message["text"]
    assert slots(events) == {"subject": "BPO", "aspect": "risks", "answer_kind": "answered"}


def test_a_message_nlu_finds_off_topic_but_about_outsourcing_is_not_declined():
    message, _ = run(ActionAnswerFreeText(),
                     tracker("out_of_scope", "do call centres make you sign a bond"))
    assert message["text"].startswith("My sources don't cover bonds")


def test_a_message_nlu_finds_off_topic_is_declined_with_rasas_response():
    dispatcher = CollectingDispatcher()
    ActionAnswerFreeText().run(dispatcher, tracker("out_of_scope", "write me a poem"), {})
    assert dispatcher.messages[0]["response"] == "utter_out_of_scope"


@pytest.mark.parametrize("intent, text, kind", [
    ("ask_risks", "risks of kpo", "answered"),
    ("out_of_scope", "is there an age limit for bpo jobs", "not_covered"),
    ("out_of_scope", "write me a poem", "declined"),
])
def test_the_kind_of_each_reply_is_kept_in_the_conversation(intent, text, kind):
    dispatcher = CollectingDispatcher()
    events = ActionAnswerFreeText().run(dispatcher, tracker(intent, text), {})
    assert slots(events)["answer_kind"] == kind
