"""The shared grading sample, questions of our own in its topics, and questions real people wrote
(tests/real_questions.yml), run against the live assistant with the shared grader."""
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from harness.launcher import PROJECT, Assistant
from runtime.guard import SWITCH

GRADER = PROJECT.parent / "shared" / "eval" / "grade.py"
SAMPLE = GRADER.parent / "dev.yml"
OURS = PROJECT / "tests" / "extra_questions.yml"
REAL = PROJECT / "tests" / "real_questions.yml"


def our_questions(directory: Path) -> Path:
    """tests/extra_questions.yml with the sample's topics and fact markers, as the grader reads."""
    sample = yaml.safe_load(SAMPLE.read_text())
    merged = {"fact_markers": sample["fact_markers"], "topics": sample["topics"],
              **yaml.safe_load(OURS.read_text())}
    path = directory / "ours.yml"
    path.write_text(yaml.safe_dump(merged, allow_unicode=True))
    return path


def grade(assistant, question_set: Path, report: Path):
    """The shared grader's verdicts on a set, by category, and what it printed."""
    result = subprocess.run([sys.executable, str(GRADER), "--url", assistant.url,
                             "--token", assistant.rest_token, "--set", str(question_set),
                             "--json", str(report), "-v"],
                            capture_output=True, text=True, timeout=600)
    print(result.stdout)
    assert result.returncode == 0, result.stderr[-2000:]
    by_category = defaultdict(list)
    for row in json.loads(report.read_text()):
        by_category[row["cat"]].append(row["ok"])
    assert by_category
    return by_category, result.stdout


@pytest.mark.skipif(not GRADER.exists(), reason="no shared/eval beside the project")
@pytest.mark.parametrize("question_set", ["sample", "ours"])
def test_every_category_passes(assistant, tmp_path, question_set):
    """Every category at least 95% (the assistant is judged on many more questions)."""
    chosen = SAMPLE if question_set == "sample" else our_questions(tmp_path)
    by_category, printed = grade(assistant, chosen, tmp_path / "grade.json")
    for category, oks in by_category.items():
        assert sum(oks) / len(oks) >= 0.95, (category, printed[-3000:])


@pytest.mark.skipif(not GRADER.exists(), reason="no shared/eval beside the project")
def test_real_peoples_questions_are_answered_or_honestly_not(assistant, tmp_path):
    """At least 90% of the questions the sources answer are answered right (in English and in
    Hinglish), and at least 90% of those they don't are told so honestly."""
    by_category, printed = grade(assistant, REAL, tmp_path / "grade.json")
    covered = by_category["real_user_questions"] + by_category["stretch_hinglish"]
    assert sum(covered) / len(covered) >= 0.90, printed[-4000:]
    honest = by_category["not_covered"]
    assert sum(honest) / len(honest) >= 0.90, printed[-4000:]


def normalised(text: str) -> str:
    import re
    return " ".join(re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text).lower().split())


def test_no_question_of_a_test_set_is_in_the_training_data():
    training = set()
    for path in (PROJECT / "data" / "nlu").glob("*.yml"):
        for item in yaml.safe_load(path.read_text()).get("nlu", []):
            for line in (item.get("examples") or "").splitlines():
                training.add(normalised(line.strip()[2:]))
    asked = {normalised(case["q"]) for path in (REAL, OURS) for key, cases in
             yaml.safe_load(path.read_text()).items() if isinstance(cases, list)
             for case in cases if isinstance(case, dict) and "q" in case}
    assert asked and not asked & training, sorted(asked & training)


@pytest.mark.skipif(not GRADER.exists(), reason="no shared/eval beside the project")
def test_rasa_as_shipped_answers_the_sample_as_well(tmp_path):
    """ASSISTANT_PATCHES=off (runtime/guard.py): stock Rasa and Sanic, for debugging, with the
    same answers."""
    stock = Assistant(tmp_path, env={SWITCH: "off"})
    try:
        stock.wait_until_ready()
        by_category, printed = grade(stock, SAMPLE, tmp_path / "grade.json")
    finally:
        stock.stop()
    assert all(all(oks) for oks in by_category.values()), printed[-3000:]
