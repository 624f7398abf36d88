"""The shared grading sample, and questions of our own in its topics, run against the live
assistant with the shared grader: every category passes at least 95% (the assistant is judged on
many more questions than the sample)."""
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from conftest import PROJECT

GRADER = PROJECT.parent / "shared" / "eval" / "grade.py"
SAMPLE = GRADER.parent / "dev.yml"
OURS = PROJECT / "tests" / "extra_questions.yml"


def our_questions(directory: Path) -> Path:
    """tests/extra_questions.yml with the sample's topics and fact markers, as the grader reads."""
    sample = yaml.safe_load(SAMPLE.read_text())
    merged = {"fact_markers": sample["fact_markers"], "topics": sample["topics"],
              **yaml.safe_load(OURS.read_text())}
    path = directory / "ours.yml"
    path.write_text(yaml.safe_dump(merged, allow_unicode=True))
    return path


@pytest.mark.skipif(not GRADER.exists(), reason="no shared/eval beside the project")
@pytest.mark.parametrize("question_set", ["sample", "ours"])
def test_every_category_passes(assistant, tmp_path, question_set):
    report = tmp_path / "grade.json"
    chosen = SAMPLE if question_set == "sample" else our_questions(tmp_path)
    result = subprocess.run([sys.executable, str(GRADER), "--url", assistant.url,
                             "--token", assistant.rest_token, "--set", str(chosen),
                             "--json", str(report), "-v"],
                            capture_output=True, text=True, timeout=600)
    print(result.stdout)
    assert result.returncode == 0, result.stderr[-2000:]
    by_category = defaultdict(list)
    for row in json.loads(report.read_text()):
        by_category[row["cat"]].append(row["ok"])
    assert by_category
    for category, oks in by_category.items():
        assert sum(oks) / len(oks) >= 0.95, (category, result.stdout[-3000:])
