"""Telegram, Slack and the callback channel end to end, on loopback: a message sent to Rasa's
webhook goes through NLU and the action server, and the reply reaches a fake of the platform
(harness/fakes/), which checks it the way the platform does; also what each channel refuses."""
import asyncio
import hashlib
import hmac
import html
import itertools
import json
import multiprocessing
import time
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
import requests

from channels.slack import RecentKeys, SlackOutput
from channels.telegram import SECRET_HEADER, TelegramBot
from channels.text import split_text, utf16_length
from harness.fakes import FakeServer
from harness.launcher import Assistant, free_port

TELEGRAM_TOKEN = "123456:fake-telegram-token"
TELEGRAM_USERNAME = "kpo_bpo_test_bot"
TELEGRAM_SECRET = "telegram-secret-token"
TELEGRAM_WEBHOOK_URL = "https://bot.example.com/webhooks/telegram/webhook"
SLACK_TOKEN = "xoxb-fake-slack-token"
SLACK_SECRET = "slack-signing-secret"
CALLBACK_TOKEN = "callback-token"

ids = itertools.count(1)


@pytest.fixture(scope="module")
def fakes():
    servers = SimpleNamespace(
        telegram=FakeServer("telegram_api", free_port(), TELEGRAM_TOKEN, TELEGRAM_USERNAME),
        slack=FakeServer("slack_api", free_port(), SLACK_TOKEN),
        receiver=FakeServer("callback_receiver", free_port()),
    )
    yield servers
    for server in vars(servers).values():
        server.stop()


@pytest.fixture(scope="module")
def bot(fakes, tmp_path_factory) -> Assistant:
    """The assistant with every channel switched on, each talking to its fake."""
    running = Assistant(tmp_path_factory.mktemp("channels"), env={
        "TELEGRAM_ACCESS_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_BOT_USERNAME": TELEGRAM_USERNAME,
        "TELEGRAM_WEBHOOK_URL": TELEGRAM_WEBHOOK_URL, "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "TELEGRAM_API_URL": fakes.telegram.url,
        "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": SLACK_SECRET,
        "SLACK_API_URL": f"{fakes.slack.url}/api/",
        "CALLBACK_URL": f"{fakes.receiver.url}/bot", "CALLBACK_TOKEN": CALLBACK_TOKEN,
    })
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


# --- Telegram ---------------------------------------------------------------------------------

def telegram_update(chat_id: int, text: str = None, pressed: str = None) -> dict:
    """An update as Telegram sends it: a typed message, or a press of a button with that data."""
    message = {"message_id": next(ids), "date": int(time.time()),
               "chat": {"id": chat_id, "type": "private"},
               "from": {"id": chat_id, "is_bot": False, "first_name": "Asha"}}
    if pressed is None:
        return {"update_id": next(ids), "message": {**message, "text": text}}
    return {"update_id": next(ids), "callback_query": {
        "id": f"query-{next(ids)}", "from": message["from"], "chat_instance": "1",
        "message": {**message, "text": "an earlier answer"}, "data": pressed}}


def to_telegram(bot: Assistant, update: dict, secret: str = TELEGRAM_SECRET):
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return requests.post(f"{bot.url}/webhooks/telegram/webhook", json=update, headers=headers,
                         timeout=60)


def telegram_messages(fakes, chat_id) -> list:
    return [call for call in fakes.telegram.calls("/sendMessage")
            if call["params"]["chat_id"] == str(chat_id)]


def keyboard(call: dict) -> list:
    return json.loads(call["params"].get("reply_markup") or "{}").get("inline_keyboard", [])


def test_telegram_webhook_is_registered_with_its_secret(bot, fakes):
    registered = fakes.telegram.calls("/setWebhook")[0]["params"]
    assert registered["url"] == TELEGRAM_WEBHOOK_URL
    assert registered["secret_token"] == TELEGRAM_SECRET
    assert set(json.loads(registered["allowed_updates"])) == {
        "message", "edited_message", "callback_query"}


