"""Safe defaults and hostile input, against the running servers on loopback (docs/security.md):
the HTTP API off by default and JWT-only when on, CORS for configured origins only, the REST and
callback webhooks refusing calls without their token and messages without a sender of their
own, the action server on loopback refusing calls without its secret and never echoing what it
was sent, body, length and rate limits, and a fuzz run against each webhook."""
import json
import multiprocessing
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import uuid

import jwt
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.adapters import HTTPAdapter

from channels.rest import MESSAGE_MAX_LENGTH, TOO_LONG_REPLY
from harness.fakes import FakeServer
from harness.launcher import PROJECT, Assistant, free_port, process_tree
from runtime.rate_limits import RateLimit

JWT_SECRET = "-" + secrets.token_urlsafe(32)  # as one generated secret in 64 starts
ACTION_TOKEN = secrets.token_urlsafe(32)
CALLBACK_TOKEN = secrets.token_urlsafe(32)
ALLOWED_ORIGIN = "https://careers.example.com"
SENDER_LIMIT, ADDRESS_LIMIT = 20, 100  # messages a minute
WRONG_TOKEN_LIMIT = 30  # requests with a wrong token a minute (other tests send some from here)
MAX_BODY = 64 * 1024


class FromAddress(HTTPAdapter):
    """Connects from a loopback address of its own (all of 127.0.0.0/8 is loopback), so a
    test can be a client with an address of its own."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(self.address, 0), **kwargs)


def client_at(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


@pytest.fixture(scope="module")
def receiver():
    server = FakeServer("callback_receiver", free_port())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def guarded(receiver, tmp_path_factory) -> Assistant:
    """The assistant with the HTTP API on (JWT), one allowed CORS origin, the callback channel,
    and low rate limits."""
    running = Assistant(tmp_path_factory.mktemp("security"), env={
        "ACTION_SERVER_TOKEN": ACTION_TOKEN,
        "CALLBACK_URL": f"{receiver.url}/bot", "CALLBACK_TOKEN": CALLBACK_TOKEN,
        "ASSISTANT_RATE_LIMIT_SENDER": str(SENDER_LIMIT),
        "ASSISTANT_RATE_LIMIT_ADDRESS": str(ADDRESS_LIMIT),
        "ASSISTANT_RATE_LIMIT_WRONG_TOKEN": str(WRONG_TOKEN_LIMIT),
    }, rasa_args=["--enable-api", f"--jwt-secret={JWT_SECRET}", "--cors", ALLOWED_ORIGIN])
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


def api_token(secret: str = JWT_SECRET, role: str = "admin", username: str = "ops",
              valid_for: int = 3600) -> str:
    """A JWT for Rasa's HTTP API, minted as docs/security.md shows."""
    return jwt.encode({"user": {"username": username, "role": role},
                       "exp": int(time.time()) + valid_for}, secret, algorithm="HS256")


def user_messages(bot: Assistant, sender: str) -> list:
    """What the tracker of `sender` holds of the user's messages (read through the HTTP API)."""
    answer = requests.get(f"{bot.url}/conversations/{sender}/tracker", timeout=30,
                          headers={"Authorization": f"Bearer {api_token()}"})
    answer.raise_for_status()
    return [event["text"] for event in answer.json()["events"] if event["event"] == "user"]


def post_rest(bot: Assistant, body, headers=None, client=requests, **kwargs):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(bot.webhook, data=data, timeout=60,
                       headers={**bot.rest_headers, "Content-Type": "application/json",
                                **(headers or {})}, **kwargs)


def new_sender() -> str:
    return uuid.uuid4().hex


# --- The HTTP API and CORS --------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [("POST", "/model/parse"), ("GET", "/status"),
                                          ("GET", "/conversations/someone/tracker"),
                                          ("POST", "/conversations/someone/messages")])
def test_the_http_api_is_off_by_default(assistant, method, path):
    answer = requests.request(method, f"{assistant.url}{path}", json={"text": "hi"}, timeout=10)
    assert answer.status_code == 404


