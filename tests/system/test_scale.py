"""The scale test (`make test-scale`; part of `make test` when PostgreSQL, Redis, RabbitMQ and
haproxy are there): two Rasa replicas and two action servers behind haproxy on loopback, round
robin, no sticky sessions, over REST, on the machine's PostgreSQL, Redis and RabbitMQ, each
behind a fault-injecting proxy of this test's own (harness/production_stores.py).

Every message carries its sequence number in its metadata. Users are clients that do what the
replies tell them: a 503 is sent again after Retry-After (capped at 1 s here), a failed
connection or a 502 again after 1 s. Phases, each with users of its own:

  two replicas   the load on both replicas
  one replica    the same load with the second replica out of haproxy
  kill -9        the load on both; one replica is SIGKILLed mid-run and started again
  outages        the load on both; PostgreSQL, then Redis, then RabbitMQ cut for a while

After each phase the stored conversations (PostgreSQL) and the broker's queue are checked:
every answered turn stored, in order, and only once unless its first try was reported failed
(a commit cut off by the fault can have stored it) and sent again; every reply non-empty, every
stored event received by the broker. What a crash or an outage costs is printed, not hidden.
SCALE_USERS and SCALE_MESSAGES size the load of the first two phases, SCALE_FAULT_USERS the
users of the fault phases: `make test` runs 40 x 10 and 20, `make test-scale` 200 x 20 and 50.
"""
import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from statistics import quantiles
from typing import Dict, List, Optional

import aiohttp
import pytest

from harness.launcher import ARTIFACTS, Assistant, free_port
from harness.production_stores import ProductionStores, unreachable_services

# `make test` runs a small load; `make test-scale` the full one (Makefile).
USERS = int(os.environ.get("SCALE_USERS", 40))
MESSAGES = int(os.environ.get("SCALE_MESSAGES", 10))
FAULT_USERS = int(os.environ.get("SCALE_FAULT_USERS", 20))
BURST = 3  # simultaneous messages of one user, every third step
QUESTIONS = ["what is bpo", "advantages of bpo", "what is the difference between kpo and bpo",
             "which industries use kpo", "what are the risks of bpo",
             "what qualification do i need for bpo", "how much does bpo cost"]
LAST_QUESTION = "what is kpo"  # each user's last message: the context check follows it
CONTEXT_QUESTION = "what are its risks?"
GIVE_UP_AFTER = 180  # seconds a client keeps sending one message again
# The outage phase: each store is cut OUTAGE s, OUTAGE s apart, the first after OUTAGE_START s;
# its users pace their messages so the load lasts through all three at any machine speed.
OUTAGE_START, OUTAGE = 3, 4
OUTAGES_END = OUTAGE_START + 3 * 2 * OUTAGE


def skip_reason() -> Optional[str]:
    missing = unreachable_services()
    if missing:
        return f"needs the machine's services: {', '.join(missing)} did not answer"
    if not shutil.which("haproxy"):
        return "needs haproxy (apt-get install haproxy; `make test` installs it as root)"
    return None


pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason()))


# --- The load balancer ------------------------------------------------------------------------

class Haproxy:
    """Round robin over the replicas, no stickiness; retries only connections that failed
    before the request was sent (a POST in flight is never sent twice)."""

    def __init__(self, workdir: Path, rasa_ports: List[int], action_ports: List[int],
                 action_front: int) -> None:
        self.port, self.action_port = free_port(), action_front
        self.socket = workdir / "haproxy.sock"
        rasa = "\n".join(f"  server r{i} 127.0.0.1:{port} check inter 1s fall 3 rise 1"
                         for i, port in enumerate(rasa_ports, 1))
        actions = "\n".join(f"  server a{i} 127.0.0.1:{port} check inter 1s fall 3 rise 1"
                            for i, port in enumerate(action_ports, 1))
        config = workdir / "haproxy.cfg"
        config.write_text(f"""global
  maxconn 4000
  stats socket {self.socket} mode 600 level admin
defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  timeout check 10s
  retries 3
  option redispatch
frontend rasa
  bind 127.0.0.1:{self.port}
  default_backend rasa
backend rasa
  balance roundrobin
  option httpchk GET /health/ready
{rasa}
frontend actions
  bind 127.0.0.1:{self.action_port}
  default_backend actions
backend actions
  balance roundrobin
  option httpchk GET /health
{actions}
""")
        log = open(ARTIFACTS / f"haproxy-{os.getpid()}.log", "w")
        self.process = subprocess.Popen(["haproxy", "-db", "-f", str(config)],
                                        stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not self.socket.exists() and time.monotonic() < deadline:
            time.sleep(0.1)

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.socket))
            sock.sendall(line.encode() + b"\n")
            return sock.recv(65536).decode()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# --- The users --------------------------------------------------------------------------------

