"""The tracker store the assistant writes, opened the way the review needs it: read-only,
events streamed one conversation after another, and old conversations purged on request.

The store is the one the assistant runs with (ASSISTANT_STORES: endpoints.yml's SQLite file by
default, endpoints.production.yml's PostgreSQL in production), with the same environment
variables, read through envtemplate.py. Only the `tracker_store` section is used, so the review
needs none of the broker's or the lock store's secrets.
"""
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Optional, Tuple

import sqlalchemy as sa
import yaml

import envtemplate

# Rows fetched from the database at a time: memory stays the same however large the store.
BATCH_ROWS = 5000
# The event types whose `data` the review reads; for the others the columns suffice.
READ_DATA = ("user", "bot", "slot")
AGE = re.compile(r"^(\d+)([hdw])$")
AGE_SECONDS = {"h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """Seconds in an age such as 36h, 7d or 2w."""
    match = AGE.match(text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not an age such as 36h, 7d or 2w")
    return int(match.group(1)) * AGE_SECONDS[match.group(2)]


def cutoff(age: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """The timestamp `age` ago (None: no cutoff)."""
    return None if age is None else (time.time() if now is None else now) - parse_age(age)


def tracker_store_settings(endpoints: Optional[Path] = None,
                           env: Mapping[str, str] = os.environ) -> Dict[str, Any]:
    """The tracker store's settings, every variable replaced by its value: the assistant's
    (the file ASSISTANT_STORES chooses, with the environment's settings), or an endpoints
    file's (one envtemplate.py wrote, or any Rasa endpoints file)."""
    if endpoints is None:
        _, sections, incomplete = envtemplate.sections_for("endpoints", env)
        name = "the assistant's endpoints file"
    else:
        sections, name = yaml.safe_load(endpoints.read_text()) or {}, str(endpoints)
        incomplete = {"tracker_store": envtemplate.missing_variables(
            sections.get("tracker_store"), env)}
    if incomplete.get("tracker_store"):
        raise ValueError(f"{name}: the tracker store needs "
                         f"{', '.join(incomplete['tracker_store'])}")
    settings = sections.get("tracker_store")
    if not settings:
        raise ValueError(f"{name} has no tracker store: conversations are kept in memory")
    return {key: envtemplate.value_of(value, env) if isinstance(value, str) else value
            for key, value in settings.items()}


def database_url(settings: Dict[str, Any], read_only: bool = True) -> sa.engine.URL:
    """The SQLAlchemy URL of a SQL tracker store's settings (Rasa's `SQL` ones)."""
    dialect = settings.get("dialect", "sqlite")
    if dialect == "sqlite":
        path = Path(settings.get("db", "rasa.db")).resolve()
        if not path.exists():  # SQLite would create an empty file
            raise FileNotFoundError(f"no tracker store at {path}")
        query = {"mode": "ro", "uri": "true"} if read_only else {}
        return sa.engine.URL.create("sqlite", database=f"file:{path}" if read_only else str(path),
                                    query=query)
    if dialect != "postgresql":
        raise ValueError(f"the review reads SQLite and PostgreSQL stores, not {dialect}")
    return sa.engine.URL.create("postgresql", username=settings.get("username") or None,
                                password=settings.get("password") or None,
                                host=settings.get("url") or None,
                                port=int(settings["port"]) if settings.get("port") else None,
                                database=settings.get("db"))


def engine_for(settings: Dict[str, Any], read_only: bool = True) -> sa.engine.Engine:
    url = database_url(settings, read_only)
    if url.get_backend_name() == "postgresql" and read_only:
        # Any write the review might attempt fails in the database itself.
        return sa.create_engine(url, connect_args={
            "options": "-c default_transaction_read_only=on"})
    return sa.create_engine(url)


@dataclass
class Event:
    sender_id: str
    type_name: str
    timestamp: float
    data: Optional[Dict[str, Any]]  # the stored event, for READ_DATA types only


def events(engine: sa.engine.Engine, since: Optional[float] = None) -> Iterator[Event]:
    """The stored events from `since` on, each conversation's together and in order,
    streamed (a server-side cursor on PostgreSQL)."""
    query = sa.text(
        "SELECT sender_id, type_name, timestamp, "
        f"CASE WHEN type_name IN ({', '.join(repr(t) for t in READ_DATA)}) THEN data END "
        "FROM events WHERE timestamp >= :since ORDER BY sender_id, id")
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, max_row_buffer=BATCH_ROWS
                                              ).execute(query, {"since": since or 0.0})
        for rows in result.partitions(BATCH_ROWS):
            for sender_id, type_name, timestamp, data in rows:
                yield Event(sender_id, type_name, timestamp or 0.0,
                            json.loads(data) if data else None)


def old_conversations(engine: sa.engine.Engine, before: float) -> Tuple[int, int]:
    """How many conversations had their last event before `before`, and their events."""
    with engine.connect() as connection:
        row = connection.execute(sa.text(
            "SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM events "
            "GROUP BY sender_id HAVING max(timestamp) < :before) old"), {"before": before}
        ).fetchone()
    return int(row[0]), int(row[1])


def purge(engine: sa.engine.Engine, before: float) -> Tuple[int, int]:
    """Deletes the conversations whose last event is older than `before` (all their events,
    so no conversation is left half-remembered); how many, and their events."""
    with engine.begin() as connection:
        conversations = connection.execute(sa.text(
            "SELECT count(*) FROM (SELECT sender_id FROM events GROUP BY sender_id "
            "HAVING max(timestamp) < :before) old"), {"before": before}).scalar()
        deleted = connection.execute(sa.text(
            "DELETE FROM events WHERE sender_id IN (SELECT sender_id FROM events "
            "GROUP BY sender_id HAVING max(timestamp) < :before)"), {"before": before}).rowcount
    return int(conversations), int(deleted)
