"""The shared public evaluation sample, run against the live assistant: every category passes
at least 95% (a sample only: the assistant is judged on many more questions)."""
import json
import subprocess
import sys
from collections import defaultdict

import pytest

from conftest import PROJECT

GRADER = PROJECT.parent / "shared" / "eval" / "grade.py"


@pytest.mark.skipif(not GRADER.exists(), reason="no shared/eval beside the project")
def test_public_sample_passes_in_every_category(assistant, tmp_path):
    report = tmp_path / "grade.json"
    result = subprocess.run([sys.executable, str(GRADER), "--url", assistant.url,
                             "--token", assistant.rest_token, "--json", str(report), "-v"],
                            capture_output=True, text=True, timeout=600)
    print(result.stdout)
    assert result.returncode == 0, result.stderr[-2000:]
    by_category = defaultdict(list)
    for row in json.loads(report.read_text()):
        by_category[row["cat"]].append(row["ok"])
    for category, oks in by_category.items():
        assert sum(oks) / len(oks) >= 0.95, (category, result.stdout[-3000:])
