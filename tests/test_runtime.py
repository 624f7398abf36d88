"""runtime/patches.py: Rasa behaves as before, only faster: action server responses are still
validated, events still deserialised to their classes."""
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

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
