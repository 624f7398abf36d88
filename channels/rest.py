"""REST: Rasa 3.6's channel for integrations (POST /webhooks/rest/webhook), safe to expose.

What it changes from Rasa's:
- every message must carry `Authorization: Bearer <token>` (compared in constant time), else 401:
  with Rasa's, anyone can read and write any conversation by naming its sender;
- the body must be a JSON object with a `sender` (a printable string of 1-128 characters) and a
  string `message`, else 400: Rasa's files a message without a sender under one shared
  "default" conversation, and answers 500 to other JSON; metadata must be standard JSON (no NaN);
- per-sender and per-address rate limits (messages a minute) answer 429 with Retry-After, and so
  does an address after 10 requests a minute with a wrong token (guessing is limited);
- a message over 2,000 characters gets a plain reply asking for a shorter one, without reaching
  NLU (see MESSAGE_MAX_LENGTH);
- replies always come in the response (Rasa's `?stream=true` is not offered);
- a turn that fails gets a friendly reply and an honest status (runtime/turn_failures.py): 503 with
  Retry-After when it was not processed (a store down, the conversation busy), so clients know to
  send it again; Rasa's answers `200 []` and logs the user's text.

Settings (credentials.yml): token (required), rate_limit_sender, rate_limit_address and
rate_limit_wrong_token (optional: requests a minute, 0 switches the limit off). Request bodies over 64 KB are refused
(413) by Sanic itself, through SANIC_REQUEST_MAX_SIZE (docs/security.md).

Subclasses change what a message's replies are (`output_channel`, `replies`) and how it is
handed to Rasa (`handle_message`, the one place that calls Rasa).
"""
import hmac
import inspect
import json
from typing import Any, Awaitable, Callable, Dict, NamedTuple, Optional, Text

from rasa.core.channels import rest
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request
from sanic.response import HTTPResponse

from runtime.rate_limits import RateLimit
from runtime.turn_failures import answer, retry_after

SENDER_MAX_LENGTH = 128
# The longest question in the training and test data has 228 characters; 2,000 (about 300
# words) is far beyond any real question, and keeps NLU's cost (it grows with the length)
# bounded for every message.
MESSAGE_MAX_LENGTH = 2000
TOO_LONG_REPLY = ("That message is too long for me to read. Please ask one question at a time, "
                  f"in a few sentences (at most {MESSAGE_MAX_LENGTH:,} characters).")
METADATA_MAX_DEPTH = 8
# Defaults no person chatting reaches: a message every two seconds for a minute from one
# conversation; ten a second from one address (an integration relays all its users from one).
DEFAULT_RATE_LIMIT_SENDER = 30
DEFAULT_RATE_LIMIT_ADDRESS = 600
# Requests with a wrong or missing token per address: a client that typed its token wrong retries
# a few times; beyond this one address is guessing, and gets 429 whatever it sends until its
# bucket refills (one more guess every six seconds).
DEFAULT_RATE_LIMIT_WRONG_TOKEN = 10


class Refused(Exception):
    """A request the webhook does not take, with the status and error it is answered."""

    def __init__(self, status: int, error: Text, headers: Optional[Dict[Text, Text]] = None):
        super().__init__(error)
        self.status, self.error, self.headers = status, error, headers or {}

    def response(self) -> HTTPResponse:
        return response.json({"error": self.error}, status=self.status, headers=self.headers)


class Message(NamedTuple):
    sender: Text
    text: Text
    metadata: Optional[Dict[Text, Any]]


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether JSON objects and arrays nest more than `limit` deep in the value; level by level,
    not recursively (a body of 64 KB can nest 10,000 deep)."""
    level = [value]
    for _ in range(limit + 1):
        level = [child for item in level if isinstance(item, (dict, list))
                 for child in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return False
    return True


def standard_json(value: Any) -> bool:
    """Whether the value is JSON as the standard has it: Sanic's parser takes NaN and Infinity,
    which the tracker store would keep and hand back as invalid JSON."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


def valid_sender(sender: Any) -> bool:
    return isinstance(sender, str) and 0 < len(sender) <= SENDER_MAX_LENGTH and \
        sender.isprintable() and not sender.isspace()


