"""runtime/patches.py and runtime/graph_runner.py: Rasa behaves as before, only faster: action
server responses are still validated, events still deserialised to their classes, rules still
matched, the prediction graph still gives the same predictions."""
import json
import tarfile
from pathlib import Path

import jsonschema
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import UserMessage
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.processor import MessageProcessor
from rasa.engine import loader
from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from harness.launcher import MODEL
from runtime import patches
from runtime.graph_runner import SequentialGraphRunner


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


def test_a_domain_is_empty_as_rasa_says_it_is(action, both_runners):
    (metadata, _), _ = both_runners
    for domain in (Domain.empty(), Domain.from_dict({"intents": ["greet"]}), metadata.domain):
        for _ in range(2):  # found, then remembered
            assert domain.is_empty() == Domain.is_empty.__wrapped__(domain)
    assert Domain.empty().is_empty() and not metadata.domain.is_empty()


def test_half_an_emoji_is_replaced_and_whole_text_kept(action):
    assert UserMessage("what is kpo \ud85a").text == "what is kpo \ufffd"
    assert UserMessage("what is kpo 😀").text == "what is kpo 😀"
    assert UserMessage(None).text is None


@pytest.fixture(scope="module")
def both_runners(tmp_path_factory) -> tuple:
    """The trained model loaded by Rasa's runner and by runtime/graph_runner.py's."""
    return tuple(loader.load_predict_graph_runner(tmp_path_factory.mktemp("model"), Path(MODEL),
                                                  LocalModelStorage, runner)
                 for runner in (DaskGraphRunner, SequentialGraphRunner))


TEXTS = ["hi", "what is kpo", "wat is diffrence btw kpo n bpo", "which is the best one kpo or "
         "bpo?", "how much does a kpo job pay?", "hmm dunno", "I want to work in BPO", "bye",
         "asdf qwer", ""]


def test_the_sequential_runner_predicts_what_dask_s_runner_predicts(both_runners):
    (metadata, dask_s), (_, sequential) = both_runners
    for text in TEXTS:
        message = UserMessage(text)
        for _ in range(2):  # the order worked out, then remembered
            parsed = [runner.run(inputs={PLACEHOLDER_MESSAGE: [message]},
                                 targets=[metadata.nlu_target])[metadata.nlu_target][0]
                      for runner in (dask_s, sequential)]
            assert (parsed[0].as_dict(only_output_properties=True)
                    == parsed[1].as_dict(only_output_properties=True))
            parse_data = {key: parsed[0].get(key) for key in ("text", "intent", "entities",
                                                              "intent_ranking")}
            tracker = DialogueStateTracker.from_events(
                "runner", [ActionExecuted(ACTION_LISTEN_NAME),
                           UserUttered(text, parse_data["intent"], parse_data["entities"],
                                       parse_data)],
                slots=metadata.domain.slots)
            predicted = [runner.run(inputs={PLACEHOLDER_TRACKER: tracker},
                                    targets=[metadata.core_target])[metadata.core_target]
                         for runner in (dask_s, sequential)]
            assert predicted[0].policy_name == predicted[1].policy_name
            assert predicted[0].probabilities == predicted[1].probabilities
            assert max(predicted[1].probabilities) > 0, text  # a prediction, not an empty one


def test_the_sequential_runner_fails_as_dask_s_runner_fails(both_runners):
    (metadata, dask_s), (_, sequential) = both_runners
    failures = []
    for runner in (dask_s, sequential):
        with pytest.raises(Exception) as failure:
            runner.run(inputs={PLACEHOLDER_MESSAGE: [None]}, targets=[metadata.nlu_target])
        failures.append((type(failure.value), str(failure.value),
                         type(failure.value.__cause__)))
        with pytest.raises(Exception, match="clashes with a node name"):
            runner.run(inputs={PLACEHOLDER_MESSAGE: metadata.nlu_target},
                       targets=[metadata.nlu_target])
    assert failures[0] == failures[1]


def test_the_server_loads_its_model_into_the_sequential_runner(action):
    assert isinstance(MessageProcessor._load_model(str(MODEL))[2], SequentialGraphRunner)