def test_the_http_api_when_on_takes_only_a_valid_jwt(guarded):
    parse = f"{guarded.url}/model/parse"
    assert requests.post(parse, json={"text": "what is kpo"}, timeout=30).status_code == 401
    # Forged, and expired.
    for token in (api_token(secret=secrets.token_urlsafe(32)), api_token(valid_for=-600)):
        assert requests.post(parse, json={"text": "what is kpo"}, timeout=30,
                             headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # Rasa's query-string token is not switched on: a JWT secret is not a token.
    assert requests.post(f"{parse}?token={JWT_SECRET}", json={"text": "what is kpo"},
                         timeout=30).status_code == 401
    answer = requests.post(parse, json={"text": "what is kpo"}, timeout=30,
                           headers={"Authorization": f"Bearer {api_token()}"})
    assert answer.status_code == 200 and answer.json()["intent"]["name"]


def strange_tokens() -> dict:
    """Tokens signed with the secret (or not signed) that are still not valid."""
    user = {"user": {"username": "ops", "role": "admin"}}
    fresh = {**user, "exp": int(time.time()) + 3600}
    secret = JWT_SECRET.encode() * 2  # long enough for HS512: PyJWT warns of shorter keys
    return {
        "expired 30 s ago": jwt.encode({**user, "exp": int(time.time()) - 30}, JWT_SECRET,
                                       algorithm="HS256"),
        "without exp": jwt.encode(user, JWT_SECRET, algorithm="HS256"),
        "HS384": jwt.encode(fresh, secret, algorithm="HS384"),
        "HS512": jwt.encode(fresh, secret, algorithm="HS512"),
        "alg none": jwt.encode(fresh, None, algorithm="none"),
        "empty header and payload": "e30.e30.",
        "not a token": "e30",
    }


@pytest.mark.parametrize("kind", list(strange_tokens()))
def test_the_http_api_answers_401_to_every_token_but_a_fresh_hs256_one(guarded, kind):
    """No leeway beyond a few seconds (sanic-jwt's is 3 minutes), `exp` required, one algorithm;
    401, never a 500 with a traceback (runtime/api_tokens.py)."""
    headers = {"Authorization": f"Bearer {strange_tokens()[kind]}"}
    for method, path in (("GET", "/status"), ("GET", "/conversations/someone/tracker")):
        answer = requests.request(method, f"{guarded.url}{path}", headers=headers, timeout=30)
        assert answer.status_code == 401, (kind, path, answer.text[:200])


def test_a_user_jwt_reads_its_own_conversation_only(guarded):
    mine, theirs = new_sender(), new_sender()
    guarded.send(mine, "what is kpo")
    guarded.send(theirs, "what is bpo")
    headers = {"Authorization": f"Bearer {api_token(role='user', username=mine)}"}
    tracker = f"{guarded.url}/conversations/{{}}/tracker"
    assert requests.get(tracker.format(mine), headers=headers, timeout=30).status_code == 200
    assert requests.get(tracker.format(theirs), headers=headers, timeout=30).status_code == 403


@pytest.mark.parametrize("origin, allowed", [(ALLOWED_ORIGIN, True),
                                             ("https://evil.example", False)])
def test_cors_allows_the_configured_origins_only(guarded, origin, allowed):
    preflight = requests.options(guarded.webhook, timeout=10, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    answer = post_rest(guarded, {"sender": new_sender(), "message": "hi"},
                       headers={"Origin": origin})
    for response in (preflight, answer):
        assert (response.headers.get("Access-Control-Allow-Origin") == origin) is allowed


def test_without_cors_origins_no_origin_is_allowed(assistant):
    answer = requests.post(assistant.webhook, json={"sender": new_sender(), "message": "hi"},
                           headers={**assistant.rest_headers, "Origin": ALLOWED_ORIGIN},
                           timeout=30)
    assert answer.status_code == 200 and "Access-Control-Allow-Origin" not in answer.headers


# --- The REST webhook: token, sender, hijacking ------------------------------------------------

@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer not-the-token",
                                           "Basic dXNlcjpwYXNz", "TOKEN", "bearer TOKEN",
                                           "Bearer TOKENx", "Bearer  TOKEN"])
