"""`GET /health/live` and `GET /health/ready`, for load balancers and orchestrators.

Rasa answers `GET /` with 200 whatever its stores do: a replica that cannot reach PostgreSQL or
Redis stays in haproxy's rotation and refuses its share of messages with 503 for ever. Here:

- `/health/live`: 200 when the process answers (a liveness probe restarts it otherwise);
- `/health/ready`: 200 when the model is loaded and the tracker store and the lock store each
  answer within CHECK_TIMEOUT (a query, a Redis PING), else 503. The event broker is checked
  too (its port answers within CHECK_TIMEOUT); when events go through the outbox
  (stores/outbox.py, PostgreSQL and RabbitMQ) a broker outage costs nothing but a delay, so it
  is reported and the replica stays ready; a broker written to from memory makes it not ready.

Neither needs a token, so neither says more than up or down per store: no host, no error.
The checks run in threads; a store whose last check has not returned yet is down, so a hung
store never piles up threads. Each worker answers for itself (each has its own connections).
"""
import asyncio
import socket
from typing import Any, Callable, Dict, Optional

from sanic import response

CHECK_TIMEOUT = 1.0
UP, DOWN = "up", "down"

_running: Dict[str, asyncio.Future] = {}  # per store, the check still running (this process)


async def probe(name: str, check: Callable[[], Any], timeout: float = CHECK_TIMEOUT) -> bool:
    """Whether `check` (blocking) returns without raising within `timeout` seconds."""
    pending = _running.get(name)
    if pending is not None and not pending.done():
        return False
    future = asyncio.get_running_loop().run_in_executor(None, check)
    future.add_done_callback(lambda done: done.cancelled() or done.exception())
    _running[name] = future
    try:
        await asyncio.wait_for(asyncio.shield(future), timeout)
        return True
    except Exception:
        return False


def unwrapped(tracker_store: Any) -> Any:
    """The store inside Rasa's FailSafeTrackerStore."""
    return getattr(tracker_store, "_tracker_store", tracker_store)


def broker_check(broker: Any) -> Optional[Callable[[], None]]:
    host, port = getattr(broker, "host", None), getattr(broker, "port", None)
    if not host or not port:
        return None
    return lambda: socket.create_connection((host, int(port)), timeout=CHECK_TIMEOUT).close()


async def readiness(agent: Any) -> Dict[str, Any]:
    """`{"status": "ready" | "not ready", "checks": {name: "up" | "down"}}`."""
    checks: Dict[str, str] = {"model": UP if agent is not None and agent.is_ready() else DOWN}
    required = {"model"}
    tracker_store = unwrapped(agent.tracker_store) if agent is not None else None
    probes: Dict[str, Callable[[], Any]] = {}
    if tracker_store is not None and hasattr(tracker_store, "ping"):
        probes["tracker_store"] = tracker_store.ping
    lock_store = getattr(agent, "lock_store", None)
    if lock_store is not None and hasattr(lock_store, "ping"):
        probes["lock_store"] = lock_store.ping
    required |= set(probes)
    broker = getattr(tracker_store, "event_broker", None)
    check = broker_check(broker) if broker is not None else None
    if check is not None:
        probes["event_broker"] = check
        if not getattr(tracker_store, "relays_events", False):
            required.add("event_broker")
    results = await asyncio.gather(*(probe(name, check) for name, check in probes.items()))
    checks.update({name: UP if ok else DOWN for name, ok in zip(probes, results)})
    ready = all(checks[name] == UP for name in required)
    return {"status": "ready" if ready else "not ready", "checks": checks}


def routes(app: Any) -> None:
    """Adds the two routes to Rasa's Sanic app."""

    @app.route("/health/live", methods=["GET"], name="assistant_health_live")
    async def live(_request: Any) -> Any:
        return response.json({"status": "live"})

    @app.route("/health/ready", methods=["GET"], name="assistant_health_ready")
    async def ready(request: Any) -> Any:
        state = await readiness(getattr(request.app.ctx, "agent", None))
        return response.json(state, status=200 if state["status"] == "ready" else 503)


def with_operations_routes(configure_app: Callable) -> Callable:
    """rasa.core.run.configure_app, whose app also answers /health/live, /health/ready
    (here) and /metrics (runtime/metrics.py), none of them behind the channels' tokens."""
    import functools

    from runtime import metrics

    @functools.wraps(configure_app)
    def configured(*args: Any, **kwargs: Any) -> Any:
        app = configure_app(*args, **kwargs)
        routes(app)
        metrics.route(app)
        return app

    return configured
