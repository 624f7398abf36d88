"""Telegram: Rasa 3.6's connector, pointed at a configurable Bot API server, checking Telegram's
secret token, registering its webhook without breaking the first reply, understanding /start and
/help, reading a photo's caption as text (a sticker or photo without one gets a short reply),
answering GET on the webhook 405 and /set_webhook only with the secret token, and sending replies
that fit Telegram (inline keyboards, escaped HTML, at most 4096 characters a message).

Settings (credentials.yml): access_token, verify (the bot's username) and webhook_url as in
Rasa; secret_token (optional: the X-Telegram-Bot-Api-Secret-Token every update must carry);
api_url (optional: a self-hosted Bot API server or proxy instead of https://api.telegram.org).
"""
import asyncio
import hmac
import html
import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from aiogram.bot.api import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, User
from aiogram.utils.exceptions import TelegramAPIError
from rasa.core.channels import telegram
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request

from channels.text import split_text, utf16_length

logger = logging.getLogger(__name__)

TELEGRAM_API = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MESSAGE_LIMIT = 4096  # characters (UTF-16 code units) of a message's visible text
CALLBACK_DATA_LIMIT = 64  # bytes; Telegram refuses the whole message if a button's data is longer
# The updates the connector answers; Telegram then sends no others (chat member changes, ...).
UPDATES = ["message", "edited_message", "callback_query"]
# Telegram's bot commands and the intents they mean: a user's first message is always /start.
COMMANDS = {"/start": "/greet", "/help": "/help"}
# What a message without text (or caption) may carry that deserves an answer.
MEDIA = ("photo", "sticker", "animation", "video", "video_note", "voice", "audio", "document")
MEDIA_REPLY = "I can only read text. Please type your question about KPO or BPO."


def command_as_intent(text: Optional[Text]) -> Optional[Text]:
    """"/start", "/start <deep link>" or "/help@the_bot" (in groups) as an intent; other text
    unchanged."""
    command = (text or "").split(" ")[0].split("@")[0]
    return COMMANDS.get(command, text)


def callback_data(button: Dict[Text, Any]) -> Text:
    """What pressing the button sends back: its payload, or where that is too long for Telegram,
    its title (cut to fit), which NLU reads like typed text."""
    payload = button["payload"]
    if len(payload.encode()) <= CALLBACK_DATA_LIMIT:
        return payload
    return button["title"].encode()[:CALLBACK_DATA_LIMIT].decode(errors="ignore")


class TelegramBot(telegram.TelegramOutput):
    """Rasa's Telegram output channel with the API server, webhook secret and reply format of
    this project."""

    def __init__(self, access_token: Text, api_url: Text = TELEGRAM_API,
                 secret_token: Optional[Text] = None) -> None:
        super().__init__(access_token)
        self.server = TelegramAPIServer.from_base(api_url)
        self.secret_token = secret_token
        self._me: Optional[User] = None

    async def get_me(self) -> User:
        # Rasa checks the bot's username on every update: ask Telegram once, not every time.
        if self._me is None:
            self._me = await super().get_me()
        return self._me

    async def set_webhook(self, url: Text, **_: Any) -> bool:
        """Registers the webhook with the secret Telegram must send back, for the updates the
        connector answers (Rasa's /set_webhook route calls this too)."""
        settings = {"url": url, "allowed_updates": json.dumps(UPDATES)}
        if self.secret_token:
            settings["secret_token"] = self.secret_token
        return await self.request("setWebhook", settings)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._send(recipient_id, text)

    async def send_text_with_buttons(self, recipient_id: Text, text: Text,
                                     buttons: List[Dict[Text, Any]], **kwargs: Any) -> None:
        # One button a row: the buttons are whole questions, too long to sit side by side.
        keyboard = InlineKeyboardMarkup(inline_keyboard=[
            [InlineKeyboardButton(button["title"], callback_data=callback_data(button))]
            for button in buttons
        ])
        await self._send(recipient_id, text, keyboard)

    async def _send(self, chat_id: Text, text: Text,
                    keyboard: Optional[InlineKeyboardMarkup] = None) -> None:
        """Sends text as escaped HTML in as few messages as fit, the keyboard under the last."""
        parts = split_text(text, MESSAGE_LIMIT, utf16_length)
        for number, part in enumerate(parts, start=1):
            await self.send_message(chat_id, html.escape(part, quote=False), parse_mode="HTML",
                                    reply_markup=keyboard if number == len(parts) else None)


