"""What every fake server shares: it records each call it receives and lists them at GET /calls.

A fake module defines `answer(path, headers, params) -> (status, json body)` and calls `serve`;
the status DROP closes the connection without an answer.
Request bodies are read as JSON or as a form, as the real platforms accept them.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Tuple
from urllib.parse import parse_qsl

Answer = Callable[[str, Dict[str, str], Dict[str, Any]], Tuple[int, Any]]
DROP = 0


def serve(answer: Answer) -> None:
    """Serves on 127.0.0.1 at the port given as the program's first argument."""
    calls, lock = [], threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                self._reply(200, calls) if self.path == "/calls" else self._reply(404, {})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            is_json = self.headers.get("Content-Type", "").startswith("application/json")
            params = json.loads(raw) if is_json else dict(parse_qsl(raw))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, body = answer(self.path, headers, params)
            with lock:
                calls.append({"path": self.path, "headers": headers, "params": params,
                              "status": status, "response": body})
            if status == DROP:
                self.close_connection = True
                return
            self._reply(status, body)

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