def test_a_telegram_message_is_answered_with_an_inline_keyboard(bot, fakes):
    # The first message after start-up: Rasa's own connector fails it ("Event loop is closed").
    assert to_telegram(bot, telegram_update(1001, "what is kpo")).status_code == 200
    [reply] = telegram_messages(fakes, 1001)
    assert reply["status"] == 200, reply["response"]  # accepted by the fake as by Telegram
    assert reply["params"]["parse_mode"] == "HTML"
    assert "Knowledge Process Outsourcing" in reply["params"]["text"]
    rows = keyboard(reply)
    assert 2 <= len(rows) <= 3 and all(len(row) == 1 for row in rows)
    assert all(row[0]["text"] and row[0]["callback_data"].startswith("/ask_") for row in rows)


@pytest.mark.parametrize("command", ["/start", "/start from-our-website", "/help@kpo_bpo_bot"])
def test_telegram_commands_are_understood(bot, fakes, command):
    chat_id = 1200 + next(ids)
    to_telegram(bot, telegram_update(chat_id, command))
    [reply] = telegram_messages(fakes, chat_id)
    assert "KPO" in reply["params"]["text"] and "Source:" not in reply["params"]["text"]
    assert keyboard(reply)


def test_a_pressed_telegram_button_asks_its_question(bot, fakes):
    to_telegram(bot, telegram_update(1002, "what are the risks of bpo"))
    button = keyboard(telegram_messages(fakes, 1002)[0])[0][0]
    update = telegram_update(1002, pressed=button["callback_data"])
    assert to_telegram(bot, update).status_code == 200
    acknowledged = [call["params"]["callback_query_id"]
                    for call in fakes.telegram.calls("/answerCallbackQuery")]
    assert update["callback_query"]["id"] in acknowledged
    answer = telegram_messages(fakes, 1002)[1]["params"]["text"]
    assert "Source:" in answer and answer != telegram_messages(fakes, 1002)[0]["params"]["text"]


@pytest.mark.parametrize("secret", [None, "", "not-the-secret"])
def test_telegram_updates_without_the_secret_are_refused(bot, fakes, secret):
    chat_id = 1100 + next(ids)
    assert to_telegram(bot, telegram_update(chat_id, "what is kpo"), secret).status_code == 403
    assert not telegram_messages(fakes, chat_id)


def test_a_reply_telegram_refuses_does_not_make_telegram_deliver_the_update_again(bot, fakes):
    # The fake's chat 403 has blocked the bot. A 500 would make Telegram send the update again.
    assert to_telegram(bot, telegram_update(403, "what is kpo")).status_code == 200
    assert telegram_messages(fakes, 403)[0]["status"] == 403
    assert to_telegram(bot, telegram_update(1003, "what is bpo")).status_code == 200
    assert telegram_messages(fakes, 1003)


@pytest.mark.parametrize("body", [
    [], "text", 7, None, {}, {"update_id": 1}, {"message": "hi"}, {"message": {"text": "hi"}},
    {"message": {"chat": {"id": [1]}, "text": "hi"}}, {"message": {"chat": {"id": 1}, "text": 5}},
    {"message": {"chat": {"id": 1}, "location": {"longitude": "x"}}},
    {"callback_query": {"data": "/greet"}}, {"callback_query": {"message": {"chat": {"id": 1}}}},
    {"edited_message": {"chat": None}},
])
def test_a_body_that_is_not_a_telegram_update_is_refused_not_a_server_error(bot, fakes, body):
    assert to_telegram(bot, body).status_code == 400
    assert to_telegram(bot, telegram_update(1004, "what is bpo")).status_code == 200


