"""Fixes to Rasa 3.6.21's per-message work, measured with py-spy on the running server (README,
"Speed"). Each one keeps Rasa's behaviour and only drops work repeated on every message;
`apply` also bounds every custom action by ACTION_TIMEOUT (runtime/turn_failures.py), for every
channel, not only those that tell users why a turn failed.
"""
import json
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Set, Text, Tuple

import rasa.core.processor
from jsonschema import exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import UserMessage
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import Event

from runtime.graph_runner import SequentialGraphRunner
from runtime.turn_failures import guard_custom_actions

# What these replace was read in this version (runtime/__main__.py refuses others).
CHECKED_AGAINST = {"rasa": "3.6.21"}


def _checked_once_validation():
    """RemoteAction validates each action server response with `jsonschema.validate`, which
    first checks the (constant) response schema against JSON Schema's metaschema, then each
    event against every one of the 23 kinds of event Rasa knows (`oneOf`): together most of the
    Rasa process's time per message with a custom action. Here the schema is checked once, and
    each event is validated against its own kind alone: the kinds differ by their required
    `event` name, so an event can match no other. Every response gets the verdict it got
    before, and an invalid one the error the whole schema gives."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    whole = validator_class(schema)
    event_schema = schema["properties"]["events"]["items"]
    kinds = {kind["properties"]["event"]["const"]: validator_class({**event_schema,
                                                                   "oneOf": [kind]})
             for kind in event_schema["oneOf"]}
    if len(kinds) != len(event_schema["oneOf"]) or "event" not in event_schema["required"]:
        raise RuntimeError("Rasa's event kinds are no longer told apart by their names")

    def is_valid(result: Any) -> bool:
        events = result.get("events", []) if isinstance(result, dict) else None
        if not isinstance(events, list):
            return whole.is_valid(result)
        return whole.is_valid({**result, "events": []}) and all(
            isinstance(event, dict) and isinstance(event.get("event"), str)
            and event["event"] in kinds and kinds[event["event"]].is_valid(event)
            for event in events)

    def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
        if is_valid(result):
            return True
        error = exceptions.best_match(whole.iter_errors(result))
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


def _remembered_rule_matches(size: int = 4096):
    """RulePolicy matches every rule against the tracker's states for each prediction, twice a
    message (a quarter of the Rasa process's time). Which rules match depends only on the states
    within the longest rule (a rule of n states applies whatever came before its last n), and
    an FAQ's conversations come back to the same few: the rules found for those last states are
    remembered, the `size` most recently used. The same rules are found."""
    get_possible_keys = RulePolicy._get_possible_keys
    # (lookup's id, the last states) -> the rules that match them; an entry keeps its lookup
    # alive, so that id is never another lookup's.
    found: "OrderedDict[Tuple[int, Text], Tuple[Dict[Text, Text], Set[Text]]]" = OrderedDict()
    longest: Dict[int, Tuple[Dict[Text, Text], int]] = {}

    def remembered(self: RulePolicy, lookup: Dict[Text, Text],
                   states: List[State]) -> Set[Text]:
        if id(lookup) not in longest or longest[id(lookup)][0] is not lookup:
            longest[id(lookup)] = (lookup, max((len(self._rule_key_to_state(key))
                                                for key in lookup), default=0))
        length = longest[id(lookup)][1]
        recent = states[-length:] if length else []
        key = (id(lookup), json.dumps(recent, sort_keys=True))
        if key in found:
            found.move_to_end(key)
        else:
            found[key] = (lookup, get_possible_keys(self, lookup, recent))
            if len(found) > size:
                found.popitem(last=False)
        return set(found[key][1])

    remembered.__wrapped__ = get_possible_keys
    return remembered


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


def _domain_emptiness_checked_once():
    """Before each message the processor asks whether the domain is empty, which builds an empty
    Domain and compares the two as dicts (3% of the time per message). A domain is not changed
    once made (merging makes a new one), so each is asked once."""
    is_empty = Domain.is_empty

    def remembered(self: Domain) -> bool:
        if "_known_empty" not in self.__dict__:
            self.__dict__["_known_empty"] = is_empty(self)
        return self.__dict__["_known_empty"]

    remembered.__wrapped__ = is_empty
    return remembered


def _readable_text():
    """A message with a lone UTF-16 surrogate (half an emoji, such as "\\ud85a", which JSON can
    carry) makes spaCy fail and the turn with it: the half is replaced by U+FFFD, the Unicode
    replacement character, as every message (any channel, and `/model/parse`) is made."""
    make = UserMessage.__init__

    def __init__(self: UserMessage, text: Optional[Text] = None, *args: Any,
                 **kwargs: Any) -> None:
        if isinstance(text, str):
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        make(self, text, *args, **kwargs)

    return __init__


def apply() -> None:
    RemoteAction._validate_action_result = _checked_once_validation()
    Event.resolve_by_type = _remembered_event_types()
    RulePolicy._get_possible_keys = _remembered_rule_matches()
    UserMessage.__init__ = _readable_text()
    Domain.is_empty = _domain_emptiness_checked_once()
    # The runner MessageProcessor loads each model with (runtime/graph_runner.py).
    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner
    # Every channel's custom actions answer within ACTION_TIMEOUT, or with an apology.
    guard_custom_actions()
