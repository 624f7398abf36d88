"""bench/report.py: bench/REPORT.md rendered from a run's results (bench/results.json's
structure), with each target's verdict and a row of figures per configuration. No servers."""
import copy
import json

from bench import report


def figures(replies_per_s: float, p50: float, rss: float) -> dict:
    """One configuration's results, shaped as bench/speed.py writes them."""
    users = {"p50": p50, "p95": p50 * 2, "p99": p50 * 3, "count": 300,
             "replies_per_s": replies_per_s, "errors": 0, "empty": 0, "seconds": 1.0,
             "load": "1.00 1.00 1.00"}
    return {
        "training_s": 12.0, "load_training": "0.50 0.50 0.50", "model_mb": 4.0,
        "ready_s": {"actions": 0.5, "rasa": 6.0}, "load_ready": "1", "load_nlu": "1",
        "parse_ms": {"p50": 1.0, "p95": 2.0, "p99": 3.0, "count": 270},
        "nlu_accuracy": 0.97, "nlu_fallback_share": 0.05,
        "single_user": {"p50": 8.0, "p95": 11.0, "p99": 13.0, "count": 300, "errors": 0,
                        "empty": 0, "load": "1"},
        "users_20": users, "users_100": {**users, "count": 500},
        "conversation_length": {"block_p50_ms": [10.0] * 9 + [11.0], "last_over_first": 1.1,
                                "load": "1"},
        "memory_mb": {"rasa": {"largest_rss": rss, "pss": rss + 50},
                      "actions": {"largest_rss": 50.0, "pss": 40.0}},
    }


RESULTS = {
    "measured": "2030-01-02 03:04 UTC",
    "machine": {"cpu": "Test CPU 9000", "cores": 2, "memory_gb": 8, "python": "3.10.13",
                "load_at_start": "0.10 0.20 0.30", "load_at_end": "0.40 0.50 0.60"},
    "project": figures(replies_per_s=200.0, p50=50.0, rss=600.0),
    "shipped": figures(replies_per_s=20.0, p50=800.0, rss=1200.0),
    "default": figures(replies_per_s=100.0, p50=160.0, rss=1000.0),
}


def target_row(text: str, target: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"| {target}"))


def test_every_target_met_says_so_with_the_measured_figures():
    text = report.render(RESULTS)
    assert "12 of 12 met." in text
    assert target_row(text, "20 users: >= 100 replies/s").endswith("| 200.0 replies/s | met |")
    assert target_row(text, ">= 5x the throughput").endswith("| 10.00x | met |")
    assert "**missed**" not in text


def test_a_target_missed_is_shown_missed():
    results = copy.deepcopy(RESULTS)
    results["project"]["memory_mb"]["rasa"]["largest_rss"] = 750.0
    results["project"]["users_20"]["replies_per_s"] = 80.0  # 4x shipped: two more missed
    text = report.render(results)
    assert "9 of 12 met, 3 missed." in text
    assert target_row(text, "Rasa <= 700 MB").endswith("| **missed** |")
    assert target_row(text, "20 users: >= 100 replies/s").endswith("| 80.0 replies/s | **missed** |")
    assert target_row(text, ">= 5x the throughput").endswith("| 4.00x | **missed** |")
    assert target_row(text, "20 users: p95 <= 300 ms").endswith("| met |")


def test_one_column_per_configuration_with_ratios_to_rasa_as_shipped():
    text = report.render(RESULTS)
    header = target_row(text, "figure")
    for column in report.COLUMNS.values():
        assert column in header
    assert "config.yml ÷ shipped" in header
    # 3 configurations + 2 ratios (shipped to itself is left out)
    assert header.count("|") == 1 + 1 + 3 + 2
    assert target_row(text, "20 users: replies/s") == "| 20 users: replies/s | 200.0 | 20.0 | 100.0 | 10.00 | 5.00 |"
    assert target_row(text, "training from clean (s)").startswith("| training from clean (s) | 12 |")
    assert target_row(text, "Rasa after the run: RSS").split(" | ")[1:4] == ["600", "1200", "1000"]


def test_the_run_s_date_machine_and_plot_are_in_the_report():
    text = report.render(RESULTS)
    assert "Measured 2030-01-02 03:04 UTC on Test CPU 9000, 2 cores, 8 GB" in text
    assert "0.10 0.20 0.30 at the start" in text
    assert "![REST latency percentiles against concurrent users](latency.png)" in text


def test_a_run_without_the_baseline_leaves_its_targets_unjudged():
    results = {key: value for key, value in RESULTS.items() if key not in ("shipped", "default")}
    text = report.render(results)
    assert target_row(text, ">= 5x the throughput").endswith("| not measured in this run | - |")
    assert "10 of 12 met." in text
    assert "÷ shipped" not in text


def test_write_renders_results_json_to_a_file(tmp_path):
    source = tmp_path / "results.json"
    source.write_text(json.dumps(RESULTS))
    out = report.write(json.loads(source.read_text()), tmp_path / "REPORT.md")
    assert out.read_text() == report.render(RESULTS)
