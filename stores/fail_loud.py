"""A tracker store that fails loudly, around any tracker store.

Rasa wraps every tracker store in `FailSafeTrackerStore`, which on an error falls back to memory:
a conversation read from a store that is down comes back empty, the bot answers as if the user
were new, the turn is kept in the replica's memory only and the user never learns it was lost.
`FailLoudTrackerStore` turns every error of the store it wraps into `TrackerStoreUnavailable`,
which the fallback cannot catch, so the turn stops where it is and the channel tells the user
to try again with an honest 503 (runtime/turn_failures.py).

Nothing is half-stored: the wrapped store gets no event broker, and the events of a turn go to
the broker only once the store has committed them (Rasa's SQL store streams them first, so a
failed commit would leave the broker with events the store never had). With a SQL store and
RabbitMQ, they go through the outbox relay of stores/outbox.py, which survives crashes and
broker outages; with other stores, straight after the commit.

endpoints.yml names the store to wrap in `wrapped_type` (any type Rasa accepts: SQL, redis, a
class path such as stores.tracker.SomeStore) with that store's own settings beside it:

    tracker_store:
      type: stores.fail_loud.FailLoudTrackerStore
      wrapped_type: SQL
      dialect: postgresql
      ...
"""
import logging
from typing import Any, Dict, Iterable, Optional, Text

from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.pika import PikaEventBroker
from rasa.core.tracker_store import TrackerStore, create_tracker_store
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from runtime import metrics
from runtime.turn_failures import TrackerStoreUnavailable
from stores.outbox import BrokerOutbox

logger = logging.getLogger(__name__)


class FailLoudTrackerStore(TrackerStore):
    def __init__(self, domain: Optional[Domain] = None,
                 event_broker: Optional[EventBroker] = None, host: Optional[Text] = None,
                 wrapped_type: Optional[Text] = None, wrapped: Optional[TrackerStore] = None,
                 **wrapped_settings: Any) -> None:
        """Rasa passes endpoints.yml's settings; `wrapped` (a store) is for tests."""
        if wrapped is None:
            if not wrapped_type:
                raise ValueError("FailLoudTrackerStore needs `wrapped_type`: the store to wrap")
            config = EndpointConfig(url=host, type=wrapped_type, **wrapped_settings)
            wrapped = create_tracker_store(config, domain, event_broker=None)
        self._wrapped = wrapped
        engine = getattr(wrapped, "engine", None)  # a SQL store: its table is the outbox
        self._outbox = (BrokerOutbox(engine, event_broker)
                        if engine is not None and isinstance(event_broker, PikaEventBroker)
                        else None)
        # How many events each conversation had when it was last read, to know which events
        # a save adds (they go to the broker once stored).
        self._events_read: Dict[Text, int] = {}
        super().__init__(domain or wrapped.domain, event_broker)

    @property
    def domain(self) -> Domain:
        return self._wrapped.domain

    @domain.setter
    def domain(self, domain: Optional[Domain]) -> None:
        self._wrapped.domain = domain or Domain.empty()

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        tracker = await self._call("read", self._wrapped.retrieve(sender_id))
        self._events_read[sender_id] = len(tracker.events) if tracker else 0
        return tracker

    async def retrieve_full_tracker(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        return await self._call("read", self._wrapped.retrieve_full_tracker(sender_id))

    async def keys(self) -> Iterable[Text]:
        return await self._call("list", self._wrapped.keys())

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self._call("write", self._wrapped.save(tracker))
        already_streamed = self._events_read.pop(tracker.sender_id, 0)
        if self._outbox:
            self._outbox.notify()
        elif self.event_broker:
            await self._stream_new_events(self.event_broker,
                                          list(tracker.events)[already_streamed:],
                                          tracker.sender_id)

    @property
    def relays_events(self) -> bool:
        """Whether events reach the broker through the outbox (a broker outage delays them)."""
        return self._outbox is not None

    def ping(self) -> None:
        """Raises unless the wrapped store answers a query (runtime/health.py; blocking)."""
        engine = getattr(self._wrapped, "engine", None)
        if engine is not None:
            import sqlalchemy as sa
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))

    async def _call(self, what: str, operation: Any) -> Any:
        try:
            return await operation
        except Exception as error:
            metrics.STORE_ERRORS.labels("tracker_store").inc()
            # The error's class only: its text may quote the conversation.
            logger.error("Tracker store %s failed (%s): the turn is refused, not kept in "
                         "memory", what, error.__class__.__name__)
            raise TrackerStoreUnavailable(f"tracker store {what} failed") from None
