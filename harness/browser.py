"""What the widget's browser tests and bench/widget.py share: Debian's chromium, launched by
Playwright (which never downloads a browser here), the demo page server (web/serve.py), and a
stand-in for Rasa's socket.io channel with the replies of a typical conversation.
"""
import json
import re
import subprocess
import sys
import time

import requests
from playwright.sync_api import Page, expect

from harness.launcher import PROJECT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def launch_chromium(playwright):
    """Debian's chromium; launch() gives it a fresh temporary profile (user-data-dir)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)


class DemoPage:
    """`python -m web.serve` on a port of its own, showing the widget for the Rasa at server_url."""

    def __init__(self, port: int, server_url: str, title: str) -> None:
        self.origin = f"http://127.0.0.1:{port}"
        self.url = f"{self.origin}/"
        self._process = subprocess.Popen(
            [sys.executable, "-m", "web.serve", "--port", str(port), "--server-url", server_url,
             "--title", title], cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(self.url, timeout=2).raise_for_status()
                return
            except requests.RequestException:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    self.stop()
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)


class FakeRasa:
    """Rasa's socket.io channel as the widget sees it, played inside the browser (Playwright's
    WebSocket routing) for the tests that need the widget's behaviour and not the assistant's:
    the engine.io and socket.io handshakes, a session id, and scripted replies sent as Rasa's
    channel sends them (an answer's paragraphs one by one, the buttons on the last).

    `replies` maps a message (text or payload) to its bot_uttered messages; anything else gets
    FALLBACK. `received` collects what the widget sent, `sessions` the session ids it asked for.
    """

    SESSION = "f" * 64

    def __init__(self, page, replies: dict) -> None:
        self.replies, self.received, self.sessions, self.sockets = replies, [], [], []
        page.route_web_socket(re.compile(r"/socket\.io/"), self._connect)

    def _connect(self, ws) -> None:
        self.sockets.append(ws)
        ws.on_message(lambda message: self._on_message(ws, message))
        ws.send(json.dumps({"sid": "fake", "upgrades": [], "pingInterval": 600_000,
                            "pingTimeout": 600_000, "maxPayload": 1_000_000}).join(["0", ""]))

    def _on_message(self, ws, message) -> None:
        if message.startswith("40"):
            ws.send('40{"sid":"fake-socket"}')
        elif message.startswith("42"):
            event, data = json.loads(message[2:])
            if event == "session_request":
                self.sessions.append(data.get("session_id"))
                self.emit("session_confirm", self.SESSION, ws)
            elif event == "user_uttered":
                self.received.append(data)
                for reply in self.replies.get(data["message"], FALLBACK):
                    self.emit("bot_uttered", reply, ws)

    def emit(self, event: str, data, ws=None) -> None:
        (ws or self.sockets[-1]).send("42" + json.dumps([event, data]))


def rasa_answer(paragraphs, buttons=()) -> list:
    """bot_uttered messages as Rasa's socket.io channel sends a text with buttons."""
    messages = [{"text": paragraph, "quick_replies": []} for paragraph in paragraphs]
    messages[-1]["quick_replies"] = [{"content_type": "text", "title": title, "payload": payload}
                                     for title, payload in buttons]
    return messages


FALLBACK = rasa_answer(["Sorry, I didn't understand that. Try one of these:"],
                       [("What is KPO?", "/ask_definition"), ("What is BPO?", "/ask_definition")])

WELCOME = rasa_answer(["Hi! I'm the outsourcing assistant. Ask me about KPO and BPO."],
                      [("What is KPO?", "/ask_definition"), ("What is BPO?", "/ask_definition"),
                       ("How do KPO and BPO differ?", "/ask_difference")])
KPO_ANSWER = rasa_answer(
    ["KPO stands for Knowledge Process Outsourcing: **knowledge-intensive** work such as legal "
     "services or market research.",
     "KPO and BPO are both forms of outsourcing but differ in their core functions.",
     "Source: “Difference between KPO and BPO”"],
    [("What are the advantages of KPO?", "/ask_advantages"),
     ("What work is done in KPO?", "/ask_work")])
CONVERSATION = {
    "/greet": WELCOME,
    "what is kpo": KPO_ANSWER,
    "/feedback_positive": [{"text": "Thanks for the feedback, it helps improve my answers."}],
    "/feedback_negative": [{"text": "Thanks for the feedback, it helps improve my answers."}],
}


TITLE = "Careers assistant"  # the demo page's, as the widget tests start it


def open_chat(page: Page) -> None:
    page.get_by_role("button", name=f"Open chat with {TITLE}").click()
    expect(page.locator(".message.bot.welcome .quick-reply")).to_have_count(3)
    expect(page.get_by_label("Your question")).to_be_focused()


def ask(page: Page, text: str) -> None:
    answers = page.locator(".message.bot.answer").count()
    page.get_by_label("Your question").fill(text)
    page.keyboard.press("Enter")
    expect(page.locator(".message.bot.answer")).to_have_count(answers + 1)


def last_answer(page: Page):
    return page.locator(".message.bot.answer").last
