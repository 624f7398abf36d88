"""stores/tracker.py: trackers hold the recent turns and the state from before them, the database
keeps every event exactly once, and a conversation another process wrote to is re-read."""
import asyncio
import os
import sqlite3
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered

from harness.launcher import PROJECT
from stores.lock import SQLiteLockStore
from stores.tracker import WindowedSQLTrackerStore

DOMAIN = Domain.load(PROJECT / "domain.yml")


def store(db, **settings) -> WindowedSQLTrackerStore:
    return WindowedSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db), **settings)


async def turn(tracker_store, sender, text, intent="ask_definition", events=()):
    """One message as Rasa's processor handles it: retrieve, add the turn's events, save."""
    tracker = await tracker_store.get_or_create_tracker(sender)
    tracker.update(UserUttered(text, {"name": intent, "confidence": 1.0}))
    tracker.update(ActionExecuted("action_answer_question"))
    tracker.update(BotUttered(f"answer to {text}"))
    for event in events:
        tracker.update(event)
    tracker.update(ActionExecuted("action_listen"))
    await tracker_store.save(tracker)


def user_texts(tracker) -> list:
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


def stored_rows(db, sender) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute("select count(*) from events where sender_id = ?",
                                  (sender,)).fetchone()[0]


def test_a_long_conversation_is_retrieved_as_its_recent_turns_and_stored_whole(tmp_path):
    async def scenario():
        db = tmp_path / "tracker.db"
        windowed = store(db, window_turns=5)
        await turn(windowed, "u", "message 0", events=[SlotSet("subject", "KPO")])
        for n in range(1, 40):
            await turn(windowed, "u", f"message {n}")
        tracker = await windowed.retrieve("u")
        assert user_texts(tracker) == [f"message {n}" for n in range(35, 40)]
        assert tracker.get_slot("subject") == "KPO"  # set 39 messages ago
        assert tracker.latest_message.text == "message 39"
        full = await windowed.retrieve_full_tracker("u")
        assert user_texts(full) == [f"message {n}" for n in range(40)]
        # every event once: 1 action_listen at creation + 4 per turn + the slot
        assert stored_rows(db, "u") == 1 + 40 * 4 + 1
        # a fresh process (an empty cache) sees the same window
        again = await store(db, window_turns=5).retrieve("u")
        assert user_texts(again) == user_texts(tracker)
        assert again.get_slot("subject") == "KPO"

    asyncio.run(scenario())


def test_slots_set_and_reset_before_the_window_keep_their_latest_value(tmp_path):
    async def scenario():
        windowed = store(tmp_path / "tracker.db", window_turns=3)
        await turn(windowed, "u", "first", events=[SlotSet("subject", "KPO"),
                                                   SlotSet("aspect", "risks")])
        await turn(windowed, "u", "second", events=[SlotSet("subject", "BPO"),
                                                    SlotSet("aspect", None)])
        for n in range(10):
            await turn(windowed, "u", f"later {n}")
        tracker = await windowed.retrieve("u")
        assert (tracker.get_slot("subject"), tracker.get_slot("aspect")) == ("BPO", None)

    asyncio.run(scenario())


def test_an_active_form_stays_active_across_the_window(tmp_path):
    async def scenario():
        windowed = store(tmp_path / "tracker.db", window_turns=2)
        await turn(windowed, "u", "start the form", events=[ActiveLoop("some_form")])
        for n in range(5):
            await turn(windowed, "u", f"answer {n}")
        assert (await windowed.retrieve("u")).active_loop_name == "some_form"
        await turn(windowed, "u", "done", events=[ActiveLoop(None)])
        for n in range(5):
            await turn(windowed, "u", f"after {n}")
        assert (await windowed.retrieve("u")).active_loop_name is None

    asyncio.run(scenario())


def test_a_conversation_written_by_another_process_is_reread(tmp_path):
    async def scenario():
        db = tmp_path / "tracker.db"
        replica_a, replica_b = store(db), store(db)
        await turn(replica_a, "u", "to a")
        await turn(replica_b, "u", "to b", events=[SlotSet("subject", "BPO")])
        tracker = await replica_a.retrieve("u")
        assert user_texts(tracker) == ["to a", "to b"]
        assert tracker.get_slot("subject") == "BPO"
        await turn(replica_a, "u", "to a again")
        assert stored_rows(db, "u") == 1 + 3 * 4 + 1

    asyncio.run(scenario())


def test_conversations_are_kept_apart_and_unknown_ones_are_none(tmp_path):
    async def scenario():
        windowed = store(tmp_path / "tracker.db", cache_conversations=1)
        await turn(windowed, "a", "from a")
        await turn(windowed, "b", "from b")  # pushes a out of the cache
        assert user_texts(await windowed.retrieve("a")) == ["from a"]
        assert user_texts(await windowed.retrieve("b")) == ["from b"]
        assert await windowed.retrieve("nobody") is None

    asyncio.run(scenario())


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(ValueError):
        store(tmp_path / "tracker.db", window_turns=0)


def test_the_conversation_store_and_its_logs_are_readable_by_their_owner_only(tmp_path):
    """Even under a umask that makes files world-readable, and for a file made before."""
    old = os.umask(0o022)
    try:
        earlier = tmp_path / "earlier.db"
        earlier.touch(mode=0o644)
        for db in (tmp_path / "tracker.db", earlier):
            tracker_store = store(db)
            asyncio.run(turn(tracker_store, "owner-only", "what is kpo"))
            SQLiteLockStore(db=str(db))
            files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
            assert all(path.exists() for path in files)
            assert {path.name: oct(path.stat().st_mode & 0o777) for path in files} == {
                path.name: "0o600" for path in files}
    finally:
        os.umask(old)
