"""What an operator relies on, on production stores behind fault-injecting proxies: readiness
that follows the stores (runtime/health.py), haproxy taking a replica out of rotation and back
by it, and the metrics of a replica summed over its worker processes (runtime/metrics.py)."""
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from harness.launcher import ARTIFACTS, Assistant, free_port, process_tree, running
from runtime.metrics import ANSWER_KINDS
from runtime.workers import default_workers

METRICS_TOKEN = "metrics-" + uuid.uuid4().hex
SENDER_LIMIT = 5  # messages a minute per sender: a burst of 7 from one sender gets 2 refused


@pytest.fixture(scope="module")
def replica(tmp_path_factory, stores):
    workdir = tmp_path_factory.mktemp("operations")
    with running(workdir, default_workers(), env=stores.env(
            LOCK_WAIT_TIMEOUT="2", METRICS_TOKEN=METRICS_TOKEN,
            PROMETHEUS_MULTIPROC_DIR=str(workdir / "metrics"),
            ASSISTANT_RATE_LIMIT_SENDER=str(SENDER_LIMIT))) as started:
        yield started


def ready(replica: Assistant) -> requests.Response:
    return requests.get(f"{replica.url}/health/ready", timeout=10)


def until(condition, within: float = 15) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_live_and_ready_need_no_token_and_say_only_up_or_down(replica):
    live = requests.get(f"{replica.url}/health/live", timeout=10)
    assert live.status_code == 200 and live.json() == {"status": "live"}
    response = ready(replica)
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {
        "model": "up", "tracker_store": "up", "lock_store": "up", "event_broker": "up"}}


@pytest.mark.parametrize("store", ["redis", "postgres"])
def test_a_replica_that_loses_a_store_is_not_ready_until_it_is_back(replica, stores, store):
    name = {"redis": "lock_store", "postgres": "tracker_store"}[store]
    proxy = getattr(stores, store)
    proxy.cut()
    try:
        assert until(lambda: ready(replica).status_code == 503)
        body = ready(replica).json()
        assert body["status"] == "not ready" and body["checks"][name] == "down"
        assert set(body["checks"].values()) <= {"up", "down"}
        # Every worker answers for itself: whichever gets the check, it is not ready.
        assert all(ready(replica).status_code == 503 for _ in range(6))
    finally:
        proxy.heal()
    assert until(lambda: ready(replica).status_code == 200)
    assert all(ready(replica).status_code == 200 for _ in range(6))


def test_a_broker_outage_is_reported_but_the_outbox_keeps_the_replica_ready(replica, stores):
    stores.rabbitmq.cut()
    try:
        assert until(lambda: ready(replica).json()["checks"]["event_broker"] == "down")
        assert ready(replica).status_code == 200
    finally:
        stores.rabbitmq.heal()
    assert until(lambda: ready(replica).json()["checks"]["event_broker"] == "up")


# --- haproxy ----------------------------------------------------------------------------------