@dataclass
class Attempt:
    sender: str
    seq: int
    status: int  # 0: the connection failed
    sent: float
    done: float
    texts: List[str] = field(default_factory=list)


def script(messages: int) -> List[List[int]]:
    """The steps of one user: sequence numbers sent one after the other, every third step a
    burst of BURST sent at once."""
    steps, seq = [], 1
    while seq <= messages:
        size = min(BURST if len(steps) % 3 == 2 else 1, messages - seq + 1)
        steps.append(list(range(seq, seq + size)))
        seq += size
    return steps


def question(seq: int, messages: int) -> str:
    return LAST_QUESTION if seq == messages else QUESTIONS[seq % len(QUESTIONS)]


class Load:
    def __init__(self, url: str, headers: Dict[str, str], phase: str, users: int,
                 messages: int, pace: float = 0) -> None:
        """`pace`: seconds each user waits after each step (0: as fast as it gets answers)."""
        self.url, self.headers, self.messages, self.pace = url, headers, messages, pace
        self.senders = [f"{phase}-{uuid.uuid4().hex[:6]}-{n}" for n in range(users)]
        self.attempts: List[Attempt] = []
        self.gave_up: List[tuple] = []
        self.started = self.finished = 0.0

    async def send(self, session, sender: str, seq: int, text: str) -> None:
        first = time.monotonic()
        while True:
            sent = time.monotonic()
            try:
                async with session.post(self.url, headers=self.headers, json={
                        "sender": sender, "message": text, "metadata": {"seq": seq}}) as reply:
                    status, retry_after = reply.status, float(reply.headers.get(
                        "Retry-After", 1))
                    try:
                        body = await reply.json(content_type=None)
                    except ValueError:  # haproxy's own error pages
                        status, body = (0 if status == 200 else status), []
            except (aiohttp.ClientError, asyncio.TimeoutError):
                status, body, retry_after = 0, [], 1
            self.attempts.append(Attempt(sender, seq, status, sent, time.monotonic(),
                                         [m.get("text", "") for m in body]
                                         if isinstance(body, list) else []))
            if status == 200:
                return
            if time.monotonic() - first > GIVE_UP_AFTER:
                self.gave_up.append((sender, seq))
                return
            await asyncio.sleep(min(retry_after, 1))

    async def user(self, session, sender: str) -> None:
        for step in script(self.messages):
            await asyncio.gather(*(self.send(session, sender, seq, question(seq, self.messages))
                                   for seq in step))
            await asyncio.sleep(self.pace)

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=120)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            self.started = time.monotonic()
            await asyncio.gather(*(self.user(session, s) for s in self.senders))
            self.finished = time.monotonic()

    def run(self) -> "Load":
        asyncio.run(self._run())
        return self


def run_with(load: Load, faults) -> Load:
    """Runs the load while `faults` (a function given the load) runs in a thread."""
    import threading
    thread = threading.Thread(target=faults, args=(load,))
    thread.start()
    load.run()
    thread.join()
    return load


# --- The check --------------------------------------------------------------------------------

