"""runtime/patches.py's list end to end: the messages of a real conversation run every patch (a
Rasa release that stopped calling what one replaces would leave it silently doing nothing)."""
from harness.launcher import Assistant
from runtime.guard import TRACE
from runtime.patches import PATCHES
from runtime.workers import default_workers

CONVERSATION = ["hi", "what is kpo", "what are its risks?", "which is better for a fresher"]


def test_a_conversation_runs_every_patch(tmp_path):
    trace = tmp_path / "patches-run"
    bot = Assistant(tmp_path, env={TRACE: str(trace)})
    try:
        bot.wait_until_ready()
        bot.wait_until_listening(default_workers())
        for text in CONVERSATION:
            assert bot.send("patched", text)
    finally:
        bot.stop()
    expected = {patch.name for patch in PATCHES}
    if default_workers() == 1:  # Sanic forks no workers
        expected.discard("sanic.app.serve_multiple")
    assert expected - set(trace.read_text().split()) == set()
