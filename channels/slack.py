"""Slack: Rasa 3.6's connector, pointed at a configurable Web API URL, answering each message once
however often Slack delivers it, passing Slack's Request URL check, and sending replies that fit
Slack (block buttons, escaped mrkdwn, sections of at most 3000 characters). Signed requests of
the interactive kinds it does not answer (shortcuts, message actions, view submissions) are
acknowledged with an empty 200, and signed bodies of no known shape get 400 (Rasa's: 500).

Rasa already rejects requests whose signature (X-Slack-Signature, from the signing secret) is
wrong or whose timestamp is more than five minutes off.

Settings (credentials.yml): slack_token, slack_signing_secret and the rest as in Rasa; api_url
(optional: a proxy or test server instead of https://slack.com/api/).
"""
import json
import logging
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels import slack
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from slack_sdk.web.async_client import AsyncWebClient

from channels.text import split_text
from runtime.shared_memory import SharedTable

logger = logging.getLogger(__name__)

SLACK_API = "https://slack.com/api/"
SECTION_LIMIT = 3000  # characters of a section block's text
BUTTON_TEXT_LIMIT = 75  # characters of a button's label
BUTTONS_PER_BLOCK = 25  # elements of an actions block


def escape(text: Text) -> Text:
    """Slack reads <, > and & as markup (links, @channel mentions): show them as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def label(title: Text) -> Text:
    return title if len(title) <= BUTTON_TEXT_LIMIT else title[:BUTTON_TEXT_LIMIT - 1] + "…"


def button_blocks(buttons: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
    elements = [{"type": "button", "text": {"type": "plain_text", "text": label(b["title"])},
                 "value": b["payload"]} for b in buttons]
    return [{"type": "actions", "elements": elements[start:start + BUTTONS_PER_BLOCK]}
            for start in range(0, len(elements), BUTTONS_PER_BLOCK)]


class SlackOutput(slack.SlackBot):
    """Rasa's Slack output channel with the API URL and reply format of this project."""

    def __init__(self, token: Text, slack_channel: Optional[Text] = None,
                 thread_id: Optional[Text] = None, proxy: Optional[Text] = None,
                 api_url: Text = SLACK_API) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        self.client = AsyncWebClient(token, base_url=api_url, proxy=proxy)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._send(recipient_id, text, [])

    async def send_text_with_buttons(self, recipient_id: Text, text: Text,
                                     buttons: List[Dict[Text, Any]], **kwargs: Any) -> None:
        await self._send(recipient_id, text, buttons)

    async def _send(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]]) -> None:
        """Sends text as escaped mrkdwn in as few messages as fit, the buttons under the last."""
        parts = [escape(part) for part in
                 split_text(text, SECTION_LIMIT, lambda part: len(escape(part)))]
        for number, part in enumerate(parts, start=1):
            blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": part}}]
            if number == len(parts):
                blocks += button_blocks(buttons)
            # `text` is what notifications show.
            await self._post_message(channel=self.slack_channel or recipient_id, text=part,
                                     blocks=blocks)


class RecentKeys:
    """The most recent `size` keys seen (about: the one seen longest ago among a key's slots is
    forgotten first), the same for every worker (runtime/shared_memory.py)."""

    def __init__(self, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._keys = SharedTable("", size)

    def add(self, key: Text) -> bool:
        """Remembers the key; False if it was remembered already."""
        with self._keys.record_of(key) as (digest, offset):
            if self._keys.unpack(offset)[0] == digest:
                return False
            self._keys.pack(offset, digest, self.clock())
            return True


def message_key(request: Request) -> Optional[Text]:
    """What identifies the user's message an Events API request is about.

    Slack delivers an event again (X-Slack-Retry-Num) when it got no 200 in 3 s, and a mention in
    a channel the bot listens to arrives twice, as `message` and as `app_mention`, with different
    event ids: the message's channel and timestamp are the same in all of them.
    """
    if request.headers.get("content-type") != "application/json":
        return None  # a button press: each press is the user's own and is answered
    body = request.json
    event = body.get("event") or {}
    if event.get("channel") and event.get("ts"):
        return f"{event['channel']}/{event['ts']}"
    return body.get("event_id")


class SlackInput(slack.SlackInput):
    """Rasa's Slack input channel; see the module's docstring for what it adds.

    Messages already answered are remembered by the workers of this replica together (the last
    10,000 or so): with several replicas, a retry reaching another replica is still ignored when
    Slack retries because the first delivery timed out (Rasa's `errors_ignore_retry`), which is
    what a retry of a delivered message is; see docs/channels.md, "Several replicas".
    """

    ANSWERED_MEMORY = 10_000

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        channel = super().from_credentials(credentials)
        channel.api_url = credentials.get("api_url") or SLACK_API
        return channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api_url = SLACK_API
        self.answered = RecentKeys(self.ANSWERED_MEMORY)

    def get_output_channel(self, channel: Optional[Text] = None,
                           thread_id: Optional[Text] = None) -> OutputChannel:
        return SlackOutput(self.slack_token, channel or self.slack_channel, thread_id, self.proxy,
                           self.api_url)

    async def process_message(self, request: Request,
                              on_new_message: Callable[[UserMessage], Awaitable[Any]],
                              text: Text, sender_id: Optional[Text],
                              metadata: Optional[Dict]) -> Any:
        key = message_key(request)
        if key and not self.answered.add(key):
            logger.info(f"Slack: message {key} delivered again "
                        f"(retry {request.headers.get(self.retry_num_header)}), answered already")
            return response.text("", headers={"X-Slack-No-Retry": "1"})
        return await super().process_message(request, on_new_message, text, sender_id, metadata)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)

        @webhook.middleware("request")
        async def answer_url_check(request: Request) -> Optional[response.HTTPResponse]:
            # When an operator enters the Request URL, Slack sends a signed challenge and wants
            # it back as text or as {"challenge": ...}; Rasa answers a bare JSON string.
            if request.method != "POST" or \
                    request.headers.get("content-type") != "application/json":
                return None
            body = request.json
            if isinstance(body, dict) and body.get("type") == "url_verification" and \
                    self.is_request_from_slack_authentic(request):
                return response.json({"challenge": body.get("challenge")})
            return None

        @webhook.middleware("request")
        async def ignore_what_is_not_a_message(request: Request) -> Optional[response.HTTPResponse]:
            # Rasa's handler reads a signed body unchecked: a JSON body that is no object, a
            # form without a JSON object in `payload`, and the interactive kinds it does not
            # know (shortcut, message_action, view_submission, ...) were answered 500.
            if request.method != "POST" or not request.path.rstrip("/").endswith("/webhook") or \
                    not self.is_request_from_slack_authentic(request):
                return None  # Rasa refuses unsigned requests itself
            kind = request.headers.get("content-type")
            if kind == "application/json":
                return None if isinstance(request.json, dict) else \
                    response.text("not a Slack event", status=400)
            if kind != "application/x-www-form-urlencoded":
                return None
            try:
                payload = json.loads(request.form.get("payload") or "")
            except ValueError:
                payload = None
            if not isinstance(payload, dict):
                return response.text("not a Slack interaction", status=400)
            actions = payload.get("actions")
            if isinstance(actions, list) and actions and isinstance(actions[0], dict) and \
                    self._is_interactive_message(payload):
                user = payload.get("user")
                return None if isinstance(user, dict) and user.get("id") else \
                    response.text("an interaction without its user", status=400)
            return response.text("")  # acknowledged, nothing to answer: Slack wants a 200

        return webhook
