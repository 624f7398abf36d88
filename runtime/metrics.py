"""What an operator scrapes: the assistant's counters in Prometheus's format (prometheus-client).

Rasa's worker processes (runtime/workers.py) each count in files of a directory they share,
PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode), and `GET /metrics`, whichever
worker answers it, reads them all: one replica's figures, summed over its workers.
`python -m runtime` sets the directory up before prometheus-client is imported
(runtime/__main__.py); any other process that imports this module (the action server, the
review tool, unit tests) counts in its own memory, harmlessly.

`GET /metrics` needs `Authorization: Bearer $METRICS_TOKEN`; without METRICS_TOKEN it answers
404 (the figures say how busy the assistant is and what fails: not for anyone who asks).
Metrics (docs/production.md):

    assistant_messages_total{channel, outcome}    messages taken (outcome: replied, store_down,
                                                  busy, failed, cancelled)
    assistant_reply_seconds{channel}              from a message's arrival to its replies
    assistant_answers_total{kind}                 answered, not_covered, suggestions, declined
                                                  (the answer_kind slot the actions set),
                                                  failed (the action failed or timed out)
    assistant_action_seconds{outcome}             calls to the action server (ok, failed,
                                                  timeout)
    assistant_store_errors_total{store}           tracker_store, lock_store, event_relay
    assistant_lock_wait_seconds                   a message's wait for its conversation's lock
    assistant_rate_limited_total                  messages refused by a rate limit
"""
import functools
import hmac
import os
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

# The kinds of answer the actions put in the `answer_kind` slot (actions/actions.py,
# actions/knowledge/facts.py; tests/unit/test_metrics.py checks they agree), and one of ours.
ANSWER_KIND_SLOT = "answer_kind"
ANSWER_KINDS = ("answered", "not_covered", "suggestions", "declined")
FAILED = "failed"
MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
TOKEN = "METRICS_TOKEN"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

MESSAGES = Counter("assistant_messages", "Messages taken, by channel and outcome",
                   ["channel", "outcome"])
REPLY_SECONDS = Histogram("assistant_reply_seconds", "From a message's arrival to its replies",
                          ["channel"], buckets=LATENCY_BUCKETS)
ANSWERS = Counter("assistant_answers", "Replies by kind", ["kind"])
ACTION_SECONDS = Histogram("assistant_action_seconds", "Calls to the action server",
                           ["outcome"], buckets=LATENCY_BUCKETS)
STORE_ERRORS = Counter("assistant_store_errors", "Failed operations of a store", ["store"])
LOCK_WAIT_SECONDS = Histogram("assistant_lock_wait_seconds",
                              "A message's wait for its conversation's lock",
                              buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20))
RATE_LIMITED = Counter("assistant_rate_limited", "Messages refused by a rate limit")


def answer_kind(kind: object) -> None:
    ANSWERS.labels(kind if kind in ANSWER_KINDS else "other").inc()


@contextmanager
def timed(histogram: Histogram) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.observe(time.perf_counter() - started)


def exposition() -> bytes:
    """The text of every metric, summed over this replica's processes."""
    if os.environ.get(MULTIPROCESS_DIRECTORY):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def authorized(header: str) -> bool:
    token = os.environ.get(TOKEN)
    return bool(token) and hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


def route(app) -> None:
    """Adds `GET /metrics` to Rasa's Sanic app."""
    from sanic import response

    @app.route("/metrics", methods=["GET"], name="assistant_metrics")
    async def metrics(request):
        if not os.environ.get(TOKEN):
            return response.json({"error": f"metrics are off: set {TOKEN}"}, status=404)
        if not authorized(request.headers.get("Authorization", "")):
            return response.json({"error": "a valid 'Authorization: Bearer <token>' header "
                                           "is required"}, status=401,
                                 headers={"WWW-Authenticate": "Bearer"})
        return response.raw(exposition(), content_type=CONTENT_TYPE_LATEST)


def outcome_of(error: BaseException) -> str:
    """What became of a turn that raised (runtime/turn_failures.py's kinds of failure)."""
    from rasa.core.lock_store import LockError

    from runtime.turn_failures import LockStoreUnreachable, TrackerStoreUnavailable
    if isinstance(error, (TrackerStoreUnavailable, LockStoreUnreachable)):
        return "store_down"
    if isinstance(error, LockError):
        return "busy"
    return FAILED


def measured_turns(handle_message: Callable) -> Callable:
    """Agent.handle_message, which every channel calls with each message: counted by channel
    and outcome, and timed until its replies are ready."""

    @functools.wraps(handle_message)
    async def measured(self: Any, message: Any) -> Any:
        channel = str(getattr(message, "input_channel", None) or "unknown")
        started = time.perf_counter()
        outcome = "replied"
        try:
            return await handle_message(self, message)
        except BaseException as error:
            outcome = outcome_of(error)
            if outcome == FAILED and not isinstance(error, Exception):
                outcome = "cancelled"  # the client went away, or the server stops
            elif outcome == FAILED:
                answer_kind(FAILED)
            raise
        finally:
            MESSAGES.labels(channel, outcome).inc()
            REPLY_SECONDS.labels(channel).observe(time.perf_counter() - started)

    return measured
