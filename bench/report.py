"""bench/REPORT.md from bench/results.json: the speed targets and whether each is met, every
configuration's figures side by side with their ratio to Rasa as shipped, the latency plot, and
the date and machine of the run.

`make bench` (bench/speed.py) writes it after each run; to render it again from the results on
disk:

    .venv/bin/python -m bench.report     (or: .venv/bin/python bench/report.py)

The figures are never typed into the docs: they link here. The targets are issue 8's.
"""
import json
import sys
from pathlib import Path
from typing import Callable, List, Optional, Tuple

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results.json"
REPORT = BENCH / "REPORT.md"

# Each configuration's column, in order, and what it is.
COLUMNS = {
    "project": "config.yml",
    "shipped": "default.v1, Rasa as shipped",
    "default": "default.v1 on runtime/",
}
MEANING = {
    "project": "this project as `make run` starts it: config.yml's model, the action server, "
               "`python -m runtime run` with its workers and the windowed SQLite tracker store",
    "shipped": "Rasa's default configuration (`recipe: default.v1`, no pipeline or policies) "
               "trained on the same data, served by `rasa run` with Rasa's own SQL tracker store "
               "on SQLite and the same action server: the baseline of the targets",
    "default": "the same default.v1 model on this project's runtime/ and stores/: what the "
               "configuration alone buys",
}
BASELINE = "shipped"  # the targets' "default" is Rasa's default configuration as Rasa ships it
LOADS = (20, 100)

Read = Callable[[dict], float]


def _users(users: int, key: str) -> Read:
    return lambda f: f[f"users_{users}"][key]


ROWS: List[Tuple[str, Read, str]] = [  # label, how to read it from a configuration, format
    ("training from clean (s)", lambda f: f["training_s"], "{:.0f}"),
    ("model size (MB)", lambda f: f["model_mb"], "{:.1f}"),
    ("start to ready: Rasa (s)", lambda f: f["ready_s"]["rasa"], "{:.1f}"),
    ("start to ready: action server (s)", lambda f: f["ready_s"]["actions"], "{:.1f}"),
    ("NLU accuracy on tests/nlu (as `rasa test nlu`)", lambda f: f["nlu_accuracy"], "{:.3f}"),
    ("share of tests/nlu below the fallback threshold", lambda f: f["nlu_fallback_share"],
     "{:.3f}"),
    ("/model/parse p50 (ms)", lambda f: f["parse_ms"]["p50"], "{:.1f}"),
    ("/model/parse p95 (ms)", lambda f: f["parse_ms"]["p95"], "{:.1f}"),
    *[(f"1 user, REST {p} (ms)", lambda f, p=p: f["single_user"][p], "{:.1f}")
      for p in ("p50", "p95", "p99")],
    *[row for users in LOADS for row in [
        (f"{users} users: replies/s", _users(users, "replies_per_s"), "{:.1f}"),
        *[(f"{users} users: {p} (ms)", _users(users, p), "{:.0f}") for p in ("p50", "p95", "p99")],
        (f"{users} users: errors + empty replies",
         lambda f, u=users: f[f"users_{u}"]["errors"] + f[f"users_{u}"]["empty"], "{:.0f}")]],
    ("200-message conversation: p50 of messages 1-20 (ms)",
     lambda f: f["conversation_length"]["block_p50_ms"][0], "{:.1f}"),
    ("200-message conversation: p50 of messages 181-200 (ms)",
     lambda f: f["conversation_length"]["block_p50_ms"][-1], "{:.1f}"),
    ("200-message conversation: last block / first block",
     lambda f: f["conversation_length"]["last_over_first"], "{:.2f}"),
    ("Rasa after the run: RSS of its largest process (MB)",
     lambda f: f["memory_mb"]["rasa"]["largest_rss"], "{:.0f}"),
    ("Rasa after the run: PSS of all its processes (MB)",
     lambda f: f["memory_mb"]["rasa"]["pss"], "{:.0f}"),
    ("action server after the run: RSS of its largest process (MB)",
     lambda f: f["memory_mb"]["actions"]["largest_rss"], "{:.0f}"),
    ("action server after the run: PSS of all its processes (MB)",
     lambda f: f["memory_mb"]["actions"]["pss"], "{:.0f}"),
]


