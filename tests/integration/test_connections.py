"""runtime/connections.py, against throwaway servers: what reaches Rasa's and the action server's
web server (Sanic 21.12) before any handler. Malformed framing is refused with 400 before a body
is read, slow and idle clients are closed, a worker holds a bounded number of connections, and a
second start on a port in use fails (docs/security.md, "Connections")."""
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from sanic import Sanic
from sanic.server.protocols.http_protocol import HttpProtocol

from harness.launcher import PROJECT, Assistant, free_port, process_tree, running
from runtime import connections, guard
from runtime.workers import default_workers

WEBHOOK = b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: localhost\r\n"
BODY = b'{"sender": "framing", "message": "hi"}'
# Each is refused with 400, whatever comes after it; none carries the REST token.
MALFORMED = {
    "negative length": b"Content-Length: -1\r\n\r\n" + BODY,
    "length that is no number": b"Content-Length: abc\r\n\r\n" + BODY,
    "length with a sign": b"Content-Length: +39\r\n\r\n" + BODY,
    "length with an underscore": b"Content-Length: 3_9\r\n\r\n" + BODY,
    "two lengths": b"Content-Length: 39\r\nContent-Length: 5\r\n\r\n" + BODY,
    "length and chunked": b"Content-Length: 39\r\nTransfer-Encoding: chunked\r\n\r\n" + BODY,
    "encoding other than chunked": b"Transfer-Encoding: gzip\r\n\r\n" + BODY,
    "oversized header": b"X-Padding: " + b"a" * 20_000 + b"\r\nContent-Length: 39\r\n\r\n"
                        + BODY,
}


def exchange(port: int, data: bytes, timeout: float = 5) -> bytes:
    """Sends raw bytes and returns what the server answers before it closes the connection or
    stops answering for `timeout` seconds (so a server that hangs fails the test, not stalls it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    return answer


def cpu_seconds(pids) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@pytest.fixture(scope="module")
def bot(tmp_path_factory) -> Assistant:
    with running(tmp_path_factory.mktemp("connections"), default_workers(),
                 env={"ASSISTANT_RATE_LIMIT_SENDER": "0",
                      "ASSISTANT_RATE_LIMIT_ADDRESS": "0"}) as started:
        yield started


# --- Framing -----------------------------------------------------------------------------------

@pytest.mark.parametrize("framing", MALFORMED.values(), ids=MALFORMED.keys())
def test_rasa_refuses_malformed_framing_with_400_and_keeps_answering(bot, framing):
    before = cpu_seconds(process_tree(bot.rasa_pid))
    answer = exchange(bot.rasa_port, WEBHOOK + framing)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    time.sleep(2)
    # No worker is left spinning on the request (each such request used to take a worker).
    assert cpu_seconds(process_tree(bot.rasa_pid)) - before < 1.0
    assert bot.send("framing-control", "what is kpo", timeout=20)


@pytest.mark.parametrize("framing", MALFORMED.values(), ids=MALFORMED.keys())
def test_the_action_server_refuses_malformed_framing_with_400_and_keeps_answering(bot, framing):
    secret = f"Authorization: Bearer {bot._env['ACTION_SERVER_TOKEN']}\r\n".encode()
    start = b"POST /webhook HTTP/1.1\r\nHost: localhost\r\n"
    assert exchange(bot.action_port, start + secret + framing).startswith(b"HTTP/1.1 400 ")
    # Without the secret, a request whose header was read meets the secret's check first (Sanic
    # runs request middleware on its way to the error handler): refused either way.
    assert exchange(bot.action_port, start + framing)[:13] in (b"HTTP/1.1 400 ", b"HTTP/1.1 401 ")
    assert requests.get(f"http://127.0.0.1:{bot.action_port}/health", timeout=10).ok


def test_as_many_bad_requests_as_workers_leave_the_assistant_answering(bot):
    for _ in range(default_workers() * 2):
        exchange(bot.rasa_port, WEBHOOK + MALFORMED["negative length"], timeout=2)
    started = time.monotonic()
    assert bot.send("framing-after", "what is bpo", timeout=20)
    assert time.monotonic() - started < 10


def test_a_well_formed_request_is_still_answered_on_a_kept_alive_connection(bot):
    request = (WEBHOOK + b"Authorization: Bearer " + bot.rest_token.encode()
               + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s")
    first = b'{"sender": "framing-ok", "message": "hi"}'
    chunked = b'{"sender": "framing-ok", "message": "what is kpo"}'
    with socket.create_connection(("127.0.0.1", bot.rasa_port), timeout=30) as sock:
        sock.sendall(request % (len(first), first))
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        sock.sendall(WEBHOOK + b"Authorization: Bearer " + bot.rest_token.encode()
                     + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked"
                     + b"\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(chunked), chunked))
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")


# --- The switch and the versions it was checked against ------------------------------------

def action_server(env: dict) -> tuple:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "actions.server", "--port", str(port)],
                              cwd=PROJECT, env={**os.environ, "ACTION_SERVER_TOKEN": "t" * 40,
                                                **env},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
            return server, port
        except requests.ConnectionError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError(f"the action server did not start: {server.communicate()[0]}")


def test_with_the_switch_off_the_server_runs_as_shipped_and_hangs_on_the_bad_request():
    server, port = action_server({guard.SWITCH: "off"})
    try:
        # Sanic as shipped: no answer, and the server loops on the request.
        assert exchange(port, b"POST /webhook HTTP/1.1\r\n" + MALFORMED["negative length"],
                        timeout=2) == b""
    finally:
        server.kill()
        server.wait()


def test_the_guarded_protocol_is_the_one_a_sanic_app_serves_with():
    guard.install([connections.GUARDED_CONNECTIONS])
    app = Sanic("guarded-check")
    settings = app._helper(host="127.0.0.1", port=free_port(), protocol=HttpProtocol)
    assert issubclass(settings["protocol"], connections.GuardedConnection)
    assert issubclass(settings["protocol"], HttpProtocol)


def test_other_versions_are_refused_with_a_clear_message():
    with pytest.raises(SystemExit, match=r"sanic 0\.1 .*installed: sanic 21\.12\.2.*ASSISTANT_PATCHES=off"):
        guard.require_versions({"sanic": "0.1"})
    guard.require_versions(guard.CHECKED_AGAINST)  # the installed ones


# --- Slow and idle clients, and the connection cap --------------------------------------------

def open_slow(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(WEBHOOK + b"X-Slow: ")
    sock.setblocking(False)
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    try:
        sock.recv(1, socket.MSG_PEEK)
        return True  # the server answered (408) or closed
    except BlockingIOError:
        return False
    except OSError:
        return True


def slow_connections_wanted() -> int:
    """1,000, or as many as this process's file limit comfortably allows."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return max(100, min(1000, soft - 200))