class RestInput(rest.RestInput):
    """Rasa's REST input channel, authenticated and limited; see the module's docstring."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(credentials.get("token"), **cls.limits_from(credentials))

    @staticmethod
    def limits_from(credentials: Dict[Text, Any]) -> Dict[Text, RateLimit]:
        return {
            "sender_limit": RateLimit.from_setting(credentials.get("rate_limit_sender"),
                                                   DEFAULT_RATE_LIMIT_SENDER),
            "address_limit": RateLimit.from_setting(credentials.get("rate_limit_address"),
                                                    DEFAULT_RATE_LIMIT_ADDRESS),
            "wrong_token_limit": RateLimit.from_setting(credentials.get("rate_limit_wrong_token"),
                                                        DEFAULT_RATE_LIMIT_WRONG_TOKEN),
        }

    def __init__(self, token: Optional[Text], sender_limit: Optional[RateLimit] = None,
                 address_limit: Optional[RateLimit] = None,
                 wrong_token_limit: Optional[RateLimit] = None) -> None:
        if not token:
            raise RasaException(f"The {self.name()} channel needs a token (for REST: set "
                                f"ASSISTANT_REST_TOKEN; `make run` generates one into .env)")
        self.token = token
        self.sender_limit = sender_limit or RateLimit(DEFAULT_RATE_LIMIT_SENDER)
        self.address_limit = address_limit or RateLimit(DEFAULT_RATE_LIMIT_ADDRESS)
        self.wrong_token_limit = wrong_token_limit or RateLimit(DEFAULT_RATE_LIMIT_WRONG_TOKEN)

    def authorize(self, request: Request) -> None:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, f"Bearer {self.token}".encode()):
            raise Refused(401, "a valid 'Authorization: Bearer <token>' header is required",
                          {"WWW-Authenticate": "Bearer"})

    @staticmethod
    def limit(rate_limit: RateLimit, key: Text, what: Text) -> None:
        retry_after = rate_limit.retry_after(key)
        if retry_after is not None:
            raise Refused(429, f"too many messages from this {what}: try again in "
                               f"{retry_after} s", {"Retry-After": str(retry_after)})

    @staticmethod
    def parse(request: Request) -> Message:
        try:
            body = request.json
        except InvalidUsage:
            body = None
        if not isinstance(body, dict):
            raise Refused(400, 'the body must be a JSON object: {"sender": "...", '
                               '"message": "..."}')
        sender, text, metadata = body.get("sender"), body.get("message"), body.get("metadata")
        if not valid_sender(sender):
            raise Refused(400, f"'sender' must be the conversation's id: a printable string of "
                               f"1-{SENDER_MAX_LENGTH} characters")
        if not isinstance(text, str):
            raise Refused(400, "'message' must be a string")
        if metadata is not None and (not isinstance(metadata, dict) or
                                     nested_deeper_than(metadata, METADATA_MAX_DEPTH)):
            raise Refused(400, f"'metadata' must be a JSON object nested at most "
                               f"{METADATA_MAX_DEPTH} deep")
        if metadata is not None and not standard_json(metadata):
            raise Refused(400, "'metadata' must be standard JSON: NaN and Infinity are not")
        return Message(sender, text, metadata)

    def accept(self, request: Request) -> Message:
        """The message a request carries, if the webhook takes it; else raises Refused."""
        address = request.remote_addr or request.ip
        waiting = self.wrong_token_limit.waiting(address)
        if waiting is not None:
            raise Refused(429, f"too many requests with a wrong token from this address: try "
                               f"again in {waiting} s", {"Retry-After": str(waiting)})
        try:
            self.authorize(request)
        except Refused:
            self.wrong_token_limit.retry_after(address)
            raise
        self.limit(self.address_limit, address, "address")
        message = self.parse(request)
        self.limit(self.sender_limit, message.sender, "sender")
        return message

    def output_channel(self) -> CollectingOutputChannel:
        """Where a message's replies go."""
        return CollectingOutputChannel()

    def replies(self, output: CollectingOutputChannel, status: int = 200) -> HTTPResponse:
        """The webhook's answer once a message's replies are in `output`."""
        return response.json(output.messages, status=status, headers=retry_after(status))

    async def handle_message(self, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                             message: UserMessage) -> HTTPResponse:
        """Hands the message to Rasa and answers with its replies, or why there are none."""
        status = await answer(on_new_message, message)
        return self.replies(message.output_channel, status)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}",
                            inspect.getmodule(self).__name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                message = self.accept(request)
            except Refused as refusal:
                return refusal.response()
            output = self.output_channel()
            if len(message.text) > MESSAGE_MAX_LENGTH:
                await output.send_text_message(message.sender, TOO_LONG_REPLY)
                return self.replies(output)
            return await self.handle_message(on_new_message, UserMessage(
                message.text, output, message.sender, input_channel=self.name(),
                metadata=message.metadata))

        return webhook
