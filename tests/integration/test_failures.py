"""Failures end to end over REST: each one answered with a friendly message and an honest
status, never Rasa's silent `200 []` or a turn lost while the user gets a normal reply
(runtime/turn_failures.py, stores/fail_loud.py, stores/lock.py)."""
import asyncio
import json
import os
import re
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest
import requests
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered

from harness.launcher import ARTIFACTS, PROJECT, Assistant, free_port
from harness.production_stores import POSTGRES_USER, FaultProxy
from runtime.turn_failures import ACTION_FAILED, ACTION_TIMED_OUT, STILL_BUSY, STORE_DOWN
from stores.lock import AtomicRedisLockStore
from stores.tracker import WindowedSQLTrackerStore

SECRET = "zanzibar-quokka"  # in the user's message: must never reach the log


def new_user() -> str:
    return f"failures-{uuid.uuid4().hex[:8]}"


def post(assistant: Assistant, sender: str, text: str, timeout: float = 60) -> requests.Response:
    return requests.post(assistant.webhook, json={"sender": sender, "message": text},
                         headers=assistant.rest_headers, timeout=timeout)


def texts(response: requests.Response) -> str:
    return " ".join(m.get("text", "") for m in response.json())


def rasa_log(assistant: Assistant) -> str:
    return (ARTIFACTS / f"rasa-{os.getpid()}-{assistant.rasa_port}.log").read_text()


class BrokenActionServer(BaseHTTPRequestHandler):
    """An action server that fails like rasa_sdk's does (500, the request echoed in the body)
    or takes 60 s to answer."""
    mode = "fail"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if BrokenActionServer.mode == "slow":
            time.sleep(60)
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"error": "boom", "request": body.decode()}).encode())

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def broken_actions():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), BrokenActionServer)
    server.daemon_threads = True
    Thread(target=server.serve_forever, daemon=True).start()
    proxy = FaultProxy(server.server_address)
    yield proxy
    proxy.stop()
    server.shutdown()


@pytest.fixture(scope="module")
def with_broken_actions(tmp_path_factory, broken_actions):
    assistant = Assistant(tmp_path_factory.mktemp("broken-actions"), env={
        "ACTION_SERVER_URL": f"http://127.0.0.1:{broken_actions.port}/webhook",
        "ACTION_TIMEOUT": "3"})
    try:
        assistant.wait_until_ready()  # "hi" needs no custom action
        yield assistant
    finally:
        assistant.stop()


def test_an_action_server_error_gets_an_apology_and_its_body_stays_out_of_the_log(
        with_broken_actions):
    BrokenActionServer.mode = "fail"
    response = post(with_broken_actions, new_user(), f"what is kpo {SECRET}")
    assert response.status_code == 200 and texts(response) == ACTION_FAILED
    log = rasa_log(with_broken_actions)
    # The action depends on how NLU reads the message with the secret in it; the log names it.
    assert re.search(r"action_answer_\w+ failed \(ClientResponseError, status 500\)", log)
    assert SECRET not in log


def test_an_action_server_that_is_down_gets_an_apology(with_broken_actions, broken_actions):
    broken_actions.cut()
    try:
        response = post(with_broken_actions, new_user(), "what is bpo")
    finally:
        broken_actions.heal()
    assert response.status_code == 200 and texts(response) == ACTION_FAILED


def test_a_slow_action_times_out_in_seconds_with_an_apology(with_broken_actions):
    BrokenActionServer.mode = "slow"
    started = time.monotonic()
    response = post(with_broken_actions, new_user(), "what is kpo", timeout=30)
    assert texts(response) == ACTION_TIMED_OUT and time.monotonic() - started < 15
    BrokenActionServer.mode = "fail"


# --- Production stores down -------------------------------------------------------------------

@pytest.fixture(scope="module")
def production(tmp_path_factory, stores):
    assistant = Assistant(tmp_path_factory.mktemp("production"),
                          env=stores.env(LOCK_WAIT_TIMEOUT="2"))
    try:
        assistant.wait_until_ready()
        yield assistant
    finally:
        assistant.stop()