def test_telegram_webhook_answers_get_405_and_set_webhook_needs_the_secret(bot, fakes):
    url = f"{bot.url}/webhooks/telegram"
    got = requests.get(f"{url}/webhook", timeout=30)
    assert got.status_code == 405 and got.headers["Allow"] == "POST"
    registered = len(fakes.telegram.calls("/setWebhook"))
    for method in ("GET", "POST"):
        for secret in (None, "not-the-secret"):
            headers = {SECRET_HEADER: secret} if secret else {}
            answer = requests.request(method, f"{url}/set_webhook", headers=headers, timeout=30)
            assert answer.status_code == 403, (method, secret)
    assert len(fakes.telegram.calls("/setWebhook")) == registered
    allowed = requests.post(f"{url}/set_webhook", headers={SECRET_HEADER: TELEGRAM_SECRET},
                            timeout=30)
    assert allowed.status_code == 200 and len(fakes.telegram.calls("/setWebhook")) > registered


def test_a_telegram_photo_s_caption_is_read_and_a_sticker_gets_a_short_reply(bot, fakes):
    chat_id = 1300 + next(ids)
    photo = telegram_update(chat_id, "ignored")
    del photo["message"]["text"]
    photo["message"].update(photo=[{"file_id": "f", "file_unique_id": "u", "width": 90,
                                    "height": 90}], caption="what is kpo")
    assert to_telegram(bot, photo).status_code == 200
    [answer] = telegram_messages(fakes, chat_id)
    assert "Knowledge Process Outsourcing" in answer["params"]["text"]
    for media in ({"sticker": {"file_id": "s", "file_unique_id": "s", "width": 512,
                               "height": 512, "is_animated": False, "is_video": False,
                               "type": "regular"}},
                  {"photo": [{"file_id": "f", "file_unique_id": "u", "width": 9, "height": 9}]}):
        update = telegram_update(chat_id, "ignored")
        del update["message"]["text"]
        update["message"].update(media)
        assert to_telegram(bot, update).status_code == 200
    replies = [call["params"]["text"] for call in telegram_messages(fakes, chat_id)[1:]]
    assert replies == ["I can only read text. Please type your question about KPO or BPO."] * 2


def test_an_edited_telegram_caption_is_answered_without_an_error(bot, fakes):
    chat_id = 1400 + next(ids)
    edited = telegram_update(chat_id, "ignored")
    message = edited.pop("message")
    del message["text"]
    edited["edited_message"] = {**message, "edit_date": int(time.time()),
                                "photo": [{"file_id": "f", "file_unique_id": "u", "width": 9,
                                           "height": 9}], "caption": "what is bpo"}
    assert to_telegram(bot, edited).status_code == 200
    [answer] = telegram_messages(fakes, chat_id)
    assert "Business Process Outsourcing" in answer["params"]["text"]
    time.sleep(0.5)
    assert "graph" not in bot.log("rasa").read_text(errors="replace").lower()


# --- Slack ------------------------------------------------------------------------------------

def to_slack(bot: Assistant, body: bytes, content_type: str = "application/json",
             secret: str = SLACK_SECRET, age: int = 0, headers: dict = None):
    """Posts to the Slack webhook, signed as Slack signs (with `secret`, `age` seconds ago)."""
    timestamp = str(int(time.time()) - age)
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body,
                      hashlib.sha256).hexdigest()
    return requests.post(f"{bot.url}/webhooks/slack/webhook", data=body, timeout=30, headers={
        "Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}", **(headers or {})})


def slack_message(channel: str, text: str, ts: str = None) -> bytes:
    """A direct message to the bot, as the Events API delivers it."""
    ts = ts or f"{time.time():.6f}"
    return json.dumps({
        "type": "event_callback", "event_id": f"Ev{next(ids)}", "team_id": "T1",
        "authorizations": [{"user_id": "UBOT"}],
        "event": {"type": "message", "channel_type": "im", "channel": channel, "user": "U1",
                  "text": text, "ts": ts, "event_ts": ts},
    }).encode()


