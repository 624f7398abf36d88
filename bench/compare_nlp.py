"""What spaCy buys, measured on the independent NLU test set (tests/nlu/test_nlu.yml).

1. NLU: config.yml as is (SpacyNLP + SpacyTokenizer on build/spacy-en: spaCy's tokens and lookup
   lemmas) against the same pipeline with Rasa's WhitespaceTokenizer: intent accuracy, training
   time.
2. Free-text search in the facts module: top-1 aspect of the test messages whose intent asks
   about one aspect, with spaCy's lookup lemmas against plain lowercase words.

Run with `make compare-nlp` (after `make install`); prints a table.
"""
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from actions.actions import ASPECT_OF_INTENT  # noqa: E402
from actions.knowledge.facts import KNOWLEDGE_DIR, KnowledgeBase  # noqa: E402
from actions.knowledge.language import Lemmatizer, load_lemma_table  # noqa: E402

RASA = Path(sys.executable).parent / "rasa"
TEST_SET = PROJECT / "tests" / "nlu" / "test_nlu.yml"


def test_messages():
    import re

    data = yaml.safe_load(TEST_SET.read_text())
    for item in data["nlu"]:
        for line in item["examples"].splitlines():
            if line.strip():
                text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line.strip()[2:])
                yield item["intent"], text


def nlu_accuracy(pipeline_config: dict, workdir: Path) -> tuple:
    config = workdir / "config.yml"
    config.write_text(yaml.safe_dump(pipeline_config, sort_keys=False))
    started = time.monotonic()
    subprocess.run([str(RASA), "train", "--config", str(config), "--out", str(workdir),
                    "--fixed-model-name", "nlu"],
                   cwd=PROJECT, check=True, capture_output=True)
    trained = time.monotonic() - started
    subprocess.run([str(RASA), "test", "nlu", "--model", str(workdir / "nlu.tar.gz"), "--nlu",
                    str(TEST_SET), "--out", str(workdir / "results")],
                   cwd=PROJECT, check=True, capture_output=True)
    report = json.loads((workdir / "results" / "intent_report.json").read_text())
    return report["accuracy"], trained


def whitespace_variant(config: dict) -> dict:
    variant = dict(config)
    variant["pipeline"] = [
        {"name": "WhitespaceTokenizer"} if step["name"] == "SpacyTokenizer" else step
        for step in config["pipeline"] if step["name"] != "SpacyNLP"
    ]
    return variant


def search_accuracy(kb: KnowledgeBase) -> float:
    cases = [(ASPECT_OF_INTENT[i], t) for i, t in test_messages() if i in ASPECT_OF_INTENT]
    hits = 0
    for aspect, text in cases:
        candidates = kb.search(text).candidates
        hits += bool(candidates) and candidates[0].aspect == aspect
    return hits / len(cases)


def main() -> None:
    config = yaml.safe_load((PROJECT / "config.yml").read_text())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, variant in (("spaCy tokens + lemmas (config.yml)", config),
                              ("whitespace tokens", whitespace_variant(config))):
            workdir = Path(tmp) / name.split()[0]
            workdir.mkdir()
            accuracy, seconds = nlu_accuracy(variant, workdir)
            rows.append((f"NLU intents, {name}", f"{accuracy:.3f}", f"{seconds:.0f} s"))
    knowledge = yaml.safe_load((KNOWLEDGE_DIR / "facts.yml").read_text())
    with_lemmas = KnowledgeBase(knowledge, Lemmatizer(load_lemma_table()))
    without = KnowledgeBase(knowledge, Lemmatizer({}))
    rows.append(("free-text search, spaCy lookup lemmas", f"{search_accuracy(with_lemmas):.3f}", ""))
    rows.append(("free-text search, plain words", f"{search_accuracy(without):.3f}", ""))
    print(f"{'what':45s} {'accuracy':>8s} {'training':>9s}")
    for what, accuracy, seconds in rows:
        print(f"{what:45s} {accuracy:>8s} {seconds:>9s}")


if __name__ == "__main__":
    main()
