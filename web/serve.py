"""Serves the widget (web/static/) and a demo page embedding it:

    python -m web.serve [--port 8080] [--server-url http://localhost:5005] [--title TITLE]

The demo page gets the Rasa server's URL and the title from the command line. Files are sent
with a Content-Security-Policy that allows scripts and styles from this server only and
connections to the Rasa server only, so even a rendering bug could not run injected script.
Only the files in web/static/ are served; no directory listings.
"""
import argparse
import html
import http.server
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

STATIC = Path(__file__).resolve().parent / "static"


def websocket_origin(server_url: str) -> str:
    parts = urlsplit(server_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}"


class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, server_url: str, title: str, **kwargs) -> None:
        self.server_url, self.title = server_url, title
        super().__init__(*args, directory=str(STATIC), **kwargs)

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy",
                         "default-src 'self'; script-src 'self'; style-src 'self'; "
                         f"connect-src {self.server_url} {websocket_origin(self.server_url)}; "
                         "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                         "frame-ancestors 'none'")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def do_GET(self) -> None:
        if urlsplit(self.path).path in ("/", "/index.html"):
            page = (STATIC / "index.html").read_text()
            page = (page.replace("{{SERVER_URL}}", html.escape(self.server_url))
                    .replace("{{TITLE}}", html.escape(self.title)))
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def list_directory(self, path):
        self.send_error(404)
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--server-url", default="http://localhost:5005",
                        help="the Rasa server the widget talks to (its socket.io channel)")
    parser.add_argument("--title", default="Outsourcing assistant")
    args = parser.parse_args()
    handler = partial(Handler, server_url=args.server_url.rstrip("/"), title=args.title)
    with http.server.ThreadingHTTPServer((args.host, args.port), handler) as server:
        print(f"Demo page with the widget: http://{args.host}:{args.port}/ "
              f"(talking to {args.server_url})", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
