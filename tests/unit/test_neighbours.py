"""pipeline/neighbours.py and its use by the intent classifier: a message in words the training
examples lack reaches its intent through the examples nearest in meaning."""
import numpy as np
import pytest
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from test_intent_classifier import EXAMPLES, positioned

from pipeline.intent_classifier import LinearIntentClassifier
from pipeline.neighbours import NearestExamples


def unit(*rows):
    rows = np.array(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_each_intent_scores_its_nearest_example():
    neighbours = NearestExamples(unit([1, 0], [0.6, 0.8], [0, 1]), np.array([0, 0, 1]), 2, 0.05)
    best = neighbours.similarities(unit([0.8, 0.6]))
    np.testing.assert_allclose(best, [[0.96, 0.6]], atol=1e-6)
    probabilities = neighbours.probabilities(best[0])
    assert probabilities.sum() == pytest.approx(1) and probabilities[0] > 0.99


def test_an_intent_without_examples_gets_no_weight():
    neighbours = NearestExamples(unit([1, 0]), np.array([0]), 2, 0.05)
    assert neighbours.probabilities(neighbours.similarities(unit([1, 0]))[0])[1] < 1e-9


def train(storage, name, **config):
    resource = Resource(name)
    classifier = LinearIntentClassifier.create(config, storage, resource, None)
    classifier.train(TrainingData([
        Message(data={**positioned(text).data, INTENT: intent})
        for intent, texts in EXAMPLES.items() for text in texts]))
    return LinearIntentClassifier.load(config, storage, resource, None)


def test_unsure_messages_are_read_by_their_nearest_examples(storage):
    # Words of no salary example: the linear model cannot tell; the encoder knows "earn" and
    # "wages" ask what "salary" asks.
    text = "what wages will i earn"
    plain = train(storage, "plain")
    [alone] = plain.process([positioned(text)])
    near = train(storage, "near", neighbours=True, neighbours_similarity=0.3)
    [helped] = near.process([positioned(text)])
    assert alone.get(INTENT_RANKING_KEY)[0]["confidence"] < 0.6
    salary = {r["name"]: r["confidence"] for r in helped.get(INTENT_RANKING_KEY)}["ask_salary"]
    assert helped.get(INTENT)["name"] == "ask_salary"
    assert salary > {r["name"]: r["confidence"]
                     for r in alone.get(INTENT_RANKING_KEY)}["ask_salary"]


def test_messages_the_linear_model_is_sure_of_are_not_encoded(storage, monkeypatch):
    near = train(storage, "sure", neighbours=True)
    monkeypatch.setattr(near._encoder, "encode", lambda texts: pytest.fail("encoded"))
    [parsed] = near.process([positioned("how much does a bpo job pay")])
    assert parsed.get(INTENT)["name"] == "ask_salary"


@pytest.fixture
def storage(tmp_path):
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    return LocalModelStorage(tmp_path)