def _check(results: dict) -> List[Tuple[str, str, Optional[bool]]]:
    """Each target: what it asks, what the run measured, and whether it is met (None: the run
    did not measure what it needs, e.g. `bench/speed.py --only project` has no baseline)."""
    project, baseline = results.get("project"), results.get(BASELINE)
    targets = []

    def target(label: str, needs: Tuple[Optional[dict], ...],
               measured: Callable[[], str], met: Callable[[], bool]) -> None:
        if all(needs):
            targets.append((label, measured(), bool(met())))
        else:
            targets.append((label, "not measured in this run", None))

    p = project or {}
    target("1 user: p50 <= 20 ms and p95 <= 40 ms, action server included", (project,),
           lambda: f"p50 {p['single_user']['p50']:.1f} ms, p95 {p['single_user']['p95']:.1f} ms",
           lambda: p["single_user"]["p50"] <= 20 and p["single_user"]["p95"] <= 40)
    target("flat in conversation length: p50 of messages 181-200 <= 1.5x that of messages 1-20",
           (project,), lambda: f"{p['conversation_length']['last_over_first']:.2f}x"
           + (f" (Rasa as shipped: {baseline['conversation_length']['last_over_first']:.2f}x)"
              if baseline else ""),
           lambda: p["conversation_length"]["last_over_first"] <= 1.5)
    target("20 users: >= 100 replies/s", (project,),
           lambda: f"{p['users_20']['replies_per_s']:.1f} replies/s",
           lambda: p["users_20"]["replies_per_s"] >= 100)
    target("20 users: p95 <= 300 ms", (project,), lambda: f"{p['users_20']['p95']:.0f} ms",
           lambda: p["users_20"]["p95"] <= 300)
    target("100 users: no errors, no empty replies", (project,),
           lambda: f"{p['users_100']['errors']} errors, {p['users_100']['empty']} empty of "
           f"{p['users_100']['count']}",
           lambda: p["users_100"]["errors"] == 0 and p["users_100"]["empty"] == 0)
    target(">= 5x the throughput of Rasa as shipped at 20 users", (project, baseline),
           lambda: f"{_ratio(p, baseline, 'replies_per_s'):.2f}x",
           lambda: _ratio(p, baseline, "replies_per_s") >= 5)
    target("<= 1/3 of the p50 of Rasa as shipped at 20 users", (project, baseline),
           lambda: f"{_ratio(p, baseline, 'p50'):.2f}x",
           lambda: _ratio(p, baseline, "p50") <= 1 / 3)
    target("training from clean <= 60 s", (project,), lambda: f"{p['training_s']:.0f} s",
           lambda: p["training_s"] <= 60)
    target("ready to answer <= 20 s after start", (project,),
           lambda: f"Rasa {p['ready_s']['rasa']:.1f} s (every worker listening), "
           f"action server {p['ready_s']['actions']:.1f} s",
           lambda: max(p["ready_s"].values()) <= 20)
    target("Rasa <= 700 MB resident", (project,),
           lambda: f"{p['memory_mb']['rasa']['largest_rss']:.0f} MB its largest process; "
           f"{p['memory_mb']['rasa']['pss']:.0f} MB all its processes (PSS)",
           lambda: p["memory_mb"]["rasa"]["largest_rss"] <= 700)
    target("action server <= 150 MB resident", (project,),
           lambda: f"{p['memory_mb']['actions']['largest_rss']:.0f} MB",
           lambda: p["memory_mb"]["actions"]["largest_rss"] <= 150)
    target("NLU accuracy on tests/nlu >= 0.95", (project,), lambda: f"{p['nlu_accuracy']:.3f}",
           lambda: p["nlu_accuracy"] >= 0.95)
    return targets