def slack_button_press(channel: str, value: str) -> bytes:
    payload = {"type": "block_actions", "user": {"id": "U1"}, "channel": {"id": channel},
               "trigger_id": f"trigger-{next(ids)}", "message": {"ts": f"{time.time():.6f}"},
               "actions": [{"type": "button", "value": value, "action_ts": f"{time.time()}"}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


def slack_messages(fakes, channel) -> list:
    return [call for call in fakes.slack.calls("/chat.postMessage")
            if call["params"]["channel"] == channel]


def wait_for_slack_messages(fakes, channel, count: int) -> list:
    fakes.slack.wait_for("/chat.postMessage",
                         lambda call: len(slack_messages(fakes, channel)) >= count)
    return slack_messages(fakes, channel)


def test_the_slack_request_url_check_gets_its_challenge_back(bot):
    body = json.dumps({"token": "t", "challenge": "c4allenge", "type": "url_verification"})
    answer = to_slack(bot, body.encode())
    assert answer.status_code == 200 and answer.json() == {"challenge": "c4allenge"}
    assert to_slack(bot, body.encode(), secret="wrong").status_code == 400


def test_a_slack_message_is_answered_with_block_buttons(bot, fakes):
    assert to_slack(bot, slack_message("D_ANSWER", "what is kpo")).status_code == 200
    [reply] = wait_for_slack_messages(fakes, "D_ANSWER", 1)
    assert reply["response"]["ok"], reply["response"]  # the fake checks the token and blocks
    section, actions = reply["params"]["blocks"]
    assert section["text"]["type"] == "mrkdwn"
    assert "Knowledge Process Outsourcing" in section["text"]["text"]
    assert 2 <= len(actions["elements"]) <= 3
    assert all(b["type"] == "button" and b["value"].startswith("/ask_")
               for b in actions["elements"])


def test_a_pressed_slack_button_asks_its_question(bot, fakes):
    to_slack(bot, slack_message("D_BUTTON", "what are the risks of bpo"))
    [first] = wait_for_slack_messages(fakes, "D_BUTTON", 1)
    value = first["params"]["blocks"][1]["elements"][0]["value"]
    press = slack_button_press("D_BUTTON", value)
    assert to_slack(bot, press, "application/x-www-form-urlencoded").status_code == 200
    second = wait_for_slack_messages(fakes, "D_BUTTON", 2)[1]
    assert "Source:" in second["params"]["text"] and second["params"]["text"] != \
        first["params"]["text"]


@pytest.mark.parametrize("secret, age", [("not-the-secret", 0), (SLACK_SECRET, 6 * 60)],
                         ids=["bad signature", "stale timestamp"])
def test_slack_requests_with_bad_or_stale_signatures_are_refused(bot, fakes, secret, age):
    channel = f"D_REFUSED_{next(ids)}"
    answer = to_slack(bot, slack_message(channel, "what is kpo"), secret=secret, age=age)
    assert answer.status_code == 400
    assert not slack_messages(fakes, channel)


@pytest.mark.parametrize("payload, status", [
    ({"type": "shortcut", "callback_id": "ask", "trigger_id": "1", "user": {"id": "U1"}}, 200),
    ({"type": "message_action", "callback_id": "ask", "trigger_id": "1", "user": {"id": "U1"},
      "channel": {"id": "D1"}, "message": {"text": "what is kpo", "ts": "1.2"}}, 200),
    ({"type": "view_submission", "user": {"id": "U1"}, "view": {"id": "V1", "state": {}}}, 200),
    ({"type": "block_actions", "actions": [{"type": "button", "value": "/greet"}]}, 400),
    ("notjson", 400), ([], 400), (None, 400),
], ids=["shortcut", "message_action", "view_submission", "no user", "notjson", "list", "none"])
def test_signed_slack_interactions_it_does_not_answer_are_acknowledged_or_refused(
        bot, payload, status):
    form = {} if payload is None else {
        "payload": payload if isinstance(payload, str) else json.dumps(payload)}
    answer = to_slack(bot, urlencode(form).encode(), "application/x-www-form-urlencoded")
    assert answer.status_code == status, answer.text


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"7"])
def test_a_signed_slack_json_body_that_is_no_object_is_refused(bot, body):
    assert to_slack(bot, body).status_code == 400


