"""The trained model: training data is valid, NLU meets its accuracy bar on the independent test
set, and every test story is predicted without error."""
import json
import subprocess

import pytest

from harness.launcher import MODEL, PROJECT, RASA

NLU_ACCURACY_BAR = 0.95


def rasa(*args: str, cwd=PROJECT) -> subprocess.CompletedProcess:
    return subprocess.run([str(RASA), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900)


def test_training_data_validates_without_warnings():
    result = rasa("data", "validate", "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def nlu_report(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("nlu")
    result = rasa("test", "nlu", "--model", str(MODEL), "--nlu", "tests/nlu/test_nlu.yml",
                  "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "intent_report.json").read_text())


def test_nlu_test_set_is_large_and_independent_of_the_training_data():
    import yaml

    def examples(path):
        data = yaml.safe_load(path.read_text())
        return {line[2:].strip() for item in data.get("nlu", []) if "intent" in item
                for line in item["examples"].splitlines() if line.strip()}

    tested = examples(PROJECT / "tests/nlu/test_nlu.yml")
    trained = set().union(*(examples(p) for p in (PROJECT / "data/nlu").glob("*.yml")))
    assert len(tested) >= 150
    assert not tested & trained


def test_nlu_intent_accuracy_meets_the_bar(nlu_report):
    mistakes = {intent: round(scores["f1-score"], 2) for intent, scores in nlu_report.items()
                if isinstance(scores, dict) and scores.get("f1-score", 1) < 0.9}
    print(f"intent accuracy {nlu_report['accuracy']:.3f}; weakest intents {mistakes}")
    assert nlu_report["accuracy"] >= NLU_ACCURACY_BAR, mistakes


def test_every_test_story_is_predicted_without_error(tmp_path):
    result = rasa("test", "core", "--model", str(MODEL), "--stories", "tests/test_stories.yml",
                  "--fail-on-prediction-errors", "--out", str(tmp_path))
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else result.stdout[-3000:]
    assert result.returncode == 0, details
