"""Starts the assistant's servers on free ports for tests and benchmarks, and reads what they
run (ports listening, process trees) from /proc.
"""
import os
import random
import secrets
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Optional, Sequence

import requests

PROJECT = Path(__file__).resolve().parents[1]
MODEL = PROJECT / "models" / "assistant.tar.gz"
ARTIFACTS = PROJECT / "tests" / "artifacts"
RASA = Path(sys.executable).parent / "rasa"
# Rasa's own SQL tracker store on the same SQLite file, and the same action server.
SHIPPED_ENDPOINTS = PROJECT / "bench" / "shipped-endpoints.yml"

def process_tree(pid: int) -> list:
    """A server process and the processes it started (from /proc)."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    tree, found = [pid], []
    while tree:
        current = tree.pop()
        found.append(current)
        tree += children.get(current, [])
    return found


def listening_sockets(port: int) -> int:
    """How many sockets listen on the port (one per Rasa worker, runtime/workers.py)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            count += state == "0A" and int(local.rsplit(":", 1)[1], 16) == port
    return count


def free_port() -> int:
    """A port nothing is bound to, below the kernel's range for outgoing connections: a port the
    kernel hands out (bind to 0) can be taken by a client's connection before the server that
    was given it binds it."""
    outgoing_from = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    while True:
        port = random.randrange(max(1024, outgoing_from - 10000), outgoing_from)
        with socket.socket() as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port


class Assistant:
    """The action server and Rasa, started on free ports with a tracker store of their own.

    `credentials` picks the channels (default: the project's credentials.yml, with
    environment.yml's settings like `make run`'s), `env` adds environment variables to both
    servers, `rasa_args` adds arguments to `rasa run` and `model` picks another trained model.
    `shipped=True` runs Rasa as shipped instead (`rasa run` without runtime/'s fixes, Rasa's own
    SQL tracker store), for the benchmark's baseline.
    Channels are switched on by `env` only, never by this shell's environment, so tests never
    reach a real platform. The stores are `make run`'s, chosen by `env` (ASSISTANT_STORES;
    embedded: a SQLite file in `workdir`), and Rasa calls its own action server unless `env`
    sets ACTION_SERVER_URL. Replicas are Assistants sharing production stores; `kill_rasa` and
    `start_rasa` crash and restart one.

    The servers get fresh secrets (docs/security.md): the REST channel's token (clients send
    `rest_headers`, as `send` does) and the action server's; `env` may set its own. They run
    with the shipped limits (64 KB bodies, default rate limits) unless `env` changes them.
    """

    def __init__(self, workdir: Path, credentials: Path = PROJECT / "credentials.yml",
                 env: Optional[Dict[str, str]] = None, rasa_args: Sequence[str] = (),
                 model: Path = MODEL, shipped: bool = False) -> None:
        if not model.exists():
            raise FileNotFoundError(f"{model} is missing: `make train` trains it (make test and "
                                    f"make bench do it first)")
        self.action_port, self.rasa_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.rasa_port}"
        self.webhook = f"{self.url}/webhooks/rest/webhook"
        self.tracker_db = workdir / "tracker.db"
        env = {"ASSISTANT_REST_TOKEN": secrets.token_urlsafe(32),
               "ACTION_SERVER_TOKEN": secrets.token_urlsafe(32),
               "SANIC_REQUEST_MAX_SIZE": "65536",
               "ACTION_SERVER_URL": f"http://127.0.0.1:{self.action_port}/webhook",
               "ASSISTANT_SQLITE_DB": str(self.tracker_db), **(env or {})}
        self.rest_token = env["ASSISTANT_REST_TOKEN"]
        self.rest_headers = {"Authorization": f"Bearer {self.rest_token}"}
        endpoints, credentials_written = workdir / "endpoints.yml", workdir / "credentials.yml"
        for kind, base, written in (("credentials", credentials, credentials_written),
                                    ("endpoints", SHIPPED_ENDPOINTS if shipped else None,
                                     endpoints)):
            subprocess.run([sys.executable, "-m", "envtemplate", kind, str(written),
                            *(["--base", str(base)] if base else [])], cwd=PROJECT, check=True,
                           env={"PATH": os.environ["PATH"], **env})
        ARTIFACTS.mkdir(exist_ok=True)
        self._env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env}
        self._rasa_command = [sys.executable, "-m", "rasa" if shipped else "runtime", "run",
                              "--model", str(model),
                              "--port", str(self.rasa_port), "--endpoints", str(endpoints),
                              "--credentials", str(credentials_written), *rasa_args]
        self._processes = [
            self._start("actions", [sys.executable, "-m", "actions.server", "--actions",
                                    "actions", "--port", str(self.action_port)], self._env),
            self._start("rasa", self._rasa_command, self._env),
        ]

    def _start(self, name: str, command, env) -> subprocess.Popen:
        log = open(self.log(name), "a")  # a restarted server carries on the same log
        return subprocess.Popen(command, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def kill_rasa(self) -> None:
        """Crashes Rasa (SIGKILL: no clean-up, in-flight turns cut off)."""
        self._processes[1].kill()
        self._processes[1].wait()

    def start_rasa(self) -> None:
        self._processes[1] = self._start("rasa", self._rasa_command, self._env)

    def restart_rasa(self) -> None:
        """Kills Rasa, as a crash would, and starts it again on the same port (then call
        wait_until_ready). A graceful stop would wait ~20 s for open websockets."""
        self.kill_rasa()
        self.start_rasa()

    def wait_until_ready(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.has_exited():
                raise RuntimeError(f"a server exited at start: see {ARTIFACTS}")
            try:
                if self.send("ready-check", "hi"):
                    return
            except requests.RequestException:
                pass
            time.sleep(1)
        raise TimeoutError(f"the assistant did not answer within {timeout} s: see {ARTIFACTS}")

    def wait_until_listening(self, workers: int, timeout: float = 120) -> None:
        """Waits until `workers` sockets listen on Rasa's port (every worker has loaded)."""
        deadline = time.monotonic() + timeout
        while listening_sockets(self.rasa_port) < workers:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{workers} workers did not come to listen within {timeout} s")
            time.sleep(0.2)

    def send(self, sender: str, text, timeout: float = 30) -> list:
        response = requests.post(self.webhook, json={"sender": sender, "message": text},
                                 headers=self.rest_headers, timeout=timeout)
        response.raise_for_status()
        return response.json()

    def log(self, name: str) -> Path:
        """Where the server `name` ("actions" or "rasa") writes its log."""
        return ARTIFACTS / f"{name}-{os.getpid()}-{self.rasa_port}.log"

    def has_exited(self) -> bool:
        """Whether either server has exited (crashed at start, or was killed)."""
        return any(process.poll() is not None for process in self._processes)

    @property
    def rasa_pid(self) -> int:
        return self._processes[1].pid

    @property
    def actions_pid(self) -> int:
        return self._processes[0].pid

    def stop(self) -> None:
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def running(workdir: Path, workers: int = 1, **settings) -> Iterator[Assistant]:
    """An Assistant (settings as Assistant's) answering, with `workers` of its workers
    listening; stopped at the end."""
    assistant = Assistant(workdir, **settings)
    try:
        assistant.wait_until_ready()
        assistant.wait_until_listening(workers)
        yield assistant
    finally:
        assistant.stop()
