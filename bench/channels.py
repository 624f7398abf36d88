"""How long each messaging channel takes from a user's message reaching Rasa to the reply reaching
the platform, on loopback against the fakes of harness/fakes/, beside REST for comparison.

    .venv/bin/python bench/channels.py [messages per channel, default 50]

Telegram and the callback channel answer within the webhook request, so their figure is the
request's duration; Slack answers after its webhook has returned, so its figure is the time until
the fake Slack API receives the reply (polled every 5 ms).
"""
import hashlib
import hmac
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness.fakes import FakeServer  # noqa: E402
from harness.launcher import Assistant, free_port  # noqa: E402

QUESTIONS = ["what is kpo", "what is bpo", "how do kpo and bpo differ", "risks of bpo",
             "what qualification do i need for bpo", "advantages of kpo", "which is better",
             "how much does a bpo job pay", "future of outsourcing", "what industries use kpo"]
TOKEN, USERNAME, SECRET = "123456:bench-token", "bench_bot", "bench-secret"
CALLBACK_TOKEN = "bench-callback-token"


def timed(send) -> float:
    start = time.perf_counter()
    send()
    return (time.perf_counter() - start) * 1000


def slack_reply_time(bot, slack, channel, text, replies_before) -> float:
    ts = f"{time.time():.6f}"
    body = json.dumps({"type": "event_callback", "event_id": f"Ev{ts}", "event": {
        "type": "message", "channel_type": "im", "channel": channel, "user": channel,
        "text": text, "ts": ts}}).encode()
    stamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + body,
                                 hashlib.sha256).hexdigest()
    start = time.perf_counter()
    requests.post(f"{bot.url}/webhooks/slack/webhook", data=body, timeout=30, headers={
        "Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature}).raise_for_status()
    while len(slack.calls("/chat.postMessage")) <= replies_before:
        time.sleep(0.005)
    return (time.perf_counter() - start) * 1000


def main(count: int) -> None:
    telegram = FakeServer("telegram_api", free_port(), TOKEN, USERNAME)
    slack = FakeServer("slack_api", free_port(), TOKEN)
    receiver = FakeServer("callback_receiver", free_port())
    bot = Assistant(Path(tempfile.mkdtemp()), env={
        "TELEGRAM_ACCESS_TOKEN": TOKEN, "TELEGRAM_BOT_USERNAME": USERNAME,
        "TELEGRAM_WEBHOOK_URL": "https://bench.example.com/webhooks/telegram/webhook",
        "TELEGRAM_SECRET_TOKEN": SECRET, "TELEGRAM_API_URL": telegram.url,
        "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": f"{slack.url}/api/", "CALLBACK_URL": f"{receiver.url}/bot",
        "CALLBACK_TOKEN": CALLBACK_TOKEN,
        # A benchmark's pace is no person's: the rate limits would answer it (docs/security.md).
        "ASSISTANT_RATE_LIMIT_SENDER": "0", "ASSISTANT_RATE_LIMIT_ADDRESS": "0"})
    try:
        bot.wait_until_ready()
        figures = {"rest": [], "telegram": [], "slack": [], "callback": []}
        for n in range(count):
            text, user = QUESTIONS[n % len(QUESTIONS)], n // 10  # a conversation per 10 messages
            figures["rest"].append(timed(lambda: bot.send(f"rest-{user}", text)))
            update = {"update_id": n, "message": {
                "message_id": n, "date": int(time.time()), "text": text,
                "chat": {"id": 7000 + user, "type": "private"}}}
            figures["telegram"].append(timed(lambda: requests.post(
                f"{bot.url}/webhooks/telegram/webhook", json=update, timeout=30,
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}).raise_for_status()))
            figures["slack"].append(slack_reply_time(bot, slack, f"D{user}", text, n))
            figures["callback"].append(timed(lambda: requests.post(
                f"{bot.url}/webhooks/callback/webhook", timeout=30,
                headers={"Authorization": f"Bearer {CALLBACK_TOKEN}"},
                json={"sender": f"callback-{user}", "message": text}).raise_for_status()))
        print(f"{count} messages per channel, conversations of 10 messages; milliseconds")
        for channel, times in figures.items():
            p95 = statistics.quantiles(times, n=20)[-1]
            print(f"{channel:>9}: p50 {statistics.median(times):6.1f}  p95 {p95:6.1f}")
        print(f"Telegram getMe calls: {len(telegram.calls('/getMe'))} for {count} updates")
    finally:
        bot.stop()
        for fake in (telegram, slack, receiver):
            fake.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