class TelegramInput(telegram.TelegramInput):
    """Rasa's Telegram input channel; see the module's docstring for what it adds."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        return cls(credentials.get("access_token"), credentials.get("verify"),
                   credentials.get("webhook_url"),
                   api_url=credentials.get("api_url") or TELEGRAM_API,
                   secret_token=credentials.get("secret_token"))

    def __init__(self, access_token: Optional[Text], verify: Optional[Text],
                 webhook_url: Optional[Text], api_url: Text = TELEGRAM_API,
                 secret_token: Optional[Text] = None) -> None:
        # Not Rasa's debug mode, which answers 500 when a reply fails: Telegram would then
        # deliver the update again, and the user's message would be answered twice.
        super().__init__(access_token, verify, webhook_url, debug_mode=False)
        self.api_url = api_url
        self.secret_token = secret_token
        if not secret_token:
            logger.warning("Telegram: no secret_token set, so the webhook accepts updates from "
                           "anyone who knows its URL")
        self._bot: Optional[TelegramBot] = None

    def get_output_channel(self) -> TelegramBot:
        # One bot, and so one HTTP session on the server's event loop, for every reply.
        if self._bot is None:
            self._bot = TelegramBot(self.access_token, self.api_url, self.secret_token)
        return self._bot

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def on_telegram_message(message: UserMessage) -> Any:
            message.text = command_as_intent(message.text)
            return await on_new_message(message)

        self._register_webhook()
        webhook = super().blueprint(on_telegram_message)

        @webhook.middleware("request")
        async def reject_unless_from_telegram(request: Request) -> Optional[response.HTTPResponse]:
            given = request.headers.get(SECRET_HEADER, "")
            if is_update(request) and self.secret_token and \
                    not hmac.compare_digest(given.encode(), self.secret_token.encode()):
                logger.warning("Telegram: refused an update without the right secret token")
                return response.text("invalid secret token", status=403)
            return None

        @webhook.middleware("request")
        async def refuse_what_is_not_an_update(request: Request) -> Optional[response.HTTPResponse]:
            # Rasa's handler reads these fields unchecked: anything else would be a 500.
            if is_update(request) and not is_well_formed(request.json):
                return response.text("not a Telegram update", status=400)
            return None

        @webhook.middleware("request")
        async def guard_the_other_routes(request: Request) -> Optional[response.HTTPResponse]:
            path = request.path.rstrip("/")
            if path.endswith("/webhook") and request.method != "POST":
                # Rasa's route takes GET too, and answers it with nothing: a 500.
                return response.text("updates are POSTed", status=405, headers={"Allow": "POST"})
            if path.endswith("/set_webhook") and not (self.secret_token and hmac.compare_digest(
                    request.headers.get(SECRET_HEADER, "").encode(),
                    self.secret_token.encode())):
                # Rasa's route re-registers the webhook for anyone; it is registered at start-up.
                return response.text("re-registering the webhook needs the secret token in "
                                     f"{SECRET_HEADER}", status=403)
            return None

        @webhook.middleware("request")
        async def read_captions_and_answer_media(
                request: Request) -> Optional[response.HTTPResponse]:
            # Rasa's handler reads `text` alone: a captioned photo went unanswered, a sticker or
            # photo got silence, and an edited caption became a message of no text (an error).
            update = request.json if is_update(request) else None
            if not isinstance(update, dict) or update.get("callback_query") is not None:
                return None
            message = update.get("edited_message") or update.get("message")
            if message.get("text") is not None or message.get("location") is not None:
                return None
            if isinstance(message.get("caption"), str) and message["caption"].strip():
                message["text"] = message["caption"]  # request.json is parsed once, this copy
                return None
            if "edited_message" not in update and any(kind in message for kind in MEDIA):
                await self.get_output_channel().send_text_message(
                    message["chat"]["id"], MEDIA_REPLY)
            return response.text("success")

        @webhook.middleware("request")
        async def acknowledge_button_press(request: Request) -> None:
            # Until answered, Telegram shows the pressed button as loading.
            update = request.json if is_update(request) else None
            query = update.get("callback_query") if isinstance(update, dict) else None
            if isinstance(query, dict) and query.get("id"):
                try:
                    await self.get_output_channel().answer_callback_query(query["id"])
                except TelegramAPIError as error:
                    logger.warning(f"Telegram: could not acknowledge a button press: {error}")

        return webhook

    def _register_webhook(self) -> None:
        """Tells Telegram where to send updates, once at start-up, before the server runs.

        Rasa 3.6 does this with the bot it then replies with, whose HTTP session stays bound to
        the short-lived event loop of the registration: its first reply fails with "Event loop
        is closed". A bot of its own, closed afterwards, keeps the two apart.
        """
        async def register() -> None:
            bot = TelegramBot(self.access_token, self.api_url, self.secret_token)
            try:
                await bot.set_webhook(self.webhook_url)
            finally:
                await bot.session.close()

        try:
            asyncio.run(register())
        except TelegramAPIError as error:
            raise RasaException(f"Failed to set the Telegram webhook: {error}") from error


def is_well_formed(update: Any) -> bool:
    """Whether a body has the shape Rasa's connector reads: an object carrying a button press
    (with the message it was on) or a message or edited message, each in a chat with an id,
    with text (or a location) of the right types."""
    if not isinstance(update, dict):
        return False
    query = update.get("callback_query")
    if query is not None:
        return isinstance(query, dict) and isinstance(query.get("data"), str) \
            and _is_message(query.get("message"))
    message = update.get("edited_message") or update.get("message")
    return _is_message(message)


def _is_message(message: Any) -> bool:
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        return False
    chat_id, text, location = message["chat"].get("id"), message.get("text"), message.get("location")
    return isinstance(chat_id, (int, str)) and not isinstance(chat_id, bool) \
        and isinstance(text, (str, type(None))) and (
            location is None or isinstance(location, dict)
            and all(isinstance(location.get(k), (int, float)) for k in ("longitude", "latitude")))


def is_update(request: Request) -> bool:
    """Whether the request delivers an update (not a health check or /set_webhook)."""
    return request.method == "POST" and request.path.rstrip("/").endswith("/webhook")