def test_a_socketio_event_without_data_is_ignored_cleanly(bot):
    import socketio

    async def talk() -> list:
        client, confirmed = socketio.AsyncClient(), []
        client.on("session_confirm", lambda session_id: confirmed.append(session_id))
        await client.connect(bot.url, headers={"Origin": "http://localhost:8080"},
                             transports=["websocket"])
        await client.emit("session_request")
        await client.emit("user_uttered")
        await client.emit("session_request", {})
        for _ in range(50):
            if confirmed:
                break
            await asyncio.sleep(0.1)
        await client.disconnect()
        return confirmed

    assert len(asyncio.run(talk())) >= 1
    time.sleep(0.5)
    assert "TypeError" not in bot.log("rasa").read_text(errors="replace")


def test_answered_slack_messages_are_remembered_by_every_worker_and_bounded():
    answered = RecentKeys(1000)
    worker = multiprocessing.get_context("fork").Process(  # as Rasa's workers are forked
        target=lambda: [answered.add(f"C1/{n}") for n in range(10)])
    worker.start()
    worker.join()
    assert worker.exitcode == 0
    assert not any(answered.add(f"C1/{n}") for n in range(10))  # the other worker's
    assert answered.add("C1/new") and not answered.add("C1/new")
    now = [0.0]
    few = RecentKeys(3, clock=lambda: now.__setitem__(0, now[0] + 1) or now[0])
    assert all(few.add(key) for key in "abcde")  # past 3, the oldest are forgotten
    assert not few.add("e") and few.add("a")


def test_a_slack_retry_is_not_answered_twice(bot, fakes):
    message = slack_message("D_RETRY", "what is kpo")
    to_slack(bot, message)
    wait_for_slack_messages(fakes, "D_RETRY", 1)
    # Slack delivers it again, as after an error (Rasa's connector answers it a second time),
    # each time on a new connection, which may reach any of Rasa's workers.
    for number in range(1, 7):
        retry = {"X-Slack-Retry-Num": str(number), "X-Slack-Retry-Reason": "http_error"}
        assert to_slack(bot, message, headers=retry).status_code == 200
    # Messages of a conversation are answered in order: once this one is answered, a second
    # answer to the retry would have come before it.
    to_slack(bot, slack_message("D_RETRY", "what is bpo"))
    replies = [call["params"]["text"] for call in wait_for_slack_messages(fakes, "D_RETRY", 2)]
    assert len(replies) == 2
    assert "Knowledge Process Outsourcing" in replies[0]
    assert "Business Process Outsourcing" in replies[1]


# --- Replies that fit the platform ---------------------------------------------------------------

# An answer no platform takes in one message, with characters that are markup in both.
LONG_ANSWER = "\n\n".join(
    f"Paragraph {n}: R&D <b>teams</b> & <!channel> 🙂 " + "outsourcing knowledge work " * 60
    for n in range(1, 8))
BUTTONS = [{"title": "What are the risks of KPO?", "payload": "/ask_risks" + "x" * 100},
           {"title": "Which one suits a business that wants deep analysis of its data rather "
                      "than volume?", "payload": "/ask_which_better"}]


