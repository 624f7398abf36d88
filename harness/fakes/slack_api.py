"""A fake Slack Web API: it checks chat.postMessage the way Slack does (token, block limits) and
records the calls.

    python harness/fakes/slack_api.py PORT BOT_TOKEN
"""
import itertools
import sys

from recorder import serve

SECTION_LIMIT = 3000
BUTTON_TEXT_LIMIT = 75
BUTTONS_PER_BLOCK = 25
BLOCKS_PER_MESSAGE = 50
timestamps = itertools.count(1)


def invalid_blocks(blocks) -> bool:
    for block in blocks:
        if block["type"] == "section" and len(block["text"]["text"]) > SECTION_LIMIT:
            return True
        if block["type"] == "actions" and (
                len(block["elements"]) > BUTTONS_PER_BLOCK
                or any(len(b["text"]["text"]) > BUTTON_TEXT_LIMIT for b in block["elements"])):
            return True
    return len(blocks) > BLOCKS_PER_MESSAGE


def answer(path, headers, params):
    if headers.get("authorization") != f"Bearer {TOKEN}":
        return 200, {"ok": False, "error": "invalid_auth"}
    if path != "/api/chat.postMessage":
        return 200, {"ok": False, "error": "unknown_method"}
    if not params.get("channel"):
        return 200, {"ok": False, "error": "channel_not_found"}
    if not params.get("text") and not params.get("blocks"):
        return 200, {"ok": False, "error": "no_text"}
    if invalid_blocks(params.get("blocks") or []):
        return 200, {"ok": False, "error": "invalid_blocks"}
    ts = f"1700000000.{next(timestamps):06d}"
    return 200, {"ok": True, "channel": params["channel"], "ts": ts}


if __name__ == "__main__":
    TOKEN = sys.argv[2]
    serve(answer)
