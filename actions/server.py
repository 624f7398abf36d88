"""The action server, as `rasa run actions` starts it but safe by default:

    ACTION_SERVER_TOKEN=... python -m actions.server --port 5055 [--host 127.0.0.1]

- it listens on 127.0.0.1 unless told otherwise (rasa_sdk listens on every interface);
- every request but /health must carry `Authorization: Bearer $ACTION_SERVER_TOKEN`, which Rasa
  sends from endpoints.yml (`action_endpoint.headers`); others get 401, and without a token the
  server does not start;
- a failing action answers 500 with a bare error and logs the request's path, the exception's
  type and the traceback, without the exception's message: rasa_sdk's answer carries the whole
  request (the tracker, with every user's message) and logs it;
- no CORS headers unless `--cors` is given: only Rasa calls it, never a browser;
- malformed framing, slow and idle clients and too many connections are dealt with as for Rasa
  (runtime/connections.py; ASSISTANT_PATCHES=off runs Sanic as shipped).

The other options are rasa_sdk's (`--actions`, `--ssl-*`, `--auto-reload`, logging).
"""
import hmac
import logging
import os
import sys
import traceback
from typing import Optional

from rasa_sdk import endpoint, utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.request import Request

from runtime import connections, guard

logger = logging.getLogger(__name__)

TOKEN_VARIABLE = "ACTION_SERVER_TOKEN"
# Rasa sends the whole tracker with every call: far more than a chat message, and it grows with
# the conversation. Sanic's default (100 MB) would apply, or SANIC_REQUEST_MAX_SIZE if it is set
# for Rasa's 64 KB; this server is on loopback and authenticated, so it takes what Rasa sends.
REQUEST_MAX_SIZE = 100 * 1024 * 1024


def failure_summary(error: BaseException) -> str:
    """The exception's type and where it was raised, without its message (which may quote the
    tracker)."""
    frames = "".join(traceback.format_tb(error.__traceback__))
    return f"{type(error).__module__}.{type(error).__qualname__}\n{frames}"


def create_app(actions: str, token: str, cors_origins: Optional[list] = None,
               auto_reload: bool = False) -> Sanic:
    app = endpoint.create_app(actions, cors_origins=cors_origins, auto_reload=auto_reload)
    app.config.REQUEST_MAX_SIZE = REQUEST_MAX_SIZE
    expected = f"Bearer {token}".encode()

    @app.middleware("request")
    async def require_token(request: Request) -> Optional[response.HTTPResponse]:
        # A request Sanic could not read (no head) comes here on its way to the error handler,
        # which refuses it (400, runtime/connections.py): no handler runs for it.
        if request.path == "/health" or request.method == "OPTIONS" or not request.head:
            return None
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return response.json({"error": "unauthorized"}, status=401)
        return None

    @app.exception(Exception)
    async def failure(request: Request, error: Exception) -> response.HTTPResponse:
        status = getattr(error, "status_code", 500)  # Sanic's own errors: 404, 405, 413, ...
        if status >= 500:
            logger.error(f"{request.method} {request.path} failed: {failure_summary(error)}")
            return response.json({"error": "the action server failed"}, status=500)
        return response.json({"error": type(error).__name__}, status=status)

    return app


def main() -> None:
    parser = endpoint.create_argument_parser()
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default 127.0.0.1: loopback only)")
    parser.set_defaults(actions="actions")
    args = parser.parse_args()
    if guard.enabled():
        guard.install([connections.GUARDED_CONNECTIONS])
    token = os.environ.get(TOKEN_VARIABLE)
    if not token:
        sys.exit(f"{TOKEN_VARIABLE} is not set: the action server needs the secret Rasa sends "
                 f"(`make run` generates one into .env)")

    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file,
                                 args.loglevel, args.logging_config_file)
    utils.update_sanic_log_level()

    app = create_app(args.actions, token, args.cors, args.auto_reload)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    ssl = endpoint.create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    logger.info(f"Action server on {'https' if ssl else 'http'}://{args.host}:{args.port}")
    app.run(args.host, args.port, ssl=ssl, workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    main()
