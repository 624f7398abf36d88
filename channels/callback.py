"""Callback: Rasa 3.6's channel for systems that send a message to a webhook and take the replies
at a URL of their own, with the same guards as the REST channel (channels/rest.py): a bearer
token, a sender per conversation, rate limits and the length limit.

Settings (credentials.yml): url (where replies are POSTed) and the other endpoint settings of
Rasa's callback channel; webhook_token (required: messages must carry
`Authorization: Bearer <webhook_token>`); rate_limit_sender, rate_limit_address and rate_limit_wrong_token as for
REST.
"""
import asyncio
import logging
from typing import Any, Dict, List, Optional, Text

import aiohttp
from rasa.core.channels import callback
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel
from rasa.utils.endpoints import EndpointConfig
from sanic import response
from sanic.response import HTTPResponse

from channels import rest
from runtime.rate_limits import RateLimit
from runtime.turn_failures import retry_after

logger = logging.getLogger(__name__)


class CallbackInput(rest.RestInput, callback.CallbackInput):
    """Rasa's callback input channel, taking messages as channels.rest.RestInput does and
    answering "success" once the replies are POSTed to the callback URL, or 502 with the
    replies it refused or dropped."""

    @classmethod
    def name(cls) -> Text:
        return "callback"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        endpoint = dict(credentials)
        token = endpoint.pop("webhook_token", None)
        limits = cls.limits_from(endpoint)
        endpoint.pop("rate_limit_sender", None)
        endpoint.pop("rate_limit_address", None)
        endpoint.pop("rate_limit_wrong_token", None)
        return cls(EndpointConfig.from_dict(endpoint), token, **limits)

    def __init__(self, endpoint: EndpointConfig, token: Optional[Text],
                 sender_limit: Optional[RateLimit] = None,
                 address_limit: Optional[RateLimit] = None,
                 wrong_token_limit: Optional[RateLimit] = None) -> None:
        rest.RestInput.__init__(self, token, sender_limit, address_limit, wrong_token_limit)
        self.callback_endpoint = endpoint

    def output_channel(self) -> CollectingOutputChannel:
        return DeliveringOutput(self.callback_endpoint)

    def replies(self, output: CollectingOutputChannel, status: int = 200) -> HTTPResponse:
        undelivered = getattr(output, "undelivered", [])
        if undelivered:
            # Rasa reported "success" and the reply was lost: the sender gets it here instead.
            return response.json({"undelivered": undelivered}, status=502)
        # The replies (a failure's apology too) went to the callback URL.
        return response.text("success" if status == 200 else "not processed", status=status,
                             headers=retry_after(status))


class DeliveringOutput(callback.CallbackOutput):
    """Rasa's callback output, keeping each reply the callback URL refused or never answered
    (Rasa logs a refusal and goes on; a dropped connection failed the whole turn)."""

    def __init__(self, endpoint: EndpointConfig) -> None:
        super().__init__(endpoint)
        self.undelivered: List[Dict[Text, Any]] = []

    async def _persist_message(self, message: Dict[Text, Any]) -> None:
        self.messages.append(message)
        try:
            await self.callback_endpoint.request("post", content_type="application/json",
                                                 json=message)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.error("The callback URL did not take a reply (%s%s): returned to the sender",
                         error.__class__.__name__,
                         f", status {error.status}" if hasattr(error, "status") else "")
            self.undelivered.append(message)
