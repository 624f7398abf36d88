"""The REST channel (`POST /webhooks/rest/webhook`), Rasa's with honest failure replies.

Rasa's answers `200 []` whenever a turn fails, and logs the user's text with the error. This one
answers through channels/failures.py: a friendly message in the usual reply format, and 503
with Retry-After when the turn was not processed (store down, conversation busy), so clients
know to send it again. `?stream=true` is not supported (nothing here uses it).
"""
import inspect
from typing import Awaitable, Callable

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.failures import FailureReplies, retry_after


class RestInput(FailureReplies, RasaRestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}",
                            inspect.getmodule(self).__name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            collector = CollectingOutputChannel()
            message = UserMessage(self._extract_message(request), collector,
                                  await self._extract_sender(request),
                                  input_channel=self._extract_input_channel(request),
                                  metadata=self.get_metadata(request))
            status = await self.answer(on_new_message, message)
            return response.json(collector.messages, status=status, headers=retry_after(status))

        return webhook