def until_answered(assistant, sender, text, within: float = 30) -> requests.Response:
    """What a client told to retry does: send again until the turn is taken."""
    deadline = time.monotonic() + within
    while True:
        response = post(assistant, sender, text)
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def broker_user_texts(stores, user, expected: int, within: float = 60) -> list:
    """The user's messages the broker received, once it has `expected` of them or `within`
    seconds passed (events go out through the outbox relay, asynchronously)."""
    deadline = time.monotonic() + within
    while True:
        texts_ = [e["text"] for e in stores.broker_events() if e["sender_id"] == user
                  and e["event"] == "user"]
        if len(texts_) >= expected or time.monotonic() > deadline:
            return texts_


def test_a_tracker_store_that_is_down_refuses_the_turn_and_stores_nothing_of_it(
        production, stores):
    user = new_user()
    assert post(production, user, "what is kpo").status_code == 200
    stores.postgres.cut()
    try:
        refused = post(production, user, f"what is bpo {SECRET}")
    finally:
        stores.postgres.heal()
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert texts(refused) == STORE_DOWN
    assert "Business Process Outsourcing" in texts(until_answered(production, user, "what is bpo"))
    assert [turn["text"] for turn in stores.user_turns()[user]] == ["what is kpo", "what is bpo"]
    assert broker_user_texts(stores, user, 2) == ["what is kpo", "what is bpo"]
    assert SECRET not in rasa_log(production)


def test_the_first_turn_after_postgresql_comes_back_is_stored(stores):
    """Connections an outage broke stay pooled until their next use: that use must reconnect,
    not refuse the first message of each worker once the database is back."""
    async def turn(tracker_store, text):
        tracker = await tracker_store.get_or_create_tracker("u")
        tracker.update(UserUttered(text))
        await tracker_store.save(tracker)

    async def scenario():
        windowed = WindowedSQLTrackerStore(domain=Domain.load(PROJECT / "domain.yml"),
                                           dialect="postgresql", host="127.0.0.1",
                                           port=stores.postgres.port, username=POSTGRES_USER,
                                           db=stores.database)
        await turn(windowed, "before the outage")
        stores.postgres.cut()
        stores.postgres.heal()
        await turn(windowed, "after it")
        tracker = await windowed.retrieve("u")
        return [e.text for e in tracker.events if isinstance(e, UserUttered)]

    assert asyncio.run(scenario()) == ["before the outage", "after it"]


def test_a_lock_store_that_is_down_refuses_the_turn(production, stores):
    user = new_user()
    stores.redis.cut()
    try:
        refused = post(production, user, "what is kpo")
    finally:
        stores.redis.heal()
    assert refused.status_code == 503 and texts(refused) == STORE_DOWN
    assert until_answered(production, user, "what is kpo").status_code == 200
    assert [turn["text"] for turn in stores.user_turns()[user]] == ["what is kpo"]


def test_a_conversation_still_busy_after_the_wait_is_told_to_send_again(production, stores):
    user = new_user()
    other_replica = AtomicRedisLockStore(host="127.0.0.1", port=stores.redis.port,
                                         key_prefix=stores.run_id)
    ticket = other_replica.issue_ticket(user, 60)  # a turn of this user, running elsewhere
    started = time.monotonic()
    refused = post(production, user, "what is kpo")
    assert refused.status_code == 503 and texts(refused) == STILL_BUSY
    assert 2 <= time.monotonic() - started < 10  # retried for LOCK_WAIT_TIMEOUT first
    other_replica.finish_serving(user, ticket)
    assert post(production, user, "what is kpo").status_code == 200


def test_a_broker_that_is_down_delays_events_but_loses_none(production, stores):
    user = new_user()
    stores.rabbitmq.cut()
    try:
        for text in ("what is kpo", "what is bpo"):
            assert post(production, user, text).status_code == 200
    finally:
        stores.rabbitmq.heal()
    assert broker_user_texts(stores, user, 2) == ["what is kpo", "what is bpo"]