def test_splitting_keeps_every_word_within_the_limit():
    for limit, length in [(4096, utf16_length), (3000, len), (50, len)]:
        parts = split_text(LONG_ANSWER, limit, length)
        assert all(0 < length(part) <= limit for part in parts)
        assert " ".join(parts).split() == LONG_ANSWER.split()
    assert split_text("first paragraph\n\nsecond", 20) == ["first paragraph", "second"]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_telegram_replies_are_escaped_split_and_keep_their_buttons(fakes):
    async def send() -> None:
        telegram = TelegramBot(TELEGRAM_TOKEN, fakes.telegram.url)
        try:
            await telegram.send_text_with_buttons("2001", LONG_ANSWER, BUTTONS)
        finally:
            await telegram.session.close()

    asyncio.run(send())
    parts = telegram_messages(fakes, 2001)
    assert len(parts) >= 2 and all(part["status"] == 200 for part in parts), parts[-1]["response"]
    shown = " ".join(part["response"]["result"]["text"] for part in parts)
    assert shown.split() == LONG_ANSWER.split()
    assert [keyboard(part) for part in parts[:-1]] == [[]] * (len(parts) - 1)
    pressed = [row[0]["callback_data"] for row in keyboard(parts[-1])]
    assert pressed == ["What are the risks of KPO?", "/ask_which_better"]


def test_slack_replies_are_escaped_split_and_keep_their_buttons(fakes):
    async def send() -> None:
        await SlackOutput(SLACK_TOKEN, api_url=f"{fakes.slack.url}/api/") \
            .send_text_with_buttons("C_LONG", LONG_ANSWER, BUTTONS)

    asyncio.run(send())
    parts = slack_messages(fakes, "C_LONG")
    assert len(parts) >= 3 and all(part["response"]["ok"] for part in parts), parts[-1]["response"]
    sections = [part["params"]["blocks"][0]["text"]["text"] for part in parts]
    assert not any("<" in section or ">" in section for section in sections)
    assert html.unescape(" ".join(sections)).split() == LONG_ANSWER.split()
    assert [len(part["params"]["blocks"]) for part in parts] == [1] * (len(parts) - 1) + [2]
    labels = [b["text"]["text"] for b in parts[-1]["params"]["blocks"][1]["elements"]]
    assert labels[0] == "What are the risks of KPO?" and labels[1].endswith("…")
    assert [b["value"] for b in parts[-1]["params"]["blocks"][1]["elements"]] == \
        [b["payload"] for b in BUTTONS]


# --- Callback ---------------------------------------------------------------------------------

def to_callback(bot: Assistant, sender: str, text: str, token: str = CALLBACK_TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.post(f"{bot.url}/webhooks/callback/webhook", headers=headers, timeout=60,
                         json={"sender": sender, "message": text})


def delivered_to(fakes, sender: str) -> list:
    return [call["params"] for call in fakes.receiver.calls("/bot")
            if call["params"].get("recipient_id") == sender]


def test_a_callback_message_has_its_replies_posted_back(bot, fakes):
    answer = to_callback(bot, "callback-user", "what is kpo")
    assert answer.status_code == 200
    [reply] = delivered_to(fakes, "callback-user")
    assert "Knowledge Process Outsourcing" in reply["text"]
    assert 2 <= len(reply["buttons"]) <= 3
    assert all(b["payload"].startswith("/ask_") for b in reply["buttons"])


@pytest.mark.parametrize("sender", ["refuse-user", "drop-user"])
def test_replies_the_callback_url_refuses_or_drops_go_back_to_the_sender(bot, fakes, sender):
    answer = to_callback(bot, sender, "what is kpo")
    assert answer.status_code == 502
    [reply] = answer.json()["undelivered"]
    assert "Knowledge Process Outsourcing" in reply["text"] and reply["recipient_id"] == sender
    assert len(delivered_to(fakes, sender)) == 1  # tried once


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_the_callback_webhook_requires_its_token(bot, fakes, token):
    sender = f"intruder-{next(ids)}"
    assert to_callback(bot, sender, "what is kpo", token).status_code == 401
    assert not delivered_to(fakes, sender)


# --- Channels off by default ------------------------------------------------------------------

def test_the_default_assistant_runs_no_telegram_slack_or_callback(assistant):
    assert requests.get(f"{assistant.url}/webhooks/rest/", timeout=10).status_code == 200
    for channel in ("telegram", "slack", "callback"):
        assert requests.get(f"{assistant.url}/webhooks/{channel}/", timeout=10).status_code == 404