class Balancer:
    """haproxy in front of one replica, checking /health/ready as deploy/haproxy.cfg does."""

    def __init__(self, workdir: Path, rasa_port: int) -> None:
        self.port, self.socket = free_port(), workdir / "haproxy.sock"
        config = workdir / "haproxy.cfg"
        config.write_text(f"""global
  stats socket {self.socket} mode 600 level admin
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout check 2s
frontend rasa
  bind 127.0.0.1:{self.port}
  default_backend rasa
backend rasa
  option httpchk GET /health/ready
  server r1 127.0.0.1:{rasa_port} check inter 500ms fall 2 rise 1
""")
        log = open(ARTIFACTS / f"haproxy-operations-{os.getpid()}.log", "w")
        self.process = subprocess.Popen(["haproxy", "-db", "-f", str(config)], stdout=log,
                                        stderr=subprocess.STDOUT)
        until(self.socket.exists, 10)

    def state(self) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.socket))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        [row] = [line.split(",") for line in data.decode().splitlines()
                 if line.startswith("rasa,r1,")]
        return row[17] if row[36] else "NOT CHECKED"  # status (UP, DOWN, ...), check_status

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="needs haproxy")
def test_haproxy_takes_a_replica_without_redis_out_of_rotation_and_back(replica, stores,
                                                                       tmp_path):
    balancer = Balancer(tmp_path, replica.rasa_port)
    webhook = f"http://127.0.0.1:{balancer.port}/webhooks/rest/webhook"

    def send() -> int:
        return requests.post(webhook, json={"sender": f"lb-{uuid.uuid4().hex[:6]}",
                                            "message": "what is kpo"},
                             headers=replica.rest_headers, timeout=60).status_code
    try:
        assert until(lambda: balancer.state() == "UP")
        assert send() == 200
        stores.redis.cut()
        try:
            assert until(lambda: balancer.state() == "DOWN")
            # haproxy answers for it (no server): the replica gets no message
            assert send() == 503
        finally:
            stores.redis.heal()
        assert until(lambda: balancer.state() == "UP")
        assert send() == 200
    finally:
        balancer.stop()


# --- metrics ----------------------------------------------------------------------------------

def scrape(replica: Assistant) -> dict:
    """{(sample name, sorted labels): value} of GET /metrics."""
    response = requests.get(f"{replica.url}/metrics", timeout=10,
                            headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_need_their_own_token(replica):
    url = f"{replica.url}/metrics"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, headers=replica.rest_headers, timeout=10).status_code == 401


def test_metrics_count_the_messages_sent_summed_over_the_workers(replica, stores):
    before = scrape(replica)
    questions = ["what is kpo", "how do i prepare for a bpo interview",
                 "what's the weather in paris"]
    sent = 0
    for _ in range(4):
        for text in questions:  # a new connection each: the kernel spreads them over workers
            assert requests.post(replica.webhook, json={"sender": f"m-{uuid.uuid4().hex[:6]}",
                                                        "message": text},
                                 headers=replica.rest_headers, timeout=60).status_code == 200
            sent += 1
    # A burst from one sender: SENDER_LIMIT pass, the rest are refused before reaching Rasa.
    burst = f"m-burst-{uuid.uuid4().hex[:6]}"
    statuses = [requests.post(replica.webhook, json={"sender": burst, "message": "hi"},
                              headers=replica.rest_headers, timeout=60).status_code
                for _ in range(SENDER_LIMIT + 2)]
    assert statuses.count(429) == 2
    # One message while Redis is down: refused, and counted as such.
    stores.redis.cut()
    try:
        refused = requests.post(replica.webhook, json={"sender": "m-down", "message": "hi"},
                                headers=replica.rest_headers, timeout=60)
    finally:
        stores.redis.heal()
    assert refused.status_code == 503

    after = scrape(replica)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("assistant_messages_total", channel="rest", outcome="replied") == \
        sent + SENDER_LIMIT
    assert delta("assistant_messages_total", channel="rest", outcome="store_down") == 1
    assert delta("assistant_reply_seconds_count", channel="rest") == sent + SENDER_LIMIT + 1
    # Each of these turns sets one answer_kind; how NLU reads the last two may vary.
    kinds = {kind: delta("assistant_answers_total", kind=kind) for kind in ANSWER_KINDS}
    assert sum(kinds.values()) == sent and kinds["answered"] >= 4, kinds
    assert delta("assistant_action_seconds_count", outcome="ok") >= sent
    assert delta("assistant_rate_limited_total") == 2
    assert delta("assistant_store_errors_total", store="lock_store") >= 1
    assert delta("assistant_lock_wait_seconds_count") >= sent

    # Summed over the workers: more than one of them counted messages.
    workers = set(process_tree(replica.rasa_pid)) - {replica.rasa_pid}
    counted_by = {int(path.stem.split("_")[-1]) for path in
                  (Path(replica._env["PROMETHEUS_MULTIPROC_DIR"])).glob("counter_*.db")}
    assert len(counted_by & workers) == default_workers()