def check(load: Load, stores: ProductionStores) -> dict:
    """What the users got, against what PostgreSQL stored and the broker received."""
    stored = stores.user_turns()
    # Every stored event of every kind (user, bot, action, slot, ...), by sender, type and time;
    # the broker may hold one twice (at least once delivery), never none.
    received = Counter((e.get("sender_id"), e.get("event"), e.get("timestamp"))
                       for e in stores.broker_events())
    broker_missing = sum((stores.stored_events() - received).values())
    answered = {(a.sender, a.seq) for a in load.attempts if a.status == 200}
    # A turn the user was told failed (503) or whose request was cut off, and sent again: its
    # first try may have been stored though it reported a failure (a commit cut off mid-way).
    failed = {(a.sender, a.seq) for a in load.attempts if a.status != 200}
    lost = duplicated = duplicated_silently = reordered = 0
    for sender in load.senders:
        seqs = [turn["metadata"].get("seq") for turn in stored.get(sender, [])]
        counts = Counter(seqs)
        duplicated += sum(n - 1 for n in counts.values() if n > 1)
        duplicated_silently += sum(n - 1 for seq, n in counts.items()
                                   if n > 1 and (sender, seq) not in failed)
        lost += sum(1 for seq in range(1, load.messages + 1)
                    if (sender, seq) in answered and counts[seq] == 0)
        step_of = {seq: i for i, step in enumerate(script(load.messages)) for seq in step}
        steps = [step_of[seq] for seq in seqs if seq in step_of]
        reordered += sum(1 for a, b in zip(steps, steps[1:]) if b < a)
    never_answered = {(a.sender, a.seq) for a in load.attempts} - answered
    ok = [a for a in load.attempts if a.status == 200]
    latencies = sorted(1000 * (a.done - a.sent) for a in ok)
    cuts = quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    first_try = {}
    for a in load.attempts:
        first_try.setdefault((a.sender, a.seq), a.sent)
    turn_times = [a.done - first_try[(a.sender, a.seq)] for a in ok]
    return {
        "users": len(load.senders), "messages": len(load.senders) * load.messages,
        "answered": len(answered), "seconds": load.finished - load.started,
        "replies/s": len(ok) / (load.finished - load.started),
        "p50 ms": cuts[49], "p95 ms": cuts[94], "p99 ms": cuts[98],
        "told to retry (503)": sum(a.status == 503 and bool(a.texts) for a in load.attempts),
        "failed requests (502, cut)": sum(a.status != 200 and not (a.status == 503 and a.texts)
                                          for a in load.attempts),
        "never answered": len(never_answered),
        "lost": lost + len(never_answered), "duplicated": duplicated,
        "duplicated without a failure reported": duplicated_silently, "reordered": reordered,
        "empty replies": sum(1 for a in ok if not "".join(a.texts).strip()),
        "not in broker": broker_missing, "longest turn s": max(turn_times, default=0),
    }


def settled_check(load: Load, stores: ProductionStores, within: float = 60) -> dict:
    """`check` once the outbox relay has sent what it holds (it resumes after a crash or an
    outage on its own), or `within` seconds passed."""
    deadline = time.monotonic() + within
    result = check(load, stores)
    while result["not in broker"] and time.monotonic() < deadline:
        time.sleep(2)
        result = check(load, stores)
    return result


def recovery(load: Load, healed_at: float) -> float:
    """Seconds from `healed_at` until the last refused or failed request."""
    late = [a.done for a in load.attempts if a.status != 200 and a.sent >= healed_at - 0.5]
    return max(0.0, max(late, default=healed_at) - healed_at)


def print_table(results: Dict[str, dict], notes: List[str]) -> None:
    rows = list(next(iter(results.values())))
    lines = ["", f"Scale test (load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores)",
             "| | " + " | ".join(results) + " |", "| --- |" + " --- |" * len(results)]
    for row in rows:
        cells = [f"{r[row]:.0f}" if isinstance(r[row], float) and row.endswith("ms")
                 else f"{r[row]:.1f}" if isinstance(r[row], float) else str(r[row])
                 for r in results.values()]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    text = "\n".join(lines + [""] + notes)
    print(text)
    (ARTIFACTS / "scale-report.md").write_text(text + "\n")


# --- The test ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    stores = ProductionStores.start()
    workdir = tmp_path_factory.mktemp("scale")
    replicas: List[Assistant] = []
    haproxy = None
    try:
        # The action URL must be known before the replicas start: haproxy's, on a port chosen
        # now; haproxy itself starts once the replicas' ports are known.
        action_front = free_port()
        # Replicas behind one balancer share their secrets, as in deploy/.
        env = stores.env(ACTION_SERVER_URL=f"http://127.0.0.1:{action_front}/webhook",
                         ASSISTANT_REST_TOKEN=secrets.token_urlsafe(32),
                         ACTION_SERVER_TOKEN=secrets.token_urlsafe(32),
                         ASSISTANT_RATE_LIMIT_SENDER="0", ASSISTANT_RATE_LIMIT_ADDRESS="0",
                         SQLALCHEMY_SILENCE_UBER_WARNING="1")
        for n in range(2):
            replicas.append(Assistant(workdir / f"replica{n + 1}", env=env))
        for replica in replicas:
            replica.wait_until_ready()
        haproxy = Haproxy(workdir, [r.rasa_port for r in replicas],
                          [r.action_port for r in replicas], action_front=action_front)
        yield stores, replicas, haproxy
    finally:
        if haproxy:
            haproxy.stop()
        for replica in replicas:
            replica.stop()
        stores.close()


