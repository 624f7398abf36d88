"""What Sanic 21.12, the web server of Rasa and of the action server (rasa_sdk), does with a
connection before any handler sees the request, made safe for a server facing the internet.
Both entry points apply it (runtime/__main__.py, actions/server.py); docs/security.md, "Connections".

- Framing. Sanic trusts Content-Length: with `-1` its body reader loops forever at full CPU in
  the worker, which then answers nothing and ignores SIGTERM (one request per worker stops the
  server); a non-numeric one or a Transfer-Encoding other than `chunked` gets a 500. A request
  whose length is not plain digits, comes twice or comes with Transfer-Encoding, whose
  Transfer-Encoding is not just `chunked`, or whose header is over Sanic's limit is answered 400
  before any body is read, and its connection closed: a proxy in front may frame the same bytes
  differently (request smuggling).
- Slow clients. Sanic's request timeout restarts with every byte, so a client sending a header
  byte now and then holds its connection for ever, and Rasa keeps idle connections for minutes.
  Here the whole header must arrive within HEADER_TIMEOUT of its first byte, a body within
  BODY_TIMEOUT of its header (408 otherwise), and an idle connection is closed after
  KEEP_ALIVE_TIMEOUT.
- Connections per worker. Without a bound, idle connections exhaust the worker's file limit and
  real users get no answer. Past `max_connections()`, each new connection closes the least
  recently active one still waiting for its request (never one being answered or a websocket).

This replaces a part of Sanic's internals: GUARDED_CONNECTIONS, a patch of runtime/patches.py's
list (runtime/guard.py: other versions refused, ASSISTANT_PATCHES=off runs Sanic as shipped).
"""
import logging
import os
import re
import resource
import sys
from time import monotonic
from typing import Callable, Dict, Optional, Type

from sanic import Sanic
from sanic.exceptions import InvalidUsage, PayloadTooLarge, RequestTimeout, SanicException
from sanic.http import Http, Stage

from runtime.guard import Patch

logger = logging.getLogger(__name__)

CAP_VARIABLE = "ASSISTANT_MAX_CONNECTIONS"
HEADER_TIMEOUT = 10  # seconds from a request's first byte to the end of its header
BODY_TIMEOUT = 30  # seconds from the end of the header to the end of the body
KEEP_ALIVE_TIMEOUT = 15  # seconds an idle connection is kept (Rasa sets 120)
DEFAULT_MAX_CONNECTIONS = 1000
FILES_KEPT_FREE = 100  # for the model, the stores and the calls to the action server
LENGTH = re.compile(r"[0-9]+")


def max_connections() -> int:
    """ASSISTANT_MAX_CONNECTIONS, else DEFAULT_MAX_CONNECTIONS, within the file limit."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    within = soft - FILES_KEPT_FREE if soft != resource.RLIM_INFINITY else sys.maxsize
    wanted = int(os.environ.get(CAP_VARIABLE) or DEFAULT_MAX_CONNECTIONS)
    return max(1, min(wanted, within))


def framing_problem(headers) -> Optional[str]:
    lengths = headers.getall("content-length", [])
    encodings = headers.getall("transfer-encoding", [])
    if len(lengths) > 1:
        return "more than one Content-Length"
    if lengths and not LENGTH.fullmatch(lengths[0]):
        return "a Content-Length that is not a number of bytes"
    if lengths and encodings:
        return "both Content-Length and Transfer-Encoding"
    if encodings and [encoding.lower() for encoding in encodings] != ["chunked"]:
        return "a Transfer-Encoding other than chunked"
    return None


class CheckedHttp(Http):
    """Sanic's HTTP/1.1 request cycle, refusing malformed framing and timing the header."""

    # Sanic rewrites the methods its __touchup__ names, on Http itself: this subclass names
    # none, so its override stays and calls the rewritten original.
    __touchup__ = ()

    async def http1_request_header(self) -> None:
        self.protocol.head_started = monotonic()
        try:
            await super().http1_request_header()
            problem = framing_problem(self.request.headers)
            if problem is None and len(self.request.head) > self.HEADER_MAX_SIZE:
                problem = "a header over the size limit"  # all of it came in one read
        except PayloadTooLarge:  # the header alone is over the limit
            problem = "a header over the size limit"
        except SanicException:
            raise
        except Exception:  # Sanic's int() of the length, or its lookup of a missing one
            problem = "a Content-Length or Transfer-Encoding that cannot be read"
        finally:
            self.protocol.head_started = None
        if problem is not None:
            # Nothing of the body is read (Sanic reads what is left of a body after answering,
            # which is where a negative length loops) and the connection is closed.
            self.request_body = None
            self.request_bytes_left = self.request_bytes = 0
            self.keep_alive = False
            raise InvalidUsage(f"Bad Request: {problem}")
        if self.request_body:
            self.protocol.body_started = monotonic()


