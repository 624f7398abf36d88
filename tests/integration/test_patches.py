"""runtime/patches.py's list end to end: the messages of a real conversation run every patch (a
Rasa release that stopped calling what one replaces would leave it silently doing nothing). The
conversation starts as Telegram users' do, with "/start" (no intent here: Rasa warns), and an
operator reads it through the HTTP API with a JWT."""
import secrets
import time

import jwt
import requests

from harness.launcher import Assistant
from runtime.guard import TRACE
from runtime.patches import PATCHES
from runtime.workers import default_workers

CONVERSATION = ["/start", "hi", "what is kpo", "what are its risks?",
                "which is better for a fresher"]


def test_a_conversation_runs_every_patch(tmp_path):
    trace = tmp_path / "patches-run"
    secret = secrets.token_urlsafe(32)
    bot = Assistant(tmp_path, env={TRACE: str(trace)},
                    rasa_args=["--enable-api", f"--jwt-secret={secret}"])
    try:
        bot.wait_until_ready()
        bot.wait_until_listening(default_workers())
        for text in CONVERSATION:
            assert bot.send("patched", text)
        token = jwt.encode({"user": {"username": "ops", "role": "admin"},
                            "exp": int(time.time()) + 600}, secret, algorithm="HS256")
        assert requests.get(f"{bot.url}/conversations/patched/tracker", timeout=30,
                            headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        bot.stop()
    expected = {patch.name for patch in PATCHES}
    if default_workers() == 1:  # Sanic forks no workers
        expected.discard("sanic.app.serve_multiple")
    assert expected - set(trace.read_text().split()) == set()
