"""A fake Telegram Bot API server: it checks requests the way Telegram does (token, HTML markup,
message length, button data) and records them.

    python harness/fakes/telegram_api.py PORT TOKEN BOT_USERNAME

Chat 403 has blocked the bot: messages to it are refused, as Telegram refuses them.
"""
import itertools
import json
import re
import sys
from html.parser import HTMLParser

from recorder import serve

MESSAGE_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
             "span", "tg-spoiler", "blockquote"}
# Telegram refuses a bare & that does not start an entity.
BARE_AMPERSAND = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")
message_ids = itertools.count(1)


class VisibleText(HTMLParser):
    """The text a Telegram user sees of a message in HTML parse mode."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""

    def handle_starttag(self, tag, attrs) -> None:
        if tag not in HTML_TAGS:
            raise ValueError(f"can't parse entities: unsupported start tag \"{tag}\"")

    def handle_data(self, data) -> None:
        self.text += data


def visible_text(text: str, parse_mode: str) -> str:
    if parse_mode != "HTML":
        return text
    if BARE_AMPERSAND.search(text):
        raise ValueError("can't parse entities: bare &")
    parser = VisibleText()
    parser.feed(text)
    parser.close()
    return parser.text


def bad_request(description: str):
    return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}


def send_message(params):
    if str(params.get("chat_id")) == "403":
        return 403, {"ok": False, "error_code": 403,
                     "description": "Forbidden: bot was blocked by the user"}
    try:
        text = visible_text(params.get("text", ""), params.get("parse_mode"))
    except ValueError as error:
        return bad_request(str(error))
    if not text.strip():
        return bad_request("message text is empty")
    if len(text.encode("utf-16-le")) // 2 > MESSAGE_LIMIT:
        return bad_request("message is too long")
    keyboard = json.loads(params.get("reply_markup") or "{}").get("inline_keyboard", [])
    for button in (button for row in keyboard for button in row):
        if not 1 <= len(button.get("callback_data", "").encode()) <= CALLBACK_DATA_LIMIT:
            return bad_request("BUTTON_DATA_INVALID")
    chat = {"id": int(params["chat_id"]), "type": "private"}
    return 200, {"ok": True, "result": {"message_id": next(message_ids), "date": 0,
                                        "chat": chat, "text": text}}


def answer(path, headers, params):
    prefix = f"/bot{TOKEN}/"
    if not path.startswith(prefix):
        return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
    method = path[len(prefix):]
    if method == "getMe":
        return 200, {"ok": True, "result": {"id": int(TOKEN.split(":")[0]), "is_bot": True,
                                            "first_name": "KPO/BPO assistant",
                                            "username": USERNAME}}
    if method == "sendMessage":
        return send_message(params)
    if method in ("setWebhook", "answerCallbackQuery"):
        return 200, {"ok": True, "result": True}
    return 404, {"ok": False, "error_code": 404, "description": "Not Found"}


if __name__ == "__main__":
    TOKEN, USERNAME = sys.argv[2], sys.argv[3]
    serve(answer)