def test_the_rest_webhook_refuses_calls_without_its_token(guarded, authorization):
    sender = new_sender()
    headers = {"Authorization": authorization.replace("TOKEN", guarded.rest_token)} \
        if authorization is not None else {}
    answer = requests.post(guarded.webhook, json={"sender": sender, "message": "what is kpo"},
                           headers=headers, timeout=30)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"
    assert user_messages(guarded, sender) == []


def test_the_token_is_not_taken_from_the_query_string(guarded):
    sender = new_sender()
    answer = requests.post(f"{guarded.webhook}?token={guarded.rest_token}", timeout=30,
                           json={"sender": sender, "message": "what is kpo"})
    assert answer.status_code == 401


def test_another_senders_conversation_cannot_be_written_or_read_without_the_token(guarded):
    victim = new_sender()
    guarded.send(victim, "what is kpo")
    before = user_messages(guarded, victim)
    hijack = requests.post(guarded.webhook, timeout=30,
                           json={"sender": victim, "message": "what are its risks?"})
    assert hijack.status_code == 401 and hijack.text.count("Outsourcing") == 0
    assert user_messages(guarded, victim) == before == ["what is kpo"]
    # The conversation's context is the victim's alone: its follow-up is still about KPO.
    follow_up = guarded.send(victim, "what are its risks?")
    assert "intellectual property" in " ".join(m.get("text", "") for m in follow_up)


@pytest.mark.parametrize("body", [
    {"message": "what is kpo"}, {"sender": None, "message": "what is kpo"},
    {"sender": "", "message": "what is kpo"}, {"sender": "   ", "message": "what is kpo"},
    {"sender": 42, "message": "what is kpo"}, {"sender": ["a"], "message": "what is kpo"},
    {"sender": {"id": "a"}, "message": "what is kpo"},
    {"sender": "x" * 129, "message": "what is kpo"},
    {"sender": "line\nbreak", "message": "what is kpo"},
    {"sender": "nul\x00", "message": "what is kpo"},
], ids=lambda body: repr(body.get("sender", "missing"))[:20])
def test_a_message_without_a_sender_of_its_own_is_refused_not_filed_under_default(guarded,
                                                                                  body):
    answer = post_rest(guarded, body)
    assert answer.status_code == 400 and "sender" in answer.json()["error"]
    assert user_messages(guarded, "default") == []


@pytest.mark.parametrize("body", [
    {"sender": "s", "message": None}, {"sender": "s"}, {"sender": "s", "message": 42},
    {"sender": "s", "message": ["what is kpo"]}, {"sender": "s", "message": {"text": "hi"}},
    {"sender": "s", "message": "hi", "metadata": ["not", "an", "object"]},
    {"sender": "s", "message": "hi", "metadata": "text"},
    {"sender": "s", "message": "hi", "metadata": json.loads('{"a":' * 9 + '1' + '}' * 9)},
    ('{"sender": "s", "message": "hi", "metadata": ' + '{"a":' * 5000 + '1' + '}' * 5001).encode(),
    ["sender", "message"], "a string", 42, None,
])
def test_other_json_is_refused_with_400(guarded, body):
    answer = post_rest(guarded, body)
    assert answer.status_code == 400 and answer.json()["error"]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", '[1, {"deep": NaN}]'])
def test_metadata_holding_nan_is_refused_not_stored_as_invalid_json(guarded, value):
    sender = new_sender()
    body = f'{{"sender": "{sender}", "message": "hi", "metadata": {{"x": {value}}}}}'
    answer = post_rest(guarded, body.encode())
    assert answer.status_code == 400 and "NaN" in answer.json()["error"]
    assert user_messages(guarded, sender) == []


