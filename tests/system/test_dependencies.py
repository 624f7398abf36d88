"""pip-audit over the pinned requirements: no known advisory, bar those listed with a reason in
known-vulnerabilities.txt (docs/security.md); that list and the runtime's version checks hold for
the versions actually pinned, which needs no advisory data."""
import json
import re
import subprocess

import pytest

from harness.launcher import PROJECT
from runtime import guard

PIP_AUDIT = PROJECT / "build" / "pip-audit" / "bin" / "pip-audit"  # Makefile: AUDIT
KNOWN = PROJECT / "known-vulnerabilities.txt"


def known_vulnerabilities() -> dict:
    """Advisory id -> (the pinned requirement it was judged for, the reason it is accepted)."""
    known = {}
    for line in KNOWN.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            advisory, pin, reason = (line.split(maxsplit=2) + ["", ""])[:3]
            known[advisory] = (pin, reason.strip())
    return known


def pins() -> dict:
    found = {}
    for name in ("requirements.txt", "requirements-nodeps.txt"):
        for line in (PROJECT / name).read_text().splitlines():
            if re.match(r"^[A-Za-z0-9_.\-]+==", line):
                package, version = line.split("#", 1)[0].strip().split("==")
                found[package.lower().replace("_", "-")] = version
    return found


def test_every_accepted_advisory_says_why():
    assert all(len(reason.split()) >= 3 for _, reason in known_vulnerabilities().values())


def test_every_accepted_advisory_is_for_a_version_still_pinned():
    """A pin that changed makes its advisories' judgement stale: judge them again (or drop them
    when the new version is fixed)."""
    pinned = pins()
    stale = [f"{advisory} {pin} (pinned: {pinned.get(pin.split('==')[0].lower())})"
             for advisory, (pin, _) in known_vulnerabilities().items()
             if "==" not in pin or pinned.get(pin.split("==")[0].lower()) != pin.split("==")[1]]
    assert not stale, stale


def test_the_runtime_checks_the_versions_that_are_pinned():
    pinned = pins()
    for package, version in guard.CHECKED_AGAINST.items():
        assert pinned[package] == version, package


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
                    f"{len(dependencies)} pinned packages ({unaudited[0]['skip_reason']}); the "
                    f"pins were checked against known-vulnerabilities.txt only")
    assert not unaudited, [d["skip_reason"] for d in unaudited]
    found = [f"{d['name']} {d['version']}: {v['id']} (fixed in {v['fix_versions']})"
             for d in dependencies for v in d.get("vulns", [])]
    assert not found, found
