"""What each piece of NLU buys, measured on the independent NLU test set (tests/nlu/test_nlu.yml)
and on the questions real people wrote (tests/real_questions.yml, the ones the sources answer).

1. NLU, three pipelines trained from clean: config.yml as is (spaCy tokens and lookup lemmas, the
   linear classifier, and all-MiniLM-L6-v2's nearest examples for messages it is unsure of);
   the same without the encoder; and with Rasa's WhitespaceTokenizer instead of spaCy. For each:
   intent accuracy on both sets, training time, parse latency (median and 95th percentile over
   the real questions) and the memory the loaded model takes.
2. Free-text search in the facts module: top-1 aspect of the test messages whose intent asks
   about one aspect, with spaCy's lookup lemmas against plain lowercase words.

Run with `make compare-nlp` (after `make install`); prints a table and writes it to
bench/COMPARE_NLP.md (and the figures to bench/compare_nlp.json).
"""
import json
import re
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
REAL_SET = PROJECT / "tests" / "real_questions.yml"
RESULTS = PROJECT / "bench" / "compare_nlp.json"
REPORT = PROJECT / "bench" / "COMPARE_NLP.md"
# The intent that reads a question of each grading topic (the grader judges replies, this
# script the intent NLU gives the whole message).
INTENT_OF_TOPIC = {
    "def_kpo": "ask_definition", "def_bpo": "ask_definition", "difference": "ask_difference",
    "better": "ask_which_better", "cost": "ask_cost", "both": "ask_use_both",
    "automation": "ask_automation", "future": "ask_future", "security": "ask_data_security",
    "adv_bpo": "ask_advantages", "adv_kpo": "ask_advantages", "value": "ask_advantages",
    "risk_bpo": "ask_risks", "risk_kpo": "ask_risks", "bpo_tasks": "ask_work",
    "kpo_tasks": "ask_work", "kpo_industries": "ask_industries", "qual_bpo": "ask_qualification",
    "qual_kpo": "ask_qualification", "salary_bpo": "ask_salary", "salary_kpo_unknown": "ask_salary",
    "companies_bpo": "ask_companies", "evolution": "ask_evolution", "skillset": "ask_skills",
    "kpo_professionals": "ask_skills", "bpo_india": "ask_india", "bpo_where": "ask_location",
    "career_kpo_future": "ask_career", "career_cs": "ask_career",
    "outsourcing_definition": "ask_outsourcing", "outsourcing_why": "ask_advantages",
    "outsourcing_risks": "ask_risks",
}
# Run in a process of its own per model, so that its memory is the model's alone.
PARSE = """
import asyncio, json, resource, statistics, sys, time
from rasa.core.agent import Agent
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
agent = Agent.load(sys.argv[1])
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
cases = json.loads(sys.stdin.read())
async def parse_all():
    await agent.parse_message("warm up")
    rows = []
    for text, intent in cases:
        started = time.perf_counter()
        parsed = await agent.parse_message(text)
        rows.append((time.perf_counter() - started, parsed["intent_ranking"], intent))
    return rows
rows = asyncio.run(parse_all())
# The best intent FallbackClassifier's "nlu_fallback" stands before, for unsure messages.
right = sum(next(r["name"] for r in ranking if r["name"] != "nlu_fallback") == intent
            for _, ranking, intent in rows)
times = sorted(seconds * 1000 for seconds, _, _ in rows)
print(json.dumps({"accuracy": right / len(rows), "p50_ms": statistics.median(times),
                  "p95_ms": times[int(0.95 * (len(times) - 1))],
                  "model_mb": (loaded - before) / 1024}))
"""


def test_messages():
    data = yaml.safe_load(TEST_SET.read_text())
    for item in data["nlu"]:
        for line in item["examples"].splitlines():
            if line.strip():
                text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line.strip()[2:])
                yield item["intent"], text


def real_questions():
    """(text, intent) of the real questions the sources answer."""
    data = yaml.safe_load(REAL_SET.read_text())
    cases = data.get("real_user_questions", []) + data.get("stretch_hinglish", [])
    return [(case["q"], INTENT_OF_TOPIC[case["topic"]]) for case in cases]


