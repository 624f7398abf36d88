"""Fixes to Rasa 3.6.21's per-message work, measured with py-spy on the running server (README,
"Speed"). Each one keeps Rasa's behaviour and only drops work repeated on every message;
`apply` also bounds every custom action by ACTION_TIMEOUT (channels/failures.py), for every
channel, not only those that tell users why a turn failed.
"""
from typing import Any, Dict, Text

from jsonschema import exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event

from channels.failures import guard_custom_actions


def _checked_once_validation():
    """RemoteAction validates each action server response with `jsonschema.validate`, which
    first checks the (constant) response schema against JSON Schema's metaschema: half of the
    Rasa process's time per message with a custom action. Here the schema is checked once and
    its validator reused; responses are validated exactly as before, with the same errors."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
        error = exceptions.best_match(validator.iter_errors(result))
        if error is not None:
            error.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True

    return validate_action_result


def _remembered_event_types():
    """Each event read from the tracker store finds its class by walking every subclass of
    Event (6% of the time per message); the class of a type name never changes once found."""
    resolve = Event.resolve_by_type
    known: Dict[Text, Any] = {}

    def resolve_by_type(type_name: Text, default: Any = None) -> Any:
        if type_name not in known:
            found = resolve(type_name, default)
            if found is None or found is default:
                return found
            known[type_name] = found
        return known[type_name]

    return staticmethod(resolve_by_type)


def apply() -> None:
    RemoteAction._validate_action_result = _checked_once_validation()
    Event.resolve_by_type = _remembered_event_types()
    # Every channel's custom actions answer within ACTION_TIMEOUT, or with an apology.
    guard_custom_actions()
