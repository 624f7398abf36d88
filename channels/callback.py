"""Callback: Rasa 3.6's channel for systems that send a message to a webhook and take the replies
at a URL of their own, with a token guarding the webhook.

Settings (credentials.yml): url (where replies are POSTed) and the other endpoint settings of
Rasa's callback channel; webhook_token (optional: messages must then carry
`Authorization: Bearer <webhook_token>`).
"""
import hmac
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels import callback
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.utils.endpoints import EndpointConfig
from sanic import Blueprint, response
from sanic.request import Request


class CallbackInput(callback.CallbackInput):
    """Rasa's callback input channel, requiring a bearer token when one is set."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        endpoint = dict(credentials)
        webhook_token = endpoint.pop("webhook_token", None)
        return cls(EndpointConfig.from_dict(endpoint), webhook_token)

    def __init__(self, endpoint: EndpointConfig, webhook_token: Optional[Text] = None) -> None:
        super().__init__(endpoint)
        self.webhook_token = webhook_token

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)

        @webhook.middleware("request")
        async def require_token(request: Request) -> Optional[response.HTTPResponse]:
            if request.method != "POST" or not self.webhook_token:
                return None
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.webhook_token}".encode()):
                return response.json({"error": "a valid 'Authorization: Bearer <token>' header "
                                               "is required"}, status=401)
            return None

        return webhook
