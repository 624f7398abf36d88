"""Production stores for tests: PostgreSQL, Redis and RabbitMQ of the machine, each behind a
fault-injecting TCP proxy of the test's own, with a database, key prefix and queue of its own
(other people use the services: tests never stop or reconfigure them).

    stores = ProductionStores.start()   # or pytest.skip(...) when a service does not answer
    env = stores.env()                  # for Assistant(env=...): ASSISTANT_STORES=production
    stores.postgres.cut(); ...; stores.postgres.heal()
    stores.user_turns()                 # {sender: [texts of its stored user turns, in order]}
    stores.stored_events()              # every stored event as (sender, type, timestamp)
    stores.broker_events()              # every event the broker received so far
    stores.close()                      # drops the database, the queue and the keys
"""
import asyncio
import json
import os
import socket
import threading
import uuid
from collections import Counter, defaultdict
from typing import Dict, List, Optional, Set

from harness.launcher import free_port

POSTGRES = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)
RABBITMQ = ("127.0.0.1", 5672)
POSTGRES_USER = "postgres"
RABBITMQ_LOGIN = ("guest", "guest")


def unreachable_services() -> List[str]:
    """The services that do not accept a connection (empty when all do)."""
    missing = []
    for name, address in (("PostgreSQL", POSTGRES), ("Redis", REDIS), ("RabbitMQ", RABBITMQ)):
        try:
            socket.create_connection(address, timeout=2).close()
        except OSError:
            missing.append(f"{name} on {address[0]}:{address[1]}")
    return missing


class FaultProxy:
    """A TCP proxy on a free loopback port. `cut()` drops every live connection and refuses
    new ones (the port is closed), as a crashed or partitioned server would; `heal()` accepts
    connections again."""

    def __init__(self, target: tuple) -> None:
        self.target = target
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._server: Optional[asyncio.AbstractServer] = None
        self._transports: Set[asyncio.Transport] = set()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self.heal()

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _pipe(self, reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    async def _accept(self, client_reader, client_writer) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        pair = {client_writer.transport, upstream_writer.transport}
        self._transports |= pair
        try:
            await asyncio.gather(self._pipe(client_reader, upstream_writer),
                                 self._pipe(upstream_reader, client_writer))
        finally:
            self._transports -= pair

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port,
                                                  reuse_address=True)

    async def _close(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for transport in list(self._transports):
            transport.abort()

    def heal(self) -> None:
        if not self._server:
            self._run(self._listen())

    def cut(self) -> None:
        self._run(self._close())

    async def _drain(self) -> None:
        """Lets the connections' tasks end after cut(): a task still pending when the loop stops
        is logged as destroyed, later, inside whichever test collects it."""
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        if tasks:
            await asyncio.wait(tasks, timeout=5)

    def stop(self) -> None:
        self.cut()
        self._run(self._drain())
        self._loop.call_soon_threadsafe(self._loop.stop)


class ProductionStores:
    def __init__(self) -> None:
        self.run_id = f"t{os.getpid()}{uuid.uuid4().hex[:8]}"  # letters and digits only
        self.database = f"assistant_{self.run_id}"
        self.queue = f"assistant_{self.run_id}"
        self.postgres, self.redis, self.rabbitmq = (FaultProxy(POSTGRES), FaultProxy(REDIS),
                                                    FaultProxy(RABBITMQ))
        self._sql(f'CREATE DATABASE "{self.database}"', database="postgres")
        self._consumed: List[dict] = []

    @classmethod
    def start(cls) -> "ProductionStores":
        return cls()

    def env(self, **extra: str) -> Dict[str, str]:
        return {"ASSISTANT_STORES": "production",
                "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(self.postgres.port),
                "POSTGRES_DB": self.database, "POSTGRES_USER": POSTGRES_USER,
                "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.redis.port),
                "REDIS_KEY_PREFIX": self.run_id,
                "RABBITMQ_HOST": "127.0.0.1", "RABBITMQ_PORT": str(self.rabbitmq.port),
                "RABBITMQ_USER": RABBITMQ_LOGIN[0], "RABBITMQ_PASSWORD": RABBITMQ_LOGIN[1],
                "RABBITMQ_QUEUE": self.queue, **extra}

    def _sql(self, statement: str, database: Optional[str] = None, args=()) -> list:
        import psycopg2
        connection = psycopg2.connect(host=POSTGRES[0], port=POSTGRES[1], user=POSTGRES_USER,
                                      dbname=database or self.database)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, args)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def user_turns(self) -> Dict[str, List[dict]]:
        """Each conversation's stored user turns, in the order stored: their text and
        metadata."""
        turns = defaultdict(list)
        for sender, data in self._sql("SELECT sender_id, data FROM events WHERE "
                                      "type_name = 'user' ORDER BY id"):
            event = json.loads(data)
            turns[sender].append({"text": event.get("text"),
                                  "metadata": event.get("metadata") or {}})
        return dict(turns)

    def stored_events(self) -> Counter:
        """Every stored event as (sender, type, timestamp), counted."""
        return Counter(tuple(row) for row in self._sql(
            "SELECT sender_id, type_name, timestamp FROM events"))

    def broker_events(self, settle: float = 2.0) -> List[dict]:
        """Every event the broker has received so far (consumed from the queue, which Rasa
        declares; kept here across calls)."""
        self._consumed += asyncio.run(self._drain(settle))
        return self._consumed

    async def _drain(self, settle: float) -> List[dict]:
        import aio_pika
        connection = await aio_pika.connect(host=RABBITMQ[0], port=RABBITMQ[1],
                                            login=RABBITMQ_LOGIN[0],
                                            password=RABBITMQ_LOGIN[1])
        events = []
        async with connection:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=1000)
            queue = await channel.declare_queue(self.queue, durable=True)
            async with queue.iterator() as messages:
                while True:
                    try:
                        message = await asyncio.wait_for(messages.__anext__(), settle)
                    except (asyncio.TimeoutError, StopAsyncIteration):
                        break
                    events.append(json.loads(message.body))
                    await message.ack()
        return events

    def close(self) -> None:
        for proxy in (self.postgres, self.redis, self.rabbitmq):
            proxy.stop()
        self._sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)', database="postgres")
        asyncio.run(self._delete_queue())
        import redis
        client = redis.StrictRedis(*REDIS, db=1)
        for key in client.scan_iter(f"{self.run_id}:*"):
            client.delete(key)

    async def _delete_queue(self) -> None:
        import aio_pika
        connection = await aio_pika.connect(host=RABBITMQ[0], port=RABBITMQ[1],
                                            login=RABBITMQ_LOGIN[0],
                                            password=RABBITMQ_LOGIN[1])
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(self.queue)
            await channel.exchange_delete(self.queue)  # named after the queue (endpoints.yml)
