"""How the review (python -m review) scales: a tracker store of generated conversations, shaped
like the assistant's (user message, action, reply with buttons, the answer_kind slot, ...), read
and reviewed at two sizes; prints the events read per second and each run's peak memory (and what it
was before reading: the modules loaded), which stays the same as the store grows (the events are
streamed).

    .venv/bin/python bench/review_scale.py                 # SQLite, 1 000 000 events
    .venv/bin/python bench/review_scale.py --postgresql    # a database of its own on the local
                                                           # PostgreSQL (dropped afterwards)
    .venv/bin/python bench/review_scale.py --events 200000

Each size is read in a process of its own, so that its peak resident memory is its own.
"""
import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Rasa's `events` table (rasa.core.tracker_store.SQLTrackerStore.SQLEvent).
EVENTS = sa.Table("events", sa.MetaData(),
                  sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("sender_id", sa.String(255), nullable=False, index=True),
                  sa.Column("type_name", sa.String(255), nullable=False),
                  sa.Column("timestamp", sa.Float), sa.Column("intent_name", sa.String(255)),
                  sa.Column("action_name", sa.String(255)), sa.Column("data", sa.Text))
ANSWER = ("KPO stands for Knowledge Process Outsourcing. KPO is the offshoring of "
          "knowledge-intensive business processes that require specialised expertise. " * 3)
BUTTONS = [{"title": f"Question {i}?", "payload": f'/ask_risks{{"process": ["KPO"]}}{i}'}
           for i in range(3)]
ANSWERED = ["what is kpo", "how do kpo and bpo differ", "what are the risks of bpo"]
# A few hundred distinct unanswered wordings, as a real store would have.
UNANSWERED = [f"{w} {n}" for w in ("what is the attrition rate in bpo",
                                   "can i work from home in a bpo", "does genpact hire freshers",
                                   "how long are night shifts in a call centre")
              for n in ("please", "today", "in pune", "for freshers", "in 2024", "at tcs",
                        "for women", "after mba", "in hindi", "for graduates", "now", "really",
                        "honestly", "sir", "madam", "asap", "quickly", "in india", "abroad",
                        "in delhi", "in mumbai", "at night", "on weekends", "at infosys",
                        "at wipro", "with a degree", "without a degree", "at 40", "at 22", "")]
CONVERSATION_TURNS = 10
BATCH = 20_000


def turn_events(rng: random.Random, at: float) -> list:
    """One turn's events, as the assistant stores them: (type, intent, action, data)."""
    roll = rng.random()
    if roll < 0.70:
        text, kind, intent = rng.choice(ANSWERED), "answered", "ask_definition"
    elif roll < 0.85:
        text, kind, intent = rng.choice(UNANSWERED), "not_covered", "nlu_fallback"
    elif roll < 0.95:
        text, kind, intent = rng.choice(UNANSWERED), "suggestions", "nlu_fallback"
    elif roll < 0.98:
        text, kind, intent = "what's the weather", "declined", "out_of_scope"
    else:
        text, kind, intent = "/feedback_negative", None, "feedback_negative"
    ranking = [{"name": intent, "confidence": 0.5}, {"name": "ask_salary", "confidence": 0.3},
               {"name": "ask_risks", "confidence": 0.2}]
    events = [("user", intent, None, {"event": "user", "timestamp": at, "text": text,
                                      "parse_data": {"text": text, "intent": ranking[0],
                                                     "intent_ranking": ranking, "entities": []},
                                      "metadata": {}}),
              ("user_featurization", None, None, {"event": "user_featurization"}),
              ("action", None, "action_answer_question", {"event": "action",
                                                          "name": "action_answer_question"}),
              ("bot", None, None, {"event": "bot", "timestamp": at, "text": ANSWER,
                                   "data": {"buttons": BUTTONS}})]
    if kind:
        events.append(("slot", None, None, {"event": "slot", "name": "answer_kind",
                                            "value": kind}))
    events.append(("action", None, "action_listen", {"event": "action", "name": "action_listen"}))
    return events


