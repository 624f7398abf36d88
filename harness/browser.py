"""What the widget's browser tests and bench/widget.py share: Debian's chromium, launched by
Playwright (which never downloads a browser here), and the demo page server (web/serve.py).
"""
import subprocess
import sys
import time

import requests

from harness.launcher import PROJECT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def launch_chromium(playwright):
    """Debian's chromium; launch() gives it a fresh temporary profile (user-data-dir)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)


class DemoPage:
    """`python -m web.serve` on a port of its own, showing the widget for the Rasa at server_url."""

    def __init__(self, port: int, server_url: str, title: str) -> None:
        self.origin = f"http://127.0.0.1:{port}"
        self.url = f"{self.origin}/"
        self._process = subprocess.Popen(
            [sys.executable, "-m", "web.serve", "--port", str(port), "--server-url", server_url,
             "--title", title], cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(self.url, timeout=2).raise_for_status()
                return
            except requests.RequestException:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    self.stop()
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)