class GuardedConnection:
    """Mixed into the protocol class Sanic serves with (HttpProtocol, or WebSocketProtocol when
    the app has websockets, as Rasa's socket.io channel does)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.head_started: Optional[float] = None
        self.body_started: Optional[float] = None
        self.max_connections = max_connections()
        # Sanic checks these idle times every half of the smallest one.
        self.keep_alive_timeout = min(self.keep_alive_timeout, KEEP_ALIVE_TIMEOUT)
        self.request_timeout = min(self.request_timeout, HEADER_TIMEOUT)

    def _setup_connection(self) -> None:
        self._http = CheckedHttp(self)
        self._time = monotonic()
        self.check_timeouts()

    def check_timeouts(self) -> None:
        http, now = self._http, monotonic()
        if self._task and http is not None:
            late = None
            if (http.stage is Stage.REQUEST and self.head_started is not None
                    and now - self.head_started > HEADER_TIMEOUT):
                late = "Request header not received in time"
            elif (http.stage is Stage.HANDLER and http.request_body
                  and self.body_started is not None and now - self.body_started > BODY_TIMEOUT):
                late = "Request body not received in time"
            if late:
                http.exception = RequestTimeout(late)
                self._task.cancel()
                return
        super().check_timeouts()

    def waiting(self) -> bool:
        """Whether the connection is between requests or still receiving a header."""
        http = getattr(self, "_http", None)  # set once the connection's task has started
        return http is None or http.stage in (Stage.IDLE, Stage.REQUEST)

    def connection_made(self, transport) -> None:
        self._time = monotonic()
        super().connection_made(transport)
        if len(self.connections) <= self.max_connections:
            return
        live = [connection for connection in self.connections
                if connection.transport is not None and not connection.transport.is_closing()]
        excess = len(live) - self.max_connections
        if excess <= 0:
            return
        waiting = sorted((connection for connection in live if connection.waiting()),
                         key=lambda connection: connection._time)
        for connection in waiting[:excess]:
            connection.transport.abort()
        _report_cap(self.max_connections)


_last_report = [float("-inf")]


def _report_cap(cap: int) -> None:
    if monotonic() - _last_report[0] > 60:
        _last_report[0] = monotonic()
        logger.warning(f"A worker has {cap} connections open (its cap, {CAP_VARIABLE}): new "
                       f"ones close the least recently active waiting for a request")


_guarded: Dict[type, type] = {}


def guarded(protocol: Type) -> Type:
    """`protocol` with GuardedConnection mixed in (one class per protocol)."""
    if issubclass(protocol, GuardedConnection):
        return protocol
    if protocol not in _guarded:
        _guarded[protocol] = type(f"Guarded{protocol.__name__}", (GuardedConnection, protocol),
                                  {"__touchup__": ()})
    return _guarded[protocol]


def _guarding_connections(helper: Callable) -> Callable:
    """Every Sanic app started from now on serves with the guarded protocol."""
    def _helper(self: Sanic, *args, **kwargs) -> dict:
        settings = helper(self, *args, **kwargs)
        settings["protocol"] = guarded(settings["protocol"])
        return settings

    return _helper


GUARDED_CONNECTIONS = Patch(Sanic, "_helper", _guarding_connections, "sanic",
                            "tests/integration/test_connections.py")
