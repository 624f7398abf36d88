"""pip-audit over the pinned requirements: no known advisory, bar those listed with a reason in
known-vulnerabilities.txt (README "Security")."""
import json
import subprocess

import pytest

from harness.launcher import PROJECT

PIP_AUDIT = PROJECT / "build" / "pip-audit" / "bin" / "pip-audit"  # Makefile: AUDIT
KNOWN = PROJECT / "known-vulnerabilities.txt"


def known_vulnerabilities() -> dict:
    """Advisory id -> the package and the reason it is accepted."""
    known = {}
    for line in KNOWN.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            advisory, _, reason = line.partition(" ")
            known[advisory] = reason.strip()
    return known


def test_every_accepted_advisory_says_why():
    assert all(len(reason.split()) >= 3 for reason in known_vulnerabilities().values())


def test_no_pinned_requirement_has_a_known_vulnerability():
    if not PIP_AUDIT.exists():
        pytest.fail(f"{PIP_AUDIT} is missing: run the tests with `make test`, which installs it")
    ignored = [option for advisory in known_vulnerabilities()
               for option in ("--ignore-vuln", advisory)]
    audit = subprocess.run([str(PIP_AUDIT), "--disable-pip", "--no-deps", "--progress-spinner",
                            "off", "--format", "json", "-r", "requirements.txt", *ignored],
                           cwd=PROJECT, capture_output=True, text=True, timeout=600)
    dependencies = json.loads(audit.stdout)["dependencies"]
    unaudited = [d for d in dependencies if "skip_reason" in d]
    if unaudited and len(unaudited) == len(dependencies):
        pytest.skip(f"PyPI's advisory data could not be reached for any of the "
                    f"{len(dependencies)} pinned packages ({unaudited[0]['skip_reason']})")
    assert not unaudited, [d["skip_reason"] for d in unaudited]
    found = [f"{d['name']} {d['version']}: {v['id']} (fixed in {v['fix_versions']})"
             for d in dependencies for v in d.get("vulns", [])]
    assert not found, found
