"""deploy/replicas.sh (`make replicas`): two replicas behind haproxy on one host without Docker,
on production stores; it starts, serves through the balancer and stops everything it started."""
import os
import shutil
import signal
import subprocess
import time

import pytest
import requests

from harness.launcher import ARTIFACTS, PROJECT, free_port, process_tree
from harness.production_stores import ProductionStores, unreachable_services


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="needs haproxy")
def test_the_replicas_script_starts_serves_and_stops(tmp_path):
    missing = unreachable_services()
    if missing:
        pytest.skip(f"needs the machine's services: {', '.join(missing)} did not answer")
    stores = ProductionStores.start()
    front, rasa_base, actions_base = free_port(), free_port(), free_port()
    token = "replicas-token"
    env = {**os.environ, **stores.env(), "REPLICAS": "2", "FRONT_PORT": str(front),
           "RASA_BASE_PORT": str(rasa_base), "ACTIONS_BASE_PORT": str(actions_base),
           "RUN_DIR": str(tmp_path), "SANIC_WORKERS": "1", "ASSISTANT_REST_TOKEN": token,
           "ACTION_SERVER_TOKEN": "replicas-actions"}
    log = open(ARTIFACTS / f"replicas-{os.getpid()}.log", "w")
    script = subprocess.Popen([str(PROJECT / "deploy" / "replicas.sh")], env=env, cwd=PROJECT,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline, reply = time.monotonic() + 300, None
        while time.monotonic() < deadline and script.poll() is None:
            try:
                reply = requests.post(f"http://127.0.0.1:{front}/webhooks/rest/webhook",
                                      json={"sender": "replicas", "message": "what is kpo"},
                                      headers={"Authorization": f"Bearer {token}"}, timeout=30)
                if reply.status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(1)
        assert reply is not None and reply.status_code == 200 and "Knowledge" in reply.text
        for port in (rasa_base + 1, rasa_base + 2):
            assert requests.get(f"http://127.0.0.1:{port}/health/ready", timeout=10).ok
        started = process_tree(script.pid)
        assert len(started) >= 6  # the script, haproxy, two action servers, two Rasa
        script.send_signal(signal.SIGTERM)
        assert script.wait(timeout=60) is not None
        deadline = time.monotonic() + 30
        while any(os.path.exists(f"/proc/{pid}") for pid in started):
            assert time.monotonic() < deadline, "a process the script started outlived it"
            time.sleep(0.5)
    finally:
        if script.poll() is None:
            for pid in process_tree(script.pid):
                os.kill(pid, signal.SIGKILL)
        stores.close()