@pytest.mark.parametrize("body", [b"", b"{", b"not json", b"\xff\xfe\x00", b'{"sender": "s",'])
def test_a_body_that_is_not_json_is_refused_with_400(guarded, body):
    assert post_rest(guarded, body).status_code == 400


def test_user_text_reaches_the_log_escaped(guarded):
    """A message starting with "/" that is no intent is warned about with its text; a newline in
    it must not forge a log line, nor a terminal escape sequence land raw (runtime/log_text.py)."""
    marker = uuid.uuid4().hex
    for text in (f"/{marker}\nERROR forged line {marker}", f"/{marker}-esc\x1b[31mred\x07",
                 f"/{marker}-cr\rERROR overwritten {marker}"):
        assert post_rest(guarded, {"sender": new_sender(), "message": text}).status_code == 200
    deadline = time.monotonic() + 10
    while True:
        log = guarded.log("rasa").read_text(errors="replace")
        if log.count(marker) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert f"\\nERROR forged line {marker}" in log and "\\x1b[31mred\\x07" in log
    assert f"\\rERROR overwritten {marker}" in log
    assert not re.search(r"^ERROR (forged|overwritten)", log, re.MULTILINE)
    assert "\x1b[31m" not in log and "\x07" not in log and "\r" not in log


def test_metadata_reaches_the_tracker(guarded):
    sender = new_sender()
    answer = post_rest(guarded, {"sender": sender, "message": "what is kpo",
                                 "metadata": {"page": "/careers", "utm": {"source": "mail"}}})
    assert answer.status_code == 200 and answer.json()
    assert user_messages(guarded, sender) == ["what is kpo"]


# --- Limits -----------------------------------------------------------------------------------

def test_bodies_over_64_kb_are_refused_with_413(guarded):
    sender = new_sender()
    padding = "x" * (MAX_BODY - 100)  # a body just under the limit is read (and answered)
    answer = post_rest(guarded, {"sender": sender, "message": padding})
    assert answer.status_code == 200 and answer.json()[0]["text"] == TOO_LONG_REPLY
    for url in (guarded.webhook, f"{guarded.url}/webhooks/callback/webhook",
                f"{guarded.url}/model/parse"):
        over = requests.post(url, data=b"x" * (MAX_BODY + 1), headers=guarded.rest_headers,
                             timeout=30)
        assert over.status_code == 413, url