def fill(engine: sa.engine.Engine, count: int) -> int:
    """Writes about `count` events, in conversations over the last 30 days; how many."""
    EVENTS.create(engine)
    rng = random.Random(0)
    written, rows, conversation = 0, [], 0
    start = time.time() - 30 * 86400
    while written < count:
        sender = f"bench-{conversation}"
        at = start + rng.random() * 29 * 86400
        for _ in range(CONVERSATION_TURNS):
            at += rng.random() * 60
            for type_name, intent, action, data in turn_events(rng, at):
                data["timestamp"] = at
                rows.append({"sender_id": sender, "type_name": type_name, "timestamp": at,
                             "intent_name": intent, "action_name": action,
                             "data": json.dumps(data)})
        conversation += 1
        if len(rows) >= BATCH or written + len(rows) >= count:
            with engine.begin() as connection:
                connection.execute(EVENTS.insert(), rows)
            written += len(rows)
            rows = []
    return written


def read(env: dict) -> dict:
    """Reviews the store `env` selects (in this process): seconds, events and peak memory."""
    os.environ.update(env)
    from pipeline.encoder import SentenceEncoder
    from review import store
    from review.__main__ import review
    encoder = SentenceEncoder.load()
    engine = store.engine_for(store.tracker_store_settings())
    with engine.connect() as connection:
        events = connection.execute(sa.text("SELECT count(*) FROM events")).scalar()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Rasa's modules...
    started = time.perf_counter()
    result = review(engine, None, encoder)
    seconds = time.perf_counter() - started
    return {"events": events, "seconds": seconds, "messages": result["messages"],
            "groups": len(result["unanswered"]["groups"]),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "loaded_mb": before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--read", help=argparse.SUPPRESS)  # a child: the env to read, as JSON
    args = parser.parse_args()
    if args.read:
        print(json.dumps(read(json.loads(args.read))))
        return
    for size in (args.events // 4, args.events):
        with tempfile.TemporaryDirectory() as tmp:
            env, drop = store_for(size, Path(tmp), args.postgresql)
            try:
                started = time.perf_counter()
                written = fill(sa_engine(env), size)
                filled = time.perf_counter() - started
                child = subprocess.run([sys.executable, __file__, "--read", json.dumps(env)],
                                       capture_output=True, text=True, check=True)
                figures = json.loads(child.stdout.strip().splitlines()[-1])
            finally:
                drop()
        print(f"{'PostgreSQL' if args.postgresql else 'SQLite'}: {written:,} events "
              f"(written in {filled:.0f} s) reviewed in {figures['seconds']:.1f} s "
              f"({figures['events'] / figures['seconds']:,.0f} events/s; "
              f"{figures['messages']:,} messages, {figures['groups']} groups), "
              f"peak memory {figures['peak_mb']:.0f} MB ({figures['loaded_mb']:.0f} MB before "
              f"reading)", flush=True)


def store_for(size: int, tmp: Path, postgresql: bool):
    """The environment that selects a new store, and what drops it."""
    if not postgresql:
        return ({"ASSISTANT_STORES": "embedded", "ASSISTANT_SQLITE_DB": str(tmp / "tracker.db")},
                lambda: None)
    database = f"review_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine("postgresql://postgres@127.0.0.1:5432/postgres",
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{database}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))

    return ({"ASSISTANT_STORES": "production", "POSTGRES_HOST": "127.0.0.1",
             "POSTGRES_PORT": "5432", "POSTGRES_DB": database, "POSTGRES_USER": "postgres"},
            drop)


def sa_engine(env: dict) -> sa.engine.Engine:
    from review import store
    settings = store.tracker_store_settings(env={**os.environ, **env})
    if settings.get("dialect") == "sqlite":
        Path(settings["db"]).touch()  # the review's engine opens existing files only
    return store.engine_for(settings, read_only=False)


if __name__ == "__main__":
    main()
