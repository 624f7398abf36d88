"""Fake platform servers (Telegram Bot API, Slack Web API, a callback receiver), each run in a
process of its own on a free loopback port, and asked from the tests what they received."""
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, List

import requests

FAKES = Path(__file__).parent


class FakeServer:
    def __init__(self, name: str, port: int, *args: str) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self._process = subprocess.Popen([sys.executable, str(FAKES / f"{name}.py"), str(port),
                                          *args])
        deadline = time.monotonic() + 20
        while True:
            try:
                self.calls()
                return
            except requests.ConnectionError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the fake {name} did not start")
                time.sleep(0.1)

    def calls(self, path_end: str = "") -> List[dict]:
        """The calls received so far, oldest first; only those to paths ending so if given."""
        calls = requests.get(f"{self.url}/calls", timeout=5).json()
        return [call for call in calls if call["path"].endswith(path_end)]

    def wait_for(self, path_end: str, condition: Callable[[dict], bool],
                 timeout: float = 30) -> dict:
        """The first call to a path ending so that meets the condition, once it arrives."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [call for call in self.calls(path_end) if condition(call)]
            if found:
                return found[0]
            time.sleep(0.2)
        raise TimeoutError(f"no matching call to ...{path_end} within {timeout} s")

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)
