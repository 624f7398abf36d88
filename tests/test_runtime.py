"""runtime/patches.py: action server responses are still validated, only faster."""
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

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