def test_replicas_lose_no_turn_through_a_crash_and_outages(cluster):
    stores, replicas, haproxy = cluster
    url = f"http://127.0.0.1:{haproxy.port}/webhooks/rest/webhook"
    headers = replicas[0].rest_headers
    results, notes = {}, []

    results["two replicas"] = settled_check(Load(url, headers, "two", USERS, MESSAGES).run(),
                                            stores)

    haproxy.command("disable server rasa/r2")
    results["one replica"] = settled_check(Load(url, headers, "one", USERS, MESSAGES).run(),
                                           stores)
    haproxy.command("enable server rasa/r2")

    crash = {}

    def kill_and_restart(load):
        time.sleep(max(3.0, 0.3 * results["two replicas"]["seconds"] * FAULT_USERS / USERS))
        crash["killed"] = time.monotonic()
        replicas[0].kill_rasa()
        replicas[0].start_rasa()
        replicas[0].wait_until_ready()
        crash["back"] = time.monotonic()

    killed = run_with(Load(url, headers, "kill", FAULT_USERS, MESSAGES), kill_and_restart)
    results["kill -9 one replica"] = settled_check(killed, stores)
    cut_off = [a for a in killed.attempts if a.status not in (200, 503)]
    notes.append(f"kill -9: the replica was back {crash['back'] - crash['killed']:.1f} s after "
                 f"the kill; {len(cut_off)} requests in flight on it were cut off (502 or reset) "
                 f"and sent again by their users; the longest a user waited for one turn "
                 f"was {results['kill -9 one replica']['longest turn s']:.1f} s.")

    healed = {}

    def outages(load):
        time.sleep(OUTAGE_START)
        for name, proxy in (("PostgreSQL", stores.postgres), ("Redis", stores.redis),
                            ("RabbitMQ", stores.rabbitmq)):
            proxy.cut()
            time.sleep(OUTAGE)
            proxy.heal()
            healed[name] = time.monotonic()
            time.sleep(OUTAGE)

    pace = OUTAGES_END / len(script(MESSAGES))
    down = run_with(Load(url, headers, "outage", FAULT_USERS, MESSAGES, pace), outages)
    results["outages"] = settled_check(down, stores)
    refused = {}
    for name, at in healed.items():
        refused[name] = sum(1 for a in down.attempts
                            if a.status == 503 and at - OUTAGE - 0.5 <= a.sent <= at)
        notes.append(f"{name} down {OUTAGE} s: {refused[name]} requests told to retry while it "
                     f"was down; errors stopped {recovery(down, at):.1f} s after it was back.")
    print_table(results, notes)

    # Context survives the crash: each user of the kill phase last asked about KPO.
    async def ask_follow_ups():
        async with aiohttp.ClientSession() as session:
            async def ask(sender):
                async with session.post(url, headers=headers, json={
                        "sender": sender, "message": CONTEXT_QUESTION}) as reply:
                    return " ".join(m.get("text", "") for m in await reply.json())
            return await asyncio.gather(*(ask(s) for s in killed.senders[:20]))

    for answer in asyncio.run(ask_follow_ups()):
        assert "KPO" in answer and "risk" in answer.lower(), answer

    for phase, result in results.items():
        assert result["lost"] == 0, (phase, result)
        assert result["empty replies"] == 0, (phase, result)
        assert result["not in broker"] == 0, (phase, result)
        assert result["reordered"] == 0, (phase, result)
        # A turn is stored twice only when its first try was reported failed (503, or the
        # request cut off) after all and the user sent it again: never silently.
        assert result["duplicated without a failure reported"] == 0, (phase, result)
    # The users were told, not ignored, while the conversations' stores were down (the
    # broker's outage is the outbox's to absorb: nobody notices it).
    assert down.finished > healed["RabbitMQ"] and refused["PostgreSQL"] and refused["Redis"]
