"""pipeline/intent_classifier.py: the arithmetic done per message is scikit-learn's, the model
saved is plain data, and the component gives Rasa an intent and a ranking."""
import numpy as np
import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT, TEXT_TOKENS
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import CountVectorizer

from pipeline.intent_classifier import QUESTIONS_KEY, LinearIntentClassifier, LinearIntentModel, features, fit

EXAMPLES = {
    "ask_definition": ["what is kpo", "what is bpo", "define kpo", "kpo meaning",
                       "what does bpo stand for", "full form of kpo"],
    "ask_salary": ["how much does a bpo job pay", "kpo salary", "what do bpo workers earn",
                   "pay in kpo", "salary of a fresher in bpo", "how much money in kpo"],
    "greet": ["hi", "hello there", "good morning", "hey", "hii bot", "namaste"],
}
TEXTS = [text.split() for texts in EXAMPLES.values() for text in texts]
INTENTS = [intent for intent, texts in EXAMPLES.items() for _ in texts]
UNSEEN = ["wat is kpo", "bpo salary in india", "hello", "how much do they pay", "zzz", ""]
SETTINGS = {"regularisation": 2.0, "folds": 5, "char_ngrams": (2, 5), "random_seed": 42}


def test_character_ngrams_are_scikit_learns_char_wb():
    words = ["kpo", "a", "outsourcing"]
    ours = sorted(f[2:] for f in features(words) if f.startswith("c "))
    theirs = CountVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()
    assert ours == sorted(theirs(" ".join(words)))
    assert [f for f in features(words) if f.startswith("w ")] == \
        ["w kpo", "w a", "w outsourcing", "w kpo a", "w a outsourcing"]


def test_probabilities_are_those_scikit_learn_computes():
    vectorizer, calibrated = fit(TEXTS, INTENTS, **SETTINGS)
    model = LinearIntentModel.from_fitted(vectorizer, calibrated, SETTINGS["char_ngrams"])
    assert model.intents == sorted(EXAMPLES)
    for text in UNSEEN + ["what is kpo"]:
        expected = calibrated.predict_proba(vectorizer.transform([text.split()]))[0]
        assert model.probabilities(text.split()) == pytest.approx(expected, abs=1e-9)


def test_a_trained_model_tells_the_intents_apart():
    model = LinearIntentModel.train(TEXTS, INTENTS, **SETTINGS)
    best = {text: model.intents[int(np.argmax(model.probabilities(text.split())))]
            for text in ("wat is kpo", "bpo salary in india", "hello")}
    assert best == {"wat is kpo": "ask_definition", "bpo salary in india": "ask_salary",
                    "hello": "greet"}


def test_a_saved_model_loads_as_data_with_the_same_answers(tmp_path):
    model = LinearIntentModel.train(TEXTS, INTENTS, **SETTINGS)
    model.save(tmp_path)
    with np.load(tmp_path / "weights.npz", allow_pickle=False) as arrays:
        assert all(arrays[name].dtype != object for name in arrays.files)
    loaded = LinearIntentModel.load(tmp_path)
    for text in UNSEEN:
        assert loaded.probabilities(text.split()) == pytest.approx(
            model.probabilities(text.split()), abs=0)


def message(text: str) -> Message:
    """A message as Rasa's tokenizer leaves it (lemmas as the words themselves here)."""
    tokens = [Token(word, 0, lemma=word) for word in text.split()] + [Token("?", 0)]
    return Message(data={TEXT: text, TEXT_TOKENS: tokens})


@pytest.fixture
def storage(tmp_path):
    return LocalModelStorage(tmp_path)


def test_the_component_trains_persists_and_loads_through_rasas_model_storage(storage):
    resource = Resource("intent_classifier")
    training = TrainingData([Message(data={**message(" ".join(words)).data, INTENT: intent})
                             for words, intent in zip(TEXTS, INTENTS)])
    trained = LinearIntentClassifier.create({"ranking_length": 2}, storage, resource, None)
    trained.train(training)
    loaded = LinearIntentClassifier.load({"ranking_length": 2}, storage, resource, None)
    [parsed] = loaded.process([message("how much is the salary")])
    assert parsed.get(INTENT)["name"] == "ask_salary"
    ranking = parsed.get(INTENT_RANKING_KEY)
    assert [r["name"] for r in ranking][0] == "ask_salary" and len(ranking) == 2
    assert ranking[0]["confidence"] > ranking[1]["confidence"]
    assert parsed.as_dict_nlu().get(INTENT) == parsed.get(INTENT)  # in Rasa's parse output


def test_an_untrained_component_leaves_messages_unclassified(storage):
    untrained = LinearIntentClassifier.load({}, storage, Resource("never_trained"), None)
    [parsed] = untrained.process([message("what is kpo")])
    assert parsed.get(INTENT) is None


def test_too_few_examples_to_calibrate_are_refused_with_a_reason(storage):
    classifier = LinearIntentClassifier.create({}, storage, Resource("few"), None)
    training = TrainingData([Message(data={**message("hi").data, INTENT: "greet"}),
                             Message(data={**message("hello").data, INTENT: "greet"}),
                             Message(data={**message("what is kpo").data, INTENT: "ask"})])
    with pytest.raises(ValueError, match="two examples or more"):
        classifier.train(training)


def positioned(text: str) -> Message:
    """A message with tokens at their real places in the text, as Rasa's tokenizers give them."""
    import re
    tokens = [Token(m.group(), m.start(), lemma=m.group().lower())
              for m in re.finditer(r"\w+|[^\w\s]", text)]
    return Message(data={TEXT: text, TEXT_TOKENS: tokens})


def test_each_question_of_a_message_is_read_on_its_own(storage):
    resource = Resource("intent_classifier_questions")
    training = TrainingData([Message(data={**message(" ".join(words)).data, INTENT: intent})
                             for words, intent in zip(TEXTS, INTENTS)])
    classifier = LinearIntentClassifier.create({}, storage, resource, None)
    classifier.train(training)
    [parsed] = classifier.process([positioned("what is kpo and how much does a bpo job pay")])
    questions = parsed.get(QUESTIONS_KEY)
    assert [q[TEXT] for q in questions] == ["what is kpo", "how much does a bpo job pay"]
    assert [q[INTENT_RANKING_KEY][0]["name"] for q in questions] == ["ask_definition",
                                                                     "ask_salary"]
    assert parsed.as_dict(only_output_properties=True)[QUESTIONS_KEY] == questions
    [single] = classifier.process([positioned("what is kpo")])
    assert single.get(QUESTIONS_KEY) is None


def test_a_long_message_is_never_read_as_small_talk(storage):
    config = {"short_intents": ["greet"], "long_message_words": 8}
    classifier = LinearIntentClassifier.create(config, storage, Resource("short"), None)
    classifier.train(TrainingData([Message(data={**message(" ".join(words)).data, INTENT: i})
                                   for words, i in zip(TEXTS, INTENTS)]))
    [short] = classifier.process([positioned("hello there")])
    [long] = classifier.process([positioned("hello there good morning hey hii namaste "
                                            "hello there kpo")])
    assert short.get(INTENT)["name"] == "greet"
    assert long.get(INTENT)["name"] != "greet"
    assert sum(r["confidence"] for r in long.get(INTENT_RANKING_KEY)) == pytest.approx(1)
