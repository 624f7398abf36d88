"""socket.io, for the web widget (web/static/widget.js): Rasa 3.6's channel with the two things it
leaves open closed.

- Origins. Rasa's channel accepts socket.io connections from any web site (its engine.io server
  skips the Origin check). Here only the configured origins may connect; others get 400.
- Session ids. Rasa's channel takes whatever session id a client names, and the session id is the
  conversation's sender id: a client could name another user's id, or a Telegram chat's, and write
  into that conversation. Here the server issues the ids (random, with an HMAC of the random part),
  a browser keeps its id to come back to its conversation, and an id the server did not issue is
  replaced by a new one; messages count only for the session the connection joined. A session
  id is still a bearer secret: whoever holds it can write into its conversation, but the replies
  go to the connection that asked alone (Rasa sends them to every connection of the session, so
  a second client holding the id received its owner's answers live). The widget's other tabs
  read them from the conversation the browser stores.
- Length. A message over the REST channel's MESSAGE_MAX_LENGTH gets its plain reply without
  reaching NLU or the tracker.
- Transports. With more than one Rasa worker, websockets only (see `blueprint`).

Settings (credentials.yml), besides Rasa's own (user_message_evt, bot_message_evt,
session_persistence, ...): cors_allowed_origins (the origins allowed, separated by spaces or commas,
never "*"), session_secret (the HMAC key; with several Rasa replicas or to keep sessions across
restarts, set the same one everywhere; when unset, a random key per start).

Messages of one session are also handed to Rasa one at a time. The reply goes out on the socket
before Rasa has saved the conversation and released its lock, and Rasa's lock store makes a
message that finds the lock taken sleep a full second: without this, a question asked right after
an answer (a quick reply clicked at once) often waited ~1 s.
"""
import asyncio
import hashlib
import hmac
import logging
import re
import secrets
import weakref
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Union

from rasa.core.channels import socketio
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint

from channels.rest import MESSAGE_MAX_LENGTH, TOO_LONG_REPLY
from runtime.workers import configured_workers

logger = logging.getLogger(__name__)


def parse_origins(origins: Union[Text, List[Text], None]) -> List[Text]:
    """The allowed origins from a setting like "https://a.example, https://b.example"."""
    if isinstance(origins, str):
        origins = re.split(r"[\s,]+", origins)
    parsed = [origin.strip().rstrip("/") for origin in origins or [] if origin and origin.strip()]
    if not parsed:
        raise ValueError("socket.io: set cors_allowed_origins to the origins of the pages that "
                         "embed the widget (e.g. https://careers.example.com)")
    if "*" in parsed:
        raise ValueError("socket.io: cors_allowed_origins must name origins, not '*'")
    return parsed


class SessionIds:
    """Session ids that only this server (or a replica with the same secret) can issue."""

    RANDOM_HEX = 32  # 128 random bits
    PATTERN = re.compile(r"[0-9a-f]{64}")

    def __init__(self, secret: Optional[Text] = None) -> None:
        self._key = (secret or secrets.token_hex(32)).encode()

    def _signature(self, token: Text) -> Text:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> Text:
        token = secrets.token_hex(self.RANDOM_HEX // 2)
        return token + self._signature(token)

    def is_issued(self, session_id: Any) -> bool:
        if not isinstance(session_id, str) or not self.PATTERN.fullmatch(session_id):
            return False
        token, signature = session_id[:self.RANDOM_HEX], session_id[self.RANDOM_HEX:]
        return hmac.compare_digest(signature, self._signature(token))


class SocketIOInput(socketio.SocketIOInput):
    """Rasa's socket.io channel, for the configured origins only, with server-issued sessions."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        settings = dict(credentials or {})
        origins = parse_origins(settings.pop("cors_allowed_origins", None))
        session_ids = SessionIds(settings.pop("session_secret", None))
        channel = super().from_credentials(settings)
        channel.allowed_origins, channel.session_ids = origins, session_ids
        channel.turns = weakref.WeakValueDictionary()  # session id -> its lock, while in use
        return channel

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)
        sio, namespace = self.sio, self.namespace or "/"
        sio.eio.cors_allowed_origins = self.allowed_origins
        if configured_workers() > 1:
            # A long-polling session lives in one worker, but each of its requests may reach
            # another (runtime/workers.py): refused with "Invalid transport" rather than failing
            # at random. The widget connects by websocket; SANIC_WORKERS=1 serves long polling.
            sio.eio.transports = ["websocket"]

        async def session_request(sid: Text, data: Any = None) -> None:  # None: no data
            presented = data.get("session_id") if isinstance(data, dict) else None
            session_id = presented if self.session_ids.is_issued(presented) else \
                self.session_ids.issue()
            for room in sio.rooms(sid, namespace=namespace):
                if room != sid:  # one connection, one conversation
                    sio.leave_room(sid, room, namespace=namespace)
            sio.enter_room(sid, session_id, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        async def handle_message(sid: Text, data: Any = None) -> None:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            if not self.session_ids.is_issued(session_id) or \
                    session_id not in sio.rooms(sid, namespace=namespace):
                logger.warning("socket.io: a message for a session this connection did not "
                               "request was dropped (send session_request first)")
                return
            if not isinstance(data.get("message", ""), str):
                logger.warning("socket.io: a message whose text is not a string was dropped")
                return
            if len(data.get("message", "")) > MESSAGE_MAX_LENGTH:  # as the REST channel does
                await sio.emit(self.bot_message_evt, {"text": TOO_LONG_REPLY}, room=sid,
                               namespace=namespace)
                return
            metadata = data.get(self.metadata_key)
            turn = self.turns.get(session_id)
            if turn is None:
                turn = self.turns[session_id] = asyncio.Lock()
            async with turn:
                await on_new_message(UserMessage(
                    data.get("message", ""), ToTheAskingConnection(sio, self.bot_message_evt, sid),
                    session_id, input_channel=self.name(),
                    metadata=metadata if isinstance(metadata, dict) else {}))

        sio.on("session_request", session_request, namespace=namespace)
        sio.on(self.user_message_evt, handle_message, namespace=namespace)
        return webhook


class ToTheAskingConnection(socketio.SocketIOOutput):
    """Rasa's socket.io output, sending a turn's replies to the connection that asked."""

    def __init__(self, sio: Any, bot_message_evt: Text, connection: Text) -> None:
        super().__init__(sio, bot_message_evt)
        self.connection = connection

    async def _send_message(self, socket_id: Text, response: Any) -> None:
        await super()._send_message(self.connection, response)
