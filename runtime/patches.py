"""Every change runtime/ makes to Rasa's and Sanic's internals, in one list (PATCHES), each with
what it replaces, the package it was read in (runtime/guard.py: CHECKED_AGAINST) and its test.

Defined here, the fixes to Rasa's per-message work found with py-spy on the running server
(docs/speed.md): each keeps Rasa's behaviour and only drops work repeated on every message.
Elsewhere: the worker per core (runtime/workers.py), the guarded connections
(runtime/connections.py), the action timeout (runtime/turn_failures.py), the graph runner
(runtime/graph_runner.py), the HTTP API's token check (runtime/api_tokens.py), user text
escaped in the log (runtime/log_text.py), the health routes (runtime/health.py) and the metrics
(runtime/metrics.py).
"""
import json
import logging
import warnings
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Set, Text, Tuple

import rasa.core.processor
import rasa.core.run
import sanic.app
import sanic_jwt.authentication
from jsonschema import exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.processor import MessageProcessor
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import Event

from runtime import api_tokens, health, log_text, metrics, workers
from runtime.connections import GUARDED_CONNECTIONS
from runtime.graph_runner import SequentialGraphRunner
from runtime.guard import Patch, install
from runtime.turn_failures import answering_in_time


def _checked_once_validation(_validate: Callable) -> Callable:
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


def _remembered_rule_matches(get_possible_keys: Callable, size: int = 4096) -> Callable:
    """RulePolicy matches every rule against the tracker's states for each prediction, twice a
    message (a quarter of the Rasa process's time). Which rules match depends only on the states
    within the longest rule (a rule of n states applies whatever came before its last n), and
    an FAQ's conversations come back to the same few: the rules found for those last states are
    remembered, the `size` most recently used. The same rules are found."""
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


def _remembered_event_types(resolve: Callable) -> staticmethod:
    """Each event read from the tracker store finds its class by walking every subclass of
    Event (6% of the time per message); the class of a type name never changes once found."""
    known: Dict[Text, Any] = {}

    def resolve_by_type(type_name: Text, default: Any = None) -> Any:
        if type_name not in known:
            found = resolve(type_name, default)
            if found is None or found is default:
                return found
            known[type_name] = found
        return known[type_name]

    return staticmethod(resolve_by_type)


def _domain_emptiness_checked_once(is_empty: Callable) -> Callable:
    """Before each message the processor asks whether the domain is empty, which builds an empty
    Domain and compares the two as dicts (3% of the time per message). A domain is not changed
    once made (merging makes a new one), so each is asked once."""

    def remembered(self: Domain) -> bool:
        if "_known_empty" not in self.__dict__:
            self.__dict__["_known_empty"] = is_empty(self)
        return self.__dict__["_known_empty"]

    remembered.__wrapped__ = is_empty
    return remembered


def _readable_text(make: Callable) -> Callable:
    """A message with a lone UTF-16 surrogate (half an emoji, such as "\\ud85a", which JSON can
    carry) makes spaCy fail and the turn with it: the half is replaced by U+FFFD, the Unicode
    replacement character, as every message (any channel, and `/model/parse`) is made."""

    def __init__(self: UserMessage, text: Optional[Text] = None, *args: Any,
                 **kwargs: Any) -> None:
        if isinstance(text, str):
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        make(self, text, *args, **kwargs)

    return __init__


def _sequential_runner(_dask_runner: type) -> type:
    """The runner MessageProcessor loads each model with: the prediction graph's nodes in an
    order worked out once, without dask's scheduler."""
    return SequentialGraphRunner


def _worker_per_core(_serve_multiple: Callable) -> Callable:
    """Sanic's workers, each listening on a socket of its own (runtime/workers.py)."""
    return workers.serve_workers


RASA, SANIC, SANIC_JWT = "rasa", "sanic", "sanic-jwt"
UNIT, INTEGRATION = "tests/unit/test_runtime.py", "tests/integration"
PATCHES = (
    Patch(RemoteAction, "_validate_action_result", _checked_once_validation, RASA, UNIT),
    Patch(Event, "resolve_by_type", _remembered_event_types, RASA, UNIT),
    Patch(RulePolicy, "_get_possible_keys", _remembered_rule_matches, RASA, UNIT),
    Patch(UserMessage, "__init__", _readable_text, RASA, UNIT),
    Patch(Domain, "is_empty", _domain_emptiness_checked_once, RASA, UNIT),
    Patch(rasa.core.processor, "DaskGraphRunner", _sequential_runner, RASA, UNIT),
    Patch(RemoteAction, "run", answering_in_time, RASA, f"{INTEGRATION}/test_failures.py"),
    Patch(MessageProcessor, "_load_model", workers.loaded_before_fork, RASA,
          f"{INTEGRATION}/test_workers.py"),
    Patch(rasa.core.run, "serve_application", workers.loading_the_model_first, RASA,
          f"{INTEGRATION}/test_workers.py"),
    Patch(sanic.app, "serve_multiple", _worker_per_core, SANIC, f"{INTEGRATION}/test_workers.py"),
    GUARDED_CONNECTIONS,
    Patch(sanic_jwt.authentication.Authentication, "_decode", api_tokens.strictly_checked,
          SANIC_JWT, f"{INTEGRATION}/test_security.py"),
    Patch(logging.LogRecord, "getMessage", log_text.escaped_log_messages, RASA,
          f"{INTEGRATION}/test_security.py"),
    Patch(warnings, "formatwarning", log_text.escaped_warnings, RASA,
          f"{INTEGRATION}/test_security.py"),
    Patch(rasa.core.run, "configure_app", health.with_operations_routes, RASA,
          f"{INTEGRATION}/test_operations.py"),
    Patch(Agent, "handle_message", metrics.measured_turns, RASA,
          f"{INTEGRATION}/test_operations.py"),
)


def apply() -> None:
    """Every patch, and a worker per core."""
    install(PATCHES)
    workers.configure()