def test_slow_clients_are_closed_and_do_not_starve_a_conversation(bot):
    """A client sending a header byte every few seconds is closed once its header deadline
    passes; while `wanted` such connections are held open (each closed one is opened again),
    a conversation is answered."""
    wanted = slow_connections_wanted()
    lifetimes, latencies, held = [], [], []
    stop = threading.Event()

    def hold():
        opened = {}
        while len(opened) < wanted:
            opened[open_slow(bot.rasa_port)] = time.monotonic()
        while not stop.is_set():
            for sock, since in list(opened.items()):
                if closed_by_server(sock):
                    lifetimes.append(time.monotonic() - since)
                    sock.close()
                    del opened[sock]
                    opened[open_slow(bot.rasa_port)] = time.monotonic()
                else:
                    try:
                        sock.send(b"a")
                    except OSError:
                        pass
            held.append(len(opened))
            stop.wait(2)
        for sock in opened:
            sock.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        while not held:
            time.sleep(0.2)
        deadline = time.monotonic() + connections.HEADER_TIMEOUT * 3
        turn = 0
        while time.monotonic() < deadline:
            started = time.monotonic()
            assert bot.send("slow-control", ["what is kpo", "what is bpo"][turn % 2], timeout=30)
            latencies.append(time.monotonic() - started)
            turn += 1
            time.sleep(1)
    finally:
        stop.set()
        holder.join(timeout=60)
    print(f"\nslow connections held: {min(held)}-{max(held)}, closed by the server: "
          f"{len(lifetimes)}, longest lifetime {max(lifetimes, default=0):.1f} s; "
          f"{len(latencies)} answers meanwhile, slowest {max(latencies):.2f} s")
    assert min(held) >= wanted
    # Every slow client was closed by its deadline (plus the check's period and this loop's).
    assert len(lifetimes) >= wanted
    assert max(lifetimes) < connections.HEADER_TIMEOUT * 2 + 5
    assert max(latencies) < 10


def test_an_idle_kept_alive_connection_is_closed(bot):
    with socket.create_connection(("127.0.0.1", bot.rasa_port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        sock.settimeout(connections.KEEP_ALIVE_TIMEOUT * 2 + 5)
        assert sock.recv(1) == b""
        assert time.monotonic() - started < connections.KEEP_ALIVE_TIMEOUT * 2 + 5


def test_a_worker_over_its_connection_cap_closes_the_least_active_waiting_ones():
    cap = 20
    server, port = action_server({connections.CAP_VARIABLE: str(cap)})
    idle = []
    try:
        for _ in range(cap * 5):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        health = requests.get(f"http://127.0.0.1:{port}/health", timeout=10)
        assert health.ok
        time.sleep(0.5)
        for sock in idle:
            sock.setblocking(False)
        closed = sum(closed_by_server(sock) for sock in idle)
        assert closed >= len(idle) - cap
        assert closed_by_server(idle[0]) and not closed_by_server(idle[-1])  # the oldest went
    finally:
        for sock in idle:
            sock.close()
        server.kill()
        server.wait()


# --- A second start on the same port ----------------------------------------------------------

@pytest.mark.skipif(default_workers() < 2, reason="one worker binds without SO_REUSEPORT")
def test_a_second_start_on_a_port_in_use_fails_with_a_clear_message(bot):
    second = subprocess.Popen(bot._rasa_command, cwd=PROJECT, env=bot._env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = second.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        second.kill()
        output, _ = second.communicate()
        pytest.fail(f"a second Rasa started on port {bot.rasa_port}: {output[-2000:]}")
    assert second.returncode != 0
    assert f"port {bot.rasa_port} is already in use" in output
    assert bot.send("port-control", "hi")  # the first one is unharmed