def _ratio(figures: dict, baseline: dict, key: str, users: int = 20) -> float:
    return figures[f"users_{users}"][key] / baseline[f"users_{users}"][key]


def _verdict(met: Optional[bool]) -> str:
    return {True: "met", False: "**missed**", None: "-"}[met]


def render(results: dict) -> str:
    """The report's Markdown for one run's results (bench/results.json's structure)."""
    machine = results.get("machine", {})
    names = [name for name in COLUMNS if name in results]
    targets = _check(results)
    met = sum(1 for *_, ok in targets if ok)
    missed = sum(1 for *_, ok in targets if ok is False)
    lines = [
        "# Speed: the latest `make bench`",
        "",
        "Generated by `make bench` (bench/speed.py, then bench/report.py) from "
        "[results.json](results.json): do not edit; run `make bench` again, or "
        "`.venv/bin/python -m bench.report` to render the same results. What is measured and "
        "how: [docs/speed.md](../docs/speed.md).",
        "",
        f"Measured {results.get('measured', 'at an unrecorded time')} on "
        f"{machine.get('cpu', 'an unrecorded CPU')}, {machine.get('cores', '?')} cores, "
        f"{machine.get('memory_gb', '?')} GB, Python {machine.get('python', '?')}; load average "
        f"{machine.get('load_at_start', '?')} at the start, {machine.get('load_at_end', '?')} at "
        "the end. Absolute figures depend on the machine; ratios measured in one run hold "
        "better across machines.",
        "",
        "## Targets",
        "",
        f"{met} of {len(targets)} met" + (f", {missed} missed" if missed else "") + ".",
        "",
        "| target | measured | verdict |",
        "| --- | --- | --- |",
        *[f"| {label} | {measured} | {_verdict(ok)} |" for label, measured, ok in targets],
        "",
        "## Every figure",
        "",
    ]
    if names:
        lines += [f"- **{COLUMNS[n]}**: {MEANING[n]}." for n in names] + [""]
        ratio_heads = [f"{COLUMNS[n]} ÷ shipped" for n in names
                       if n != BASELINE and BASELINE in results]
        lines += ["| figure | " + " | ".join(COLUMNS[n] for n in names) + "".join(
            f" | {head}" for head in ratio_heads) + " |",
                  "| --- " * (1 + len(names) + len(ratio_heads)) + "|"]
        for label, read, fmt in ROWS:
            cells = [fmt.format(read(results[n])) for n in names]
            if ratio_heads:
                base = read(results[BASELINE])
                cells += [f"{read(results[n]) / base:.2f}" if base else "-"
                          for n in names if n != BASELINE]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines += ["", "Load average during each configuration's runs (1, 5, 15 minutes):", ""]
        lines += [f"- {COLUMNS[n]}: training {results[n].get('load_training', '?')}; "
                  f"20 users {results[n].get('users_20', {}).get('load', '?')}; "
                  f"100 users {results[n].get('users_100', {}).get('load', '?')}" for n in names]
    else:
        lines.append("No configuration was measured.")
    lines += ["", "## Latency against concurrent users", "",
              "![REST latency percentiles against concurrent users](latency.png)", ""]
    return "\n".join(lines)


def write(results: Optional[dict] = None, path: Path = REPORT) -> Path:
    """Renders `results` (default: bench/results.json) to `path`."""
    if results is None:
        results = json.loads(RESULTS.read_text())
    path.write_text(render(results))
    return path


def main(argv: List[str]) -> None:
    source = Path(argv[0]) if argv else RESULTS
    print(f"wrote {write(json.loads(source.read_text()))}")


if __name__ == "__main__":
    main(sys.argv[1:])
