"""python -m review [--since 7d] [--json] [--out review/report.html]
python -m review --purge-older-than 90d [--dry-run]

Reads the conversations of the tracker store the assistant uses (endpoints.yml and the
environment, as `make run` does: ASSISTANT_STORES=production for PostgreSQL), read-only, and
writes the review as a self-contained HTML page; with --json, prints it as JSON too. docs/review.md.
"""
import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Optional

# Rasa, imported for runtime/turn_failures.py's texts, brings TensorFlow's start-up chatter.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from review import store  # noqa: E402 (after the setting above)
from review.figures import KINDS, Figures
from review.groups import group, nlu_snippet
from review.privacy import SenderHasher
from review.report import render

PROJECT = Path(__file__).resolve().parents[1]


def review(engine, since: Optional[float], encoder) -> Dict[str, Any]:
    """Everything the report shows, as JSON-ready data."""
    figures = Figures(SenderHasher()).read(store.events(engine, since))
    groups = group(list(figures.unanswered.values()), encoder)
    clicked = sorted(figures.clicks.values(), key=lambda c: (-c["count"], c["wording"]))
    by_intent: Dict[str, list] = {}
    for click in clicked:
        by_intent.setdefault(click["intent"], []).append(click["wording"])
    now = time.time()
    thumbs_down = figures.thumbs_down()
    for item in thumbs_down:
        item["time"] = _time(item["timestamp"])
    return {
        "window": {"since": _time(since) if since else None, "until": _time(now),
                   "description": (f"From {_time(since)} to {_time(now)}" if since
                                   else f"Every stored conversation, up to {_time(now)}")},
        "conversations": figures.conversations, "messages": figures.messages,
        "kinds": {kind: figures.kinds[kind] for kind in KINDS},
        "shares": {kind: figures.kinds[kind] / figures.messages if figures.messages else 0.0
                   for kind in KINDS},
        "days": [{"day": day, "conversations": figures.days[day]["conversations"],
                  "messages": figures.days[day]["messages"],
                  "kinds": {kind: figures.days[day]["kinds"][kind] for kind in KINDS}}
                 for day in sorted(figures.days)],
        "unanswered": {"messages": sum(g.count for g in groups) + figures.unanswered_over_cap,
                       "wordings": len(figures.unanswered),
                       "over_cap": figures.unanswered_over_cap,
                       "groups": [g.as_dict(i) for i, g in enumerate(groups, 1)]},
        "thumbs_down": {"count": figures.thumbs_down_count, "items": thumbs_down},
        "did_you_mean": {"clicked": clicked, "over_cap": figures.clicks_over_cap,
                         "nlu": nlu_snippet(by_intent, "did-you-mean clicks")
                         if clicked else ""},
    }


def _time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m review", description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoints", type=Path,
                        help="the endpoints file whose tracker store to read (default: the "
                             "assistant's, as ASSISTANT_STORES and the environment choose)")
    parser.add_argument("--since", help="only conversations' events of the last 36h, 7d, 2w... "
                                        "(default: all)")
    parser.add_argument("--out", type=Path, default=PROJECT / "review" / "report.html")
    parser.add_argument("--json", action="store_true", help="also print the review as JSON")
    parser.add_argument("--purge-older-than", metavar="AGE",
                        help="delete the conversations whose last event is older than AGE "
                             "(e.g. 90d) instead of reviewing")
    parser.add_argument("--dry-run", action="store_true",
                        help="with --purge-older-than: say how many, delete nothing")
    args = parser.parse_args(argv)
    try:
        settings = store.tracker_store_settings(args.endpoints)
        since = store.cutoff(args.since)
        if args.purge_older_than:
            return purge(settings, store.cutoff(args.purge_older_than), args.dry_run,
                         args.purge_older_than)
        engine = store.engine_for(settings)
    except (ValueError, FileNotFoundError) as error:
        print(f"review: {error}", file=sys.stderr)
        return 2
    from pipeline.encoder import SentenceEncoder  # loaded only for a review
    result = review(engine, since, SentenceEncoder.load())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(result), encoding="utf-8")
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    print(f"{result['messages']} messages in {result['conversations']} conversations, "
          f"{result['unanswered']['messages']} unanswered in "
          f"{len(result['unanswered']['groups'])} groups, "
          f"{result['thumbs_down']['count']} thumbs down: {args.out}", file=sys.stderr)
    return 0


def purge(settings: Dict[str, Any], before: float, dry_run: bool, age: str) -> int:
    if dry_run:
        conversations, events = store.old_conversations(store.engine_for(settings), before)
        print(f"Dry run: {conversations} conversations ({events} events) older than {age} "
              f"would be deleted.")
    else:
        conversations, events = store.purge(store.engine_for(settings, read_only=False), before)
        print(f"Deleted {conversations} conversations ({events} events) older than {age}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