def test_a_message_over_the_length_limit_gets_a_friendly_reply_without_reaching_nlu(guarded):
    sender = new_sender()
    at_limit = " ".join(["what is kpo"] * (MESSAGE_MAX_LENGTH // 12))
    assert len(at_limit) > MESSAGE_MAX_LENGTH - 12
    assert "Source:" in " ".join(m.get("text", "") for m in guarded.send(sender, at_limit))
    over = guarded.send(sender, "x" * (MESSAGE_MAX_LENGTH + 1))
    assert over == [{"recipient_id": sender, "text": TOO_LONG_REPLY}]
    assert user_messages(guarded, sender) == [at_limit]  # the long one never reached Rasa


def until_refused(send, limit: int):
    """Sends until refused (a bucket refills while the messages go, so a few more may pass):
    the number that passed and the refusal."""
    for passed in range(2 * limit):
        answer = send()
        if answer.status_code == 429:
            return passed, answer
        assert answer.status_code < 500
    raise AssertionError(f"{2 * limit} messages passed a limit of {limit}")


def test_a_sender_over_its_rate_limit_gets_429_with_retry_after(guarded):
    client, sender = client_at("127.0.0.5"), new_sender()
    too_long = "x" * (MESSAGE_MAX_LENGTH + 1)  # answered without NLU: quick
    passed, refused = until_refused(lambda: post_rest(
        guarded, {"sender": sender, "message": too_long}, client=client), SENDER_LIMIT)
    assert passed >= SENDER_LIMIT
    assert 1 <= int(refused.headers["Retry-After"]) <= 60 / SENDER_LIMIT + 1
    assert "try again" in refused.json()["error"]
    # Other senders, at the same address, are not held up.
    assert post_rest(guarded, {"sender": new_sender(), "message": "what is kpo"},
                     client=client).status_code == 200


def test_an_address_over_its_rate_limit_gets_429_with_retry_after(guarded):
    client = client_at("127.0.0.6")
    passed, refused = until_refused(lambda: post_rest(guarded, b"not json", client=client),
                                    ADDRESS_LIMIT)
    assert passed >= ADDRESS_LIMIT and int(refused.headers["Retry-After"]) >= 1
    # A forwarded-for header is not believed (Rasa is not told it is behind a proxy): the
    # address stays limited (were it believed, ADDRESS_LIMIT more would pass).
    spoofed, _ = until_refused(lambda: post_rest(
        guarded, b"not json", client=client,
        headers={"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"}), ADDRESS_LIMIT)
    assert spoofed <= 2
    assert post_rest(guarded, {"sender": new_sender(), "message": "hi"},
                     client=client_at("127.0.0.7")).status_code == 200


@pytest.mark.parametrize("webhook", ["rest", "callback"])
def test_wrong_token_guesses_from_an_address_are_limited(guarded, webhook):
    """After WRONG_TOKEN_LIMIT wrong tokens in a minute an address gets 429 whatever it sends,
    the right token too (else guessing would go on); other addresses are not held up."""
    url = f"{guarded.url}/webhooks/{webhook}/webhook"
    right = guarded.rest_token if webhook == "rest" else CALLBACK_TOKEN
    guesser = client_at("127.0.3.1" if webhook == "rest" else "127.0.3.2")
    body = {"sender": new_sender(), "message": "hi"}
    statuses = [guesser.post(url, json=body, timeout=30, headers={
        "Authorization": f"Bearer {secrets.token_urlsafe(8)}"}).status_code for _ in range(300)]
    assert statuses[:WRONG_TOKEN_LIMIT] == [401] * WRONG_TOKEN_LIMIT
    assert set(statuses[WRONG_TOKEN_LIMIT:]) == {429}
    refused = guesser.post(url, json=body, timeout=30,
                           headers={"Authorization": f"Bearer {right}"})
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    other = client_at("127.0.3.3").post(url, json=body, timeout=60,
                                        headers={"Authorization": f"Bearer {right}"})
    assert other.status_code == 200


def test_a_token_bucket_lets_a_steady_client_through_and_stops_a_burst():
    now = [0.0]
    limit = RateLimit(60, max_keys=3, clock=lambda: now[0])
    assert [limit.retry_after("a") for _ in range(60)] == [None] * 60
    assert limit.retry_after("a") == 1
    now[0] += 1.0  # one message a second refills
    assert limit.retry_after("a") is None and limit.retry_after("a") == 1
    assert limit.retry_after("b") is None
    for key in "cde":  # the least recently used keys are forgotten past max_keys
        now[0] += 0.001
        limit.retry_after(key)
    assert limit.retry_after("a") is None  # forgotten: a full bucket again
    assert all(RateLimit(0).retry_after("a") is None for _ in range(1000))
    assert RateLimit.from_setting("", 30).per_minute == 30
    assert RateLimit.from_setting("0", 30).per_minute == 0
    for bad in ("-1", "many", "1.5"):
        with pytest.raises(ValueError):
            RateLimit.from_setting(bad, 30)


def test_processes_forked_after_a_limit_share_its_buckets():
    """Rasa's workers are forked after the channels make their limits (runtime/workers.py)."""
    limit = RateLimit(10)
    worker = multiprocessing.get_context("fork").Process(
        target=lambda: [limit.retry_after("client") for _ in range(10)])
    worker.start()
    worker.join()
    assert worker.exitcode == 0
    assert limit.retry_after("client") is not None  # the other worker's ten count here too
    assert limit.retry_after("another client") is None


# --- The callback webhook ---------------------------------------------------------------------

def post_callback(bot: Assistant, body, token: str = CALLBACK_TOKEN):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return requests.post(f"{bot.url}/webhooks/callback/webhook", data=data, timeout=60,
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "application/json"})


def test_the_callback_webhook_takes_messages_as_the_rest_one_does(guarded, receiver):
    assert post_callback(guarded, {"message": "what is kpo"}).status_code == 400
    assert post_callback(guarded, [1, 2]).status_code == 400
    assert post_callback(guarded, b"\xff").status_code == 400
    assert post_callback(guarded, {"sender": "s", "message": "hi"}, "wrong").status_code == 401
    sender = new_sender()
    answer = post_callback(guarded, {"sender": sender, "message": "x" * (MESSAGE_MAX_LENGTH + 1)})
    assert answer.status_code == 200 and answer.text == "success"
    posted = [call["params"] for call in receiver.calls("/bot")
              if call["params"].get("recipient_id") == sender]
    assert posted == [{"recipient_id": sender, "text": TOO_LONG_REPLY}]
    assert user_messages(guarded, sender) == []


# --- The action server ------------------------------------------------------------------------

def action_call(text: str) -> dict:
    return {"next_action": "action_answer_question", "sender_id": "s", "version": "3.6.21",
            "domain": {}, "tracker": {"sender_id": "s", "slots": {}, "events": [],
                                      "latest_message": {"text": text, "intent": {}}}}


def outward_address() -> str:
    """An address of this machine other than loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def test_the_action_server_listens_on_loopback_only(guarded):
    address = outward_address()
    if address.startswith("127."):
        pytest.skip("this machine has no address but loopback")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address, guarded.action_port), timeout=5).close()


@pytest.mark.parametrize("authorization", [None, "", "Bearer not-the-token", ACTION_TOKEN])
def test_the_action_server_refuses_calls_without_its_secret(guarded, authorization):
    url = f"http://127.0.0.1:{guarded.action_port}"
    headers = {"Authorization": authorization} if authorization is not None else {}
    assert requests.post(f"{url}/webhook", json=action_call("what is kpo"), headers=headers,
                         timeout=30).status_code == 401
    assert requests.get(f"{url}/actions", headers=headers, timeout=30).status_code == 401
    assert requests.get(f"{url}/health", timeout=30).status_code == 200


def test_a_failing_action_echoes_nothing_it_was_sent(guarded):
    canary = f"private message {secrets.token_hex(8)}"
    call = action_call(canary)
    call["tracker"]["latest_message"] = canary  # a string, not a message: the action fails
    answer = requests.post(f"http://127.0.0.1:{guarded.action_port}/webhook", json=call,
                           headers={"Authorization": f"Bearer {ACTION_TOKEN}"}, timeout=30)
    assert answer.status_code == 500 and canary not in answer.text
    time.sleep(0.5)  # the log is written by another process
    log = guarded.log("actions").read_text()
    assert "failed" in log and canary not in log


def test_the_action_server_does_not_start_without_a_secret():
    env = {key: value for key, value in os.environ.items() if key != "ACTION_SERVER_TOKEN"}
    started = subprocess.run([sys.executable, "-m", "actions.server", "--port",
                              str(free_port())], cwd=PROJECT, env=env, capture_output=True,
                             text=True, timeout=120)
    assert started.returncode != 0 and "ACTION_SERVER_TOKEN" in started.stderr


# --- Secrets for `make run` -------------------------------------------------------------------

def tokens(tmp_path, env=None) -> dict:
    exports = subprocess.run([sys.executable, "-m", "runtime.tokens", str(tmp_path / ".env")],
                             cwd=PROJECT, env={"PATH": os.environ["PATH"], **(env or {})},
                             capture_output=True, text=True, check=True).stdout
    return dict(re.findall(r"^export (\w+)=(\S+)$", exports, re.M))


def test_make_run_generates_tokens_into_a_private_ignored_env_file_once(tmp_path):
    first = tokens(tmp_path)
    assert set(first) == {"ASSISTANT_REST_TOKEN", "ACTION_SERVER_TOKEN"}
    assert all(len(token) >= 40 for token in first.values())
    assert first == tokens(tmp_path)  # kept, not generated again
    assert oct((tmp_path / ".env").stat().st_mode & 0o777) == "0o600"
    # A token set in the environment wins, and is neither printed nor saved.
    from_env = f"from-env-{secrets.token_urlsafe(32)}"
    assert set(tokens(tmp_path, {"ASSISTANT_REST_TOKEN": from_env})) == {"ACTION_SERVER_TOKEN"}
    assert from_env not in (tmp_path / ".env").read_text()
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=PROJECT)
    assert ignored.returncode == 0


@pytest.mark.parametrize("where", ["environment", ".env"])
def test_make_run_refuses_a_short_rest_token_unless_told_it_is_a_local_test(tmp_path, where):
    short = "x" * 31
    env = {"ASSISTANT_REST_TOKEN": short} if where == "environment" else {}
    if where == ".env":
        (tmp_path / ".env").write_text(f"ASSISTANT_REST_TOKEN={short}\n")
    refused = subprocess.run([sys.executable, "-m", "runtime.tokens", str(tmp_path / ".env")],
                             cwd=PROJECT, env={"PATH": os.environ["PATH"], **env},
                             capture_output=True, text=True)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "at least 32" in refused.stderr and "ASSISTANT_LOCAL_TEST=1" in refused.stderr
    local = tokens(tmp_path, {**env, "ASSISTANT_LOCAL_TEST": "1"})
    assert local.get("ASSISTANT_REST_TOKEN", short) == short
    assert len(tokens(tmp_path, {"ASSISTANT_REST_TOKEN": "y" * 32})["ACTION_SERVER_TOKEN"]) >= 40


# --- Hostile input ----------------------------------------------------------------------------

FUZZ_EXAMPLES = 500  # per webhook: enough to find what the earlier runs found, in make test's time
CONTROL_CHARS = st.characters(categories=["Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"])
EVERY_PLANE = st.integers(0, 16).flatmap(
    lambda plane: st.integers(plane << 16, (plane << 16) | 0xFFFF)).map(chr)
HOSTILE_TEXT = st.text(st.one_of(st.characters(codec=None), CONTROL_CHARS, EVERY_PLANE),
                       max_size=200)
LONG_TEXT = st.tuples(st.integers(1900, 2100), st.sampled_from("xé🙂\x00\u202e")).map(
    lambda n_char: n_char[1] * n_char[0])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | HOSTILE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(HOSTILE_TEXT, inner, max_size=4),
    max_leaves=12)
SENDERS = st.one_of(st.uuids().map(str), HOSTILE_TEXT, JSON_VALUES)
MESSAGES = st.one_of(HOSTILE_TEXT, LONG_TEXT, JSON_VALUES,
                     st.sampled_from(["what is kpo", "/ask_risks", "/ask_risks{\"process\": 1}",
                                      "/restart", "/session_start", "/nonexistent"]))


def encoded(value) -> bytes:
    return json.dumps(value).encode("utf-8", "surrogatepass")


def nested(depth: int) -> list:
    shape = "[" * depth + "]" * depth
    return [shape, '{"a":' * depth + "1" + "}" * depth,
            '{"sender": "deep", "message": "hi", "metadata": ' + '{"a":' * depth + "1" +
            "}" * depth + "}"]


# Well-formed messages with hostile text: these reach NLU and the action server.
HOSTILE_MESSAGES = st.builds(lambda sender, text: {"sender": sender, "message": text},
                             st.uuids().map(str), MESSAGES).map(encoded)
BODIES = st.one_of(
    HOSTILE_MESSAGES, HOSTILE_MESSAGES,
    st.binary(max_size=500),  # random bytes
    HOSTILE_TEXT.map(lambda text: text.encode("utf-8", "surrogatepass")),  # mostly invalid JSON
    JSON_VALUES.map(encoded),  # valid JSON of every type
    st.fixed_dictionaries({"sender": SENDERS, "message": MESSAGES},  # wrong types, bad senders
                          optional={"metadata": JSON_VALUES, "input_channel": JSON_VALUES}
                          ).map(encoded),
    st.integers(1, 12_000).flatmap(lambda depth: st.sampled_from(nested(depth))).map(str.encode),
    st.integers(MAX_BODY - 200, MAX_BODY + 5000).flatmap(lambda size: st.sampled_from([
        b"x" * size, encoded({"sender": "huge", "message": "y" * size}), b"[" * size])),
    st.just(b""), st.just(b"{}"), st.just(b"null"),
)
CONTENT_TYPES = st.sampled_from(["application/json", "text/plain", "", "multipart/form-data; "
                                 "boundary=x", "application/x-www-form-urlencoded",
                                 "application/json; charset=utf-16"])


def rss_mb(pid: int) -> float:
    """Resident memory of Rasa's processes: the parent and its workers (runtime/workers.py)."""
    return sum(int(re.search(r"VmRSS:\s+(\d+) kB", open(f"/proc/{process}/status").read())
                   .group(1)) for process in process_tree(pid)) / 1024


def fuzz(url: str, authorization: str, examples: int) -> dict:
    """Posts `examples` hostile requests to the webhook, each from one of 200 loopback
    addresses (so the per-address limit is not what answers); the statuses seen."""
    clients, statuses = {}, {}

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(body=BODIES, content_type=CONTENT_TYPES,
           with_token=st.sampled_from([True] * 9 + [False]), address=st.integers(1, 200))
    def post(body, content_type, with_token, address):
        client = clients.setdefault(address, client_at(f"127.0.1.{address}"))
        headers = {"Content-Type": content_type} if content_type else {}
        if with_token:  # about one in ten without
            headers["Authorization"] = authorization
        status = client.post(url, data=body, headers=headers, timeout=60).status_code
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, (status, body[:300], content_type)

    post()
    return statuses


def test_hostile_input_never_breaks_the_server_or_other_conversations(guarded, receiver,
                                                                       capsys):
    callback = f"{guarded.url}/webhooks/callback/webhook"
    control = new_sender()
    guarded.send(control, "what is kpo")
    fuzz(guarded.webhook, guarded.rest_headers["Authorization"], 30)  # warm-up
    before = rss_mb(guarded.rasa_pid)
    started = time.monotonic()
    statuses = {"rest": fuzz(guarded.webhook, guarded.rest_headers["Authorization"],
                             FUZZ_EXAMPLES),
                "callback": fuzz(callback, f"Bearer {CALLBACK_TOKEN}", FUZZ_EXAMPLES)}
    seconds = time.monotonic() - started
    after = rss_mb(guarded.rasa_pid)
    report = (f"fuzz: {sum(sum(s.values()) for s in statuses.values())} hostile requests in "
              f"{seconds:.0f} s, statuses {statuses}; Rasa RSS {before:.0f} -> {after:.0f} MB")
    (guarded.log("rasa").parent / "fuzz-report.txt").write_text(report + "\n")
    with capsys.disabled():
        print(f"\n{report}")

    assert requests.get(f"{guarded.url}/webhooks/rest/", timeout=10).status_code == 200
    follow_up = guarded.send(control, "what are its risks?")
    assert "intellectual property" in " ".join(m.get("text", "") for m in follow_up)
    assert user_messages(guarded, control) == ["what is kpo", "what are its risks?"]
    assert user_messages(guarded, "default") == []
    assert after - before < 50, report
