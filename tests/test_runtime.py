"""runtime/patches.py: Rasa behaves as before, only faster: action server responses are still
validated, events still deserialised to their classes, rules still matched."""
import json
import tarfile

import jsonschema
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import UserMessage
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

from conftest import MODEL
from runtime import patches


@pytest.fixture(scope="module")
def action() -> RemoteAction:
    patches.apply()
    return RemoteAction("action_answer_question", None)


def test_a_valid_response_passes(action):
    response = {"events": [{"event": "slot", "name": "subject", "value": "KPO"}],
                "responses": [{"text": "an answer", "buttons": []}]}
    assert action._validate_action_result(response)


@pytest.mark.parametrize("response", [
    {"events": "not a list"},
    {"events": [{"no": "event name"}]},
    {"responses": "not a list"},
])
def test_an_invalid_response_is_refused_with_rasa_s_message(action, response):
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result(response)


def test_events_resolve_to_their_classes_and_unknown_ones_are_refused(action):
    for _ in range(2):  # found, then remembered
        assert Event.resolve_by_type("user") is UserUttered
        assert Event.resolve_by_type("slot") is SlotSet
        assert Event.from_parameters({"event": "action", "name": "x"}) == ActionExecuted("x")
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")


SCHEMA = RemoteAction.action_response_format_spec()
RESPONSES = [  # every kind of event the actions send, and broken ones
    {"events": [{"event": "slot", "name": "subject", "value": "KPO", "timestamp": None},
                {"event": "active_loop", "name": "advisor_form"},
                {"event": "followup", "name": "action_listen"},
                {"event": "reset_slots"},
                {"event": "bot", "text": "hi", "data": {"buttons": []}},
                {"event": "user", "text": "what is kpo", "parse_data": {
                    "intent": {"name": "ask_definition", "confidence": 0.9}, "entities": []}}],
     "responses": [{"text": "an answer", "buttons": [{"title": "t", "payload": "/x"}]}]},
    {"events": [], "responses": []},
    {},
    {"events": [{"event": "slot", "name": 5}]},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": 5}]},
    {"events": [{"event": ["slot"]}]},
    {"events": ["slot"]},
    {"events": [{"event": "user", "parse_data": {"entities": [{"start": "zero"}]}}]},
    {"events": [{"event": "slot", "name": "subject"}], "responses": [{"text": 5}]},
    {"events": {"event": "slot"}},
    [],
]


@pytest.mark.parametrize("response", RESPONSES)
def test_responses_get_the_verdict_jsonschema_gives_them(action, response):
    refused = False
    try:
        jsonschema.validate(response, SCHEMA)
    except ValidationError:
        refused = True
    if refused:
        with pytest.raises(ValidationError, match="Failed to validate Action server response"):
            action._validate_action_result(response)
    else:
        assert action._validate_action_result(response)


def test_rule_matches_are_those_rasa_finds(action, tmp_path):
    """Against the trained model's rules: every rule's states after other rules' states."""
    with tarfile.open(MODEL) as model:
        model.extractall(tmp_path)
    lookups = json.loads((tmp_path / "components" / "train_RulePolicy0" / "rule_policy.json")
                         .read_text())["lookup"]
    policy = RulePolicy.__new__(RulePolicy)
    rasa_s = RulePolicy._get_possible_keys.__wrapped__
    for lookup in (lookups["rules"], lookups["rules_for_loop_unhappy_path"]):
        keys = list(lookup)
        for number, key in enumerate(keys):
            before = json.loads(keys[(number * 7) % len(keys)])
            for states in (json.loads(key), before + json.loads(key), before[:1]):
                for _ in range(2):  # found, then remembered
                    assert (policy._get_possible_keys(lookup, states)
                            == rasa_s(policy, lookup, states))


def test_half_an_emoji_is_replaced_and_whole_text_kept(action):
    assert UserMessage("what is kpo \ud85a").text == "what is kpo \ufffd"
    assert UserMessage("what is kpo 😀").text == "what is kpo 😀"
    assert UserMessage(None).text is None
