"""Every stored event reaches RabbitMQ, through crashes and outages: an outbox relay.

Rasa's pika broker publishes each event from memory, in the background, after the turn: a
replica killed with events still queued, or RabbitMQ dropping the connection while they are in
flight, loses them silently (the scale test counted 27 of them in one kill -9). Here the SQL
tracker store's own `events` table is the outbox: each replica runs a relay that publishes the
committed events not yet confirmed by RabbitMQ, in the order they were stored, and marks them
published (table `broker_published`) only once RabbitMQ has confirmed them. One replica relays
at a time (a PostgreSQL advisory lock); when a replica dies or RabbitMQ is down, the events
wait in the table and go out when a relay can send them. Delivery is at least once: a relay
killed between RabbitMQ's confirm and its commit sends those events again, so consumers that
must count exactly deduplicate by sender and timestamp.
"""
import asyncio
import json
import logging
from typing import Any, Optional

import aio_pika
import sqlalchemy as sa

from runtime import metrics

logger = logging.getLogger(__name__)

RELAY_LOCK = 5_500_550  # the advisory lock's key: any number others do not use
BATCH = 500
# Events are looked for above the newest published id less this many: a turn committed later
# than that many newer events (impossible in practice) would be missed.
LOOK_BACK = 10_000


class BrokerOutbox:
    def __init__(self, engine: sa.engine.Engine, broker: Any, interval: float = 0.2) -> None:
        """`broker`: Rasa's PikaEventBroker, whose settings (host, login, exchange, queues)
        the relay uses for a connection of its own, with publisher confirms."""
        self.engine, self.broker, self.interval = engine, broker, interval
        self.postgres = engine.dialect.name == "postgresql"
        self._connection: Optional[aio_pika.abc.AbstractConnection] = None
        self._exchange: Optional[aio_pika.abc.AbstractExchange] = None
        self._task: Optional[asyncio.Task] = None
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """Called after a save: starts the relay in the running loop, or wakes it."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        self._wake.set()

    async def _run(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.text(
                "CREATE TABLE IF NOT EXISTS broker_published (event_id INTEGER PRIMARY KEY)"))
        while True:
            try:
                sent = await self.relay_once()
            except Exception as error:  # RabbitMQ or the database down: try again
                metrics.STORE_ERRORS.labels("event_relay").inc()
                logger.warning("Event relay paused (%s): retrying", error.__class__.__name__)
                await self._disconnect()
                sent = 0
                await asyncio.sleep(1)
            if not sent:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.interval * 10)
                except asyncio.TimeoutError:
                    pass

    async def relay_once(self) -> int:
        """Publishes the next batch of unpublished events; the number published."""
        exchange = await self._connect()
        with self.engine.begin() as connection:
            if self.postgres and not connection.execute(
                    sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": RELAY_LOCK}
            ).scalar():
                return 0  # another replica is relaying
            low = connection.execute(sa.text(
                "SELECT coalesce(max(event_id), 0) FROM broker_published")).scalar() - LOOK_BACK
            rows = connection.execute(sa.text(
                "SELECT id, sender_id, data FROM events e WHERE id > :low AND NOT EXISTS "
                "(SELECT 1 FROM broker_published p WHERE p.event_id = e.id) "
                "ORDER BY id LIMIT :batch"), {"low": low, "batch": BATCH}).fetchall()
            for event_id, sender_id, data in rows:  # in order, each confirmed by RabbitMQ
                body = {"sender_id": sender_id, **json.loads(data)}
                await exchange.publish(aio_pika.Message(
                    json.dumps(body).encode(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key="")
            if rows:
                connection.execute(sa.text("INSERT INTO broker_published (event_id) VALUES "
                                           "(:id)"), [{"id": row[0]} for row in rows])
        return len(rows)

    async def _connect(self) -> aio_pika.abc.AbstractExchange:
        if self._exchange is None:
            broker = self.broker
            self._connection = await aio_pika.connect(host=broker.host, port=broker.port,
                                                      login=broker.username,
                                                      password=broker.password, timeout=5)
            channel = await self._connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(broker.exchange_name,
                                                      type=aio_pika.ExchangeType.FANOUT)
            for queue in broker.queues:
                await (await channel.declare_queue(queue, durable=True)).bind(exchange, "")
            self._exchange = exchange
        return self._exchange

    async def _disconnect(self) -> None:
        connection, self._connection, self._exchange = self._connection, None, None
        if connection:
            try:
                await asyncio.wait_for(connection.close(), 5)
            except Exception:
                pass