def train(pipeline_config: dict, workdir: Path) -> float:
    config = workdir / "config.yml"
    config.write_text(yaml.safe_dump(pipeline_config, sort_keys=False))
    started = time.monotonic()
    subprocess.run([str(RASA), "train", "--config", str(config), "--out", str(workdir),
                    "--fixed-model-name", "nlu"],
                   cwd=PROJECT, check=True, capture_output=True)
    return time.monotonic() - started


def nlu_test_accuracy(workdir: Path) -> float:
    subprocess.run([str(RASA), "test", "nlu", "--model", str(workdir / "nlu.tar.gz"), "--nlu",
                    str(TEST_SET), "--out", str(workdir / "results")],
                   cwd=PROJECT, check=True, capture_output=True)
    report = json.loads((workdir / "results" / "intent_report.json").read_text())
    return report["accuracy"]


def real_question_figures(workdir: Path) -> dict:
    run = subprocess.run([sys.executable, "-c", PARSE, str(workdir / "nlu.tar.gz")],
                         input=json.dumps(real_questions()), cwd=PROJECT, check=True,
                         capture_output=True, text=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def classifier_step(config: dict) -> dict:
    return next(step for step in config["pipeline"] if step["name"].endswith("IntentClassifier"))


def without_encoder(config: dict) -> dict:
    variant = json.loads(json.dumps(config))
    classifier_step(variant)["neighbours"] = False
    return variant


def whitespace_variant(config: dict) -> dict:
    variant = without_encoder(config)
    variant["pipeline"] = [
        {"name": "WhitespaceTokenizer"} if step["name"] == "SpacyTokenizer" else step
        for step in variant["pipeline"] if step["name"] != "SpacyNLP"
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
    variants = {
        "config.yml: spaCy lemmas, linear model, MiniLM neighbours": config,
        "without the MiniLM neighbours": without_encoder(config),
        "whitespace tokens, no neighbours": whitespace_variant(config),
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, (name, variant) in enumerate(variants.items()):
            workdir = Path(tmp) / str(index)
            workdir.mkdir()
            seconds = train(variant, workdir)
            rows.append({"pipeline": name, "training_s": round(seconds, 1),
                         "tests_nlu_accuracy": round(nlu_test_accuracy(workdir), 3),
                         **{k: round(v, 3 if k == "accuracy" else 1)
                            for k, v in real_question_figures(workdir).items()}})
    knowledge = yaml.safe_load((KNOWLEDGE_DIR / "facts.yml").read_text())
    search = {"spaCy lookup lemmas": search_accuracy(KnowledgeBase(knowledge,
                                                                  Lemmatizer(load_lemma_table()))),
              "plain words": search_accuracy(KnowledgeBase(knowledge, Lemmatizer({})))}
    RESULTS.write_text(json.dumps({"nlu": rows, "free_text_search": search}, indent=1) + "\n")
    lines = ["# What each piece of NLU buys", "",
             f"Written by `make compare-nlp` ({Path(__file__).name}) on "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Accuracy: the intent of the "
             f"whole message, on `tests/nlu/test_nlu.yml` and on the real questions of "
             f"`tests/real_questions.yml` that the sources answer ({len(real_questions())}). "
             f"Latency: one parse of each real question, in this process. Model: memory the "
             f"loaded model adds.", "",
             "| NLU pipeline | tests/nlu | real questions | training | parse p50 | parse p95 "
             "| model |", "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['pipeline']} | {r['tests_nlu_accuracy']:.3f} | {r['accuracy']:.3f} | "
              f"{r['training_s']:.0f} s | {r['p50_ms']:.1f} ms | {r['p95_ms']:.1f} ms | "
              f"{r['model_mb']:.0f} MB |" for r in rows]
    lines += ["", "| facts module's free-text search, top-1 aspect on tests/nlu | accuracy |",
              "| --- | --- |"]
    lines += [f"| {what} | {accuracy:.3f} |" for what, accuracy in search.items()]
    REPORT.write_text("\n".join(lines) + "\n")
    print(REPORT.read_text())

if __name__ == "__main__":
    main()
