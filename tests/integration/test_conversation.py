"""End to end: the action server and `rasa run` on free ports, spoken to through the REST channel."""
import uuid

import pytest


def reply_text(messages: list) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def buttons(messages: list) -> list:
    return [b for m in messages for b in m.get("buttons", [])]


def new_user() -> str:
    return uuid.uuid4().hex


def test_a_question_gets_a_grounded_answer_with_follow_ups(assistant):
    messages = assistant.send(new_user(), "what is kpo")
    text = reply_text(messages)
    assert "Knowledge Process Outsourcing" in text and "Source:" in text
    assert 2 <= len(buttons(messages)) <= 3


def test_a_follow_up_button_asks_its_question(assistant):
    user = new_user()
    first = buttons(assistant.send(user, "what are the risks of bpo"))[0]
    answer = reply_text(assistant.send(user, first["payload"]))
    assert "Source:" in answer and first["title"]


def test_the_greeting_s_buttons_carry_their_entities_and_log_no_error(assistant):
    user = new_user()
    greeting = buttons(assistant.send(user, "hi"))
    assert '/ask_definition{"process": "KPO"}' in [b["payload"] for b in greeting]
    answer = reply_text(assistant.send(user, '/ask_definition{"process": "KPO"}'))
    assert "Knowledge Process Outsourcing" in answer
    assert "interpolator" not in assistant.log("rasa").read_text()


@pytest.mark.parametrize("first, follow_up, expected, not_expected", [
    ("advantages of BPO?", "and for KPO?", "competitive edge", "Scalability"),
    ("what is KPO?", "what are its risks?", "intellectual property", "service provider"),
    ("how much does a BPO job pay?", "what qualification do I need for it?", "graduation",
     "language"),
    ("disadvantages of bpo", "what about kpo", "intellectual property", "service provider"),
    ("I work in a hospital, can I get a job in BPO?", "and what about kpo?",
     "any stream can work in KPO", "graduation"),
])
def test_context_carries_across_turns(assistant, first, follow_up, expected, not_expected):
    user = new_user()
    assistant.send(user, first)
    text = reply_text(assistant.send(user, follow_up))
    assert expected in text and not_expected not in text


def test_career_questions_in_plain_language(assistant):
    text = reply_text(assistant.send(
        new_user(), "I work at a healthcare company, is there a future for me in KPO?"))
    assert "Medical services" in text
    text = reply_text(assistant.send(new_user(), "what jobs can I get after an M.Sc in computer science?"))
    assert "software" in text and "testing" in text


@pytest.mark.parametrize("question", ["what's the weather in delhi today", "tell me a joke",
                                      "how do I open a savings account"])
def test_out_of_scope_is_declined_politely_without_facts(assistant, question):
    text = reply_text(assistant.send(new_user(), question))
    assert text.startswith("Sorry") and "KPO" in text and "Source:" not in text


@pytest.mark.parametrize("message", [
    "", "   ", "x" * 10_000, "🙂🙂🙂", "केपीओ क्या है", "¿Qué es KPO?",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)> what is bpo", "\x00\x07",
    "/ask_risks{\"process\": [\"not json", "/nonexistent_intent", "what is kpo \ud85a",
])
def test_bad_input_gets_a_sensible_reply_and_never_an_error(assistant, message):
    messages = assistant.send(new_user(), message)
    assert reply_text(messages).strip()
    assert "Knowledge Process Outsourcing" in reply_text(assistant.send(new_user(), "what is kpo"))


# Messages the trained NLU is unsure about (below FallbackClassifier's threshold, no reading far
# ahead) that still use the knowledge's words; training is deterministic, so they stay there
# unless the data changes.
UNSURE = ["salary industries risks kpo", "skills cost india bpo"]


@pytest.mark.parametrize("message", UNSURE)
def test_unsure_messages_get_the_likeliest_answer_under_a_doubt_and_buttons_that_answer(
        assistant, message):
    user = new_user()
    messages = assistant.send(user, message)
    assert reply_text(messages).startswith(f"My sources may not cover exactly what you asked "
                                           f"(“{message}”). Here is what they say on")
    assert "Source:" in reply_text(messages)
    options = buttons(messages)
    assert 2 <= len(options) <= 3
    assert "Source:" in reply_text(assistant.send(user, options[0]["payload"]))
