"""A SQL tracker store whose trackers hold the conversation's recent turns, so a message costs the
same at the 200th turn as at the 2nd.

Rasa 3.6's SQLTrackerStore reads and replays every event of the session for each message, and
the processor then copies the tracker per action, RulePolicy featurises it from its first event
several times, and the whole of it goes to the action server as JSON: each message costs time in
proportion to the conversation's length. This store keeps every event in the database as Rasa's
does (same table, same rows: `retrieve_full_tracker`, the HTTP API and `rasa export` see the whole
conversation), but the tracker it hands to the processor starts `window_turns` user messages
back, with the state from before them folded into its first events: the slots' values and the
active loop (form). Rules and forms look at the last turns and the slots (this assistant's rules
at most two turns back); the actions read the slots and the latest messages. Four turns: RulePolicy
featurises every turn of the tracker for each prediction, and under load 10 turns cost a third
of the replies per second (docs/speed.md).

The windowed trackers of recent conversations are kept in the process (`cache_conversations`,
least recently used first out) and checked against the database's newest event id of the
conversation on each retrieval, so a conversation written by another process (a replica) is
re-read rather than served stale. SQLite databases are switched to a write-ahead log.

In endpoints.yml, with the settings of Rasa's `SQL` store (dialect, db, url, port, ...):

    tracker_store:
      type: stores.tracker.WindowedSQLTrackerStore
      dialect: sqlite
      db: tracker.db
      window_turns: 4           # optional
      cache_conversations: 2000 # optional
"""
import json
import logging
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted, ActiveLoop, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from stores.files import owner_only_sqlite

logger = logging.getLogger(__name__)

# How many of a tracker's events are in the database: set on the trackers this store hands out,
# so that `save` writes exactly the events the processor added (a windowed tracker's length says
# nothing about the database's).
STORED_EVENTS = "_stored_events"


def window(tracker: DialogueStateTracker, turns: int) -> List[Event]:
    """The tracker's events from its `turns`-th last user message on, after events that restore
    the state it had there: a session start, the slots set by then and the active loop."""
    events = list(tracker.events)
    user_messages = [i for i, event in enumerate(events) if isinstance(event, UserUttered)]
    if len(user_messages) <= turns:
        return events
    cut = user_messages[-turns]
    before = DialogueStateTracker.from_events(tracker.sender_id, events[:cut],
                                              list(tracker.slots.values()))
    timestamp = events[cut].timestamp
    state: List[Event] = [ActionExecuted(ACTION_SESSION_START_NAME, timestamp=timestamp),
                          SessionStarted(timestamp=timestamp)]
    state += [SlotSet(slot.name, slot.value, timestamp=timestamp)
              for slot in before.slots.values() if slot.value != slot.initial_value]
    if before.active_loop_name:
        state.append(ActiveLoop(before.active_loop_name, timestamp=timestamp))
    state.append(ActionExecuted(ACTION_LISTEN_NAME, timestamp=timestamp))
    return state + events[cut:]


def _write_ahead_log(connection, _record) -> None:
    """SQLite commits by syncing its journal to disk: each message's save waited for disk syncs
    (10% of the server's time under load). With a write-ahead log synced at checkpoints a crash
    of the process loses nothing and a power cut at most the last few messages, never the
    file."""
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")


# Any number of PostgreSQL's: the advisory lock replicas take while they create the store.
CREATING_LOCK = 0x6B706F62706F


@contextmanager
def _creating_alone(settings: Dict[str, Any]) -> Iterator[None]:
    """Replicas starting together each create the database and the tables (Rasa's store does
    it at start-up): one at a time, the later ones find them made, where each that lost the race
    logged an error. Closing the connection lets the lock go."""
    if settings.get("dialect") != "postgresql":
        yield
        return
    port = settings.get("port")
    url = SQLTrackerStore.get_db_url(
        "postgresql", settings.get("host"), int(port) if port else None,
        settings.get("db", "rasa.db"), settings.get("username"), settings.get("password"),
        settings.get("login_db"), settings.get("query"))
    engine = sa.create_engine(url)
    try:
        connection = engine.connect()
    except sa.exc.OperationalError:  # not up yet: Rasa's store waits for it
        engine.dispose()
        yield
        return
    try:
        connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": CREATING_LOCK})
        yield
    finally:
        connection.close()
        engine.dispose()


class WindowedSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQLTrackerStore (same database and rows) handing out windowed trackers."""

    def __init__(self, *args: Any, window_turns: int = 4, cache_conversations: int = 2000,
                 **kwargs: Any) -> None:
        if kwargs.get("dialect") == "sqlite":
            owner_only_sqlite(kwargs.get("db", "rasa.db"))  # Rasa's default name
        with _creating_alone(kwargs):
            super().__init__(*args, **kwargs)
        if int(window_turns) < 1 or int(cache_conversations) < 0:
            raise ValueError("window_turns must be >= 1 and cache_conversations >= 0")
        if self.engine.dialect.name == "sqlite":
            # SQLAlchemy 1.4 opens and closes a SQLite connection per query, and closing the
            # last one checkpoints the log: keep one open per thread (the server has one).
            self._replace_engine(poolclass=sa.pool.SingletonThreadPool)
            sa.event.listen(self.engine, "connect", _write_ahead_log)
        elif self.engine.dialect.name == "postgresql":
            # A connection an outage broke stays pooled until its next use, which failed: after
            # every outage each worker refused one message. A ping on checkout reconnects.
            self._replace_engine(pool_pre_ping=True, **create_engine_kwargs(self.engine.url))
        self.window_turns = int(window_turns)
        self.cache_conversations = int(cache_conversations)
        events = self.SQLEvent.__table__
        self._newest = sa.select(sa.func.max(events.c.id)).where(
            events.c.sender_id == sa.bindparam("sender_id"))
        # sender id -> (id of its newest event in the database, its windowed events as dicts)
        self._recent: "OrderedDict[Text, tuple]" = OrderedDict()

    def _replace_engine(self, **settings: Any) -> None:
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, **settings)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        newest = self._newest_event_id(sender_id)
        cached = self._recent.get(sender_id)
        if newest is not None and cached and cached[0] == newest:
            self._recent.move_to_end(sender_id)
            events = cached[1]
        else:
            full = await super().retrieve(sender_id)
            if full is None:
                self._recent.pop(sender_id, None)
                return None
            events = [event.as_dict() for event in window(full, self.window_turns)]
            self._remember(sender_id, newest, events)
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        setattr(tracker, STORED_EVENTS, len(tracker.events))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        stored = getattr(tracker, STORED_EVENTS, None)
        if stored is None:  # not one of ours (a new conversation, the HTTP API's replacement)
            await super().save(tracker)
            newest = self._newest_event_id(tracker.sender_id)
        else:
            new_events = list(tracker.events)[stored:]
            if self.event_broker:
                await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)
            newest = self._append(tracker.sender_id, new_events)
        setattr(tracker, STORED_EVENTS, len(tracker.events))
        self._remember(tracker.sender_id, newest,
                       [event.as_dict() for event in window(tracker, self.window_turns)])

    def _append(self, sender_id: Text, events: List[Event]) -> Optional[int]:
        """Writes the rows SQLTrackerStore.save writes (one INSERT for all of them, without the
        ORM's bookkeeping of objects); the id of the newest event stored."""
        if not events:
            return self._newest_event_id(sender_id)
        rows = []
        for event in events:
            data = event.as_dict()
            rows.append({
                "sender_id": sender_id, "type_name": event.type_name,
                "timestamp": data.get("timestamp"),
                "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                "action_name": data.get("name"), "data": json.dumps(data)})
        with self.session_scope() as session:
            session.execute(self.SQLEvent.__table__.insert(), rows)
            newest = session.execute(self._newest, {"sender_id": sender_id}).scalar()
            session.commit()
        return newest

    def _newest_event_id(self, sender_id: Text) -> Optional[int]:
        with self.session_scope() as session:
            return session.execute(self._newest, {"sender_id": sender_id}).scalar()

    def _remember(self, sender_id: Text, newest: Optional[int], events: List[Dict]) -> None:
        if self.cache_conversations == 0 or newest is None:
            return
        self._recent[sender_id] = (newest, events)
        self._recent.move_to_end(sender_id)
        while len(self._recent) > self.cache_conversations:
            self._recent.popitem(last=False)
