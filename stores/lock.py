"""Ticket locks that processes and replicas cannot both hold: on Redis (replicas) and on a SQLite
file (the workers of one machine, runtime/workers.py).

Rasa 3.6's `RedisLockStore` issues a ticket by reading the lock (GET), adding a ticket in Python
and writing it back (SET): two replicas that read at once both get the same ticket number and
both run the same conversation (RasaHQ/rasa PR 11256), and its `InMemoryLockStore` holds for
one process only. Here every operation on a lock is atomic: a Lua script, which Redis runs
alone, or a SQLite write transaction. Tickets are never issued twice (Redis's INCR, SQLite's
AUTOINCREMENT), live tickets are kept with their expiry, and the lock is held by the lowest
live ticket of the conversation. A ticket is a lease: renewed while its process waits or runs
the turn, it expires `lock_lifetime` seconds after its process died, so a crash stalls that
one conversation for at most that long and a slow turn never lets a second message in.

A waiter polls every `poll_interval` seconds (Rasa's stores poll every second, which makes a
burst of three messages from one user take seconds) and gives up after `wait_timeout` seconds
with a `LockError`, which the channel turns into "still busy, try again" (runtime/turn_failures.py)
rather than Rasa's silent `200 []`. (Rasa's tickets are not renewed: they live 60 s, less than
its 300 s action timeout, so a slow action lets the next message run beside it.) When the store
cannot be asked, `LockError` too: the turn is refused, never run unlocked.

endpoints.yml:

    lock_store:
      type: stores.lock.AtomicRedisLockStore
      url: localhost          # Redis host
      port: 6379
      key_prefix: assistant   # letters and digits
      lock_lifetime: 20
      wait_timeout: 20

    lock_store:
      type: stores.lock.SQLiteLockStore
      db: tracker.db          # a file every worker opens (a table of its own)
"""
import asyncio
import logging
import sqlite3
import threading
import time
from collections import deque
from contextlib import asynccontextmanager, contextmanager
from typing import AsyncGenerator, Iterator, Optional, Text

import redis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import DEFAULT_SOCKET_TIMEOUT_IN_SECONDS, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from runtime import metrics
from runtime.turn_failures import LockStoreUnreachable
from stores.files import owner_only_sqlite

logger = logging.getLogger(__name__)

# KEYS[1] counter, KEYS[2] tickets waiting or holding (sorted set scored by ticket number),
# KEYS[3] each ticket's expiry (hash, milliseconds of Redis's clock).
_PURGE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local expiries = redis.call('HGETALL', KEYS[3])
for i = 1, #expiries, 2 do
  if tonumber(expiries[i + 1]) < now then
    redis.call('HDEL', KEYS[3], expiries[i])
    redis.call('ZREM', KEYS[2], expiries[i])
  end
end
local function lease(ticket, lifetime)
  redis.call('HSET', KEYS[3], ticket, now + lifetime)
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], lifetime) end
end
"""
_ISSUE = _PURGE + """
local ticket = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], ticket, ticket)
lease(ticket, tonumber(ARGV[1]))
return ticket
"""
# 1: the ticket holds the lock; 0: wait; -1: the ticket has expired. A live ticket's lease is
# renewed (ARGV[2] ms from now): waiting or holding, a ticket lives while its replica does.
_TRY = _PURGE + """
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then return -1 end
lease(ARGV[1], tonumber(ARGV[2]))
local first = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
if tonumber(first) == tonumber(ARGV[1]) then return 1 end
return 0
"""
_RELEASE = """
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('ZCARD', KEYS[2]) == 0 then redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]) end
return 1
"""


class LeasedTicketLockStore(LockStore):
    """How a turn waits for, holds and lets go of a conversation's lock. Subclasses keep the
    tickets, each operation atomic: `issue_ticket`, `_renew` and `finish_serving`."""

    def __init__(self, lock_lifetime: float = 20, wait_timeout: float = 20,
                 poll_interval: float = 0.02) -> None:
        self.lock_lifetime = float(lock_lifetime)
        self.wait_timeout = float(wait_timeout)
        self.poll_interval = float(poll_interval)
        super().__init__()

    def _renew(self, conversation_id: Text, ticket: int) -> int:
        """Renews a live ticket's lease: 1 if it holds the lock, 0 if it waits, -1 if it has
        expired."""
        raise NotImplementedError

    async def _acquire_lock(self, conversation_id: Text, ticket: int,
                            wait_time_in_seconds: float) -> TicketLock:
        deadline = time.monotonic() + self.wait_timeout
        while True:
            state = self._renew(conversation_id, ticket)
            if state == 1:
                return TicketLock(conversation_id)
            if state == -1:
                raise LockError(f"Ticket {ticket} expired while waiting for the lock")
            if time.monotonic() > deadline:
                raise LockError(f"Lock busy for more than {self.wait_timeout:g} s")
            await asyncio.sleep(self.poll_interval)

    @asynccontextmanager
    async def lock(self, conversation_id: Text, lock_lifetime: Optional[float] = None,
                   wait_time_in_seconds: float = 0) -> AsyncGenerator[TicketLock, None]:
        try:
            ticket = self.issue_ticket(conversation_id, lock_lifetime)
        except LockStoreUnreachable:
            metrics.STORE_ERRORS.labels("lock_store").inc()
            raise
        lease = None
        try:
            try:
                with metrics.timed(metrics.LOCK_WAIT_SECONDS):
                    lock = await self._acquire_lock(conversation_id, ticket, self.poll_interval)
            except LockStoreUnreachable:
                metrics.STORE_ERRORS.labels("lock_store").inc()
                raise
            lease = asyncio.ensure_future(self._keep_lease(conversation_id, ticket))
            yield lock
        finally:
            if lease:
                lease.cancel()
            self.finish_serving(conversation_id, ticket)

    async def _keep_lease(self, conversation_id: Text, ticket: int) -> None:
        """Renews the held ticket while the turn runs, so that however long it takes no other
        process gets the conversation, and a process that dies lets go within a lifetime."""
        while True:
            await asyncio.sleep(self.lock_lifetime / 4)
            try:
                self._renew(conversation_id, ticket)
            except LockError as error:
                logger.error("Could not renew the lock's lease: %s", error)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        self.finish_serving(conversation_id, ticket_number)

    def save_lock(self, lock: TicketLock) -> None:
        raise NotImplementedError("tickets are only issued atomically, by issue_ticket")


class AtomicRedisLockStore(LeasedTicketLockStore):
    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **settings) -> None:
        if endpoint_config is not None:  # how Rasa builds a lock store named by its class
            settings = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs}
        self._configure(**settings)

    def _configure(self, host: Text = "localhost", port: int = 6379, db: int = 1,
                   username: Optional[Text] = None, password: Optional[Text] = None,
                   key_prefix: Optional[Text] = None,
                   socket_timeout: float = DEFAULT_SOCKET_TIMEOUT_IN_SECONDS,
                   **lease_settings) -> None:
        self.red = redis.StrictRedis(host=host, port=int(port), db=int(db), username=username,
                                     password=password or None,
                                     socket_timeout=float(socket_timeout),
                                     socket_connect_timeout=float(socket_timeout))
        self.key_prefix = f"{key_prefix}:lock:" if key_prefix else "lock:"
        self._issue = self.red.register_script(_ISSUE)
        self._try = self.red.register_script(_TRY)
        self._release = self.red.register_script(_RELEASE)
        super().__init__(**lease_settings)

    def ping(self) -> None:
        """Raises unless Redis answers (runtime/health.py; blocking)."""
        self.red.ping()

    def _keys(self, conversation_id: Text):
        base = self.key_prefix + conversation_id
        return [base + ":counter", base + ":tickets", base + ":expiries"]

    def issue_ticket(self, conversation_id: Text, lock_lifetime: Optional[float] = None) -> int:
        lifetime_ms = int(1000 * (lock_lifetime or self.lock_lifetime))
        try:
            return int(self._issue(keys=self._keys(conversation_id), args=[lifetime_ms]))
        except redis.RedisError as error:
            raise LockStoreUnreachable(f"Lock store unreachable: {error.__class__.__name__}"
                                       ) from None

    def _renew(self, conversation_id: Text, ticket: int) -> int:
        try:
            return int(self._try(keys=self._keys(conversation_id),
                                 args=[ticket, int(1000 * self.lock_lifetime)]))
        except redis.RedisError as error:
            raise LockStoreUnreachable(f"Lock store unreachable: {error.__class__.__name__}"
                                       ) from None

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        try:
            self._release(keys=self._keys(conversation_id), args=[ticket_number])
        except redis.RedisError as error:
            # The ticket then expires by itself after lock_lifetime.
            logger.error("Could not release lock ticket (%s): it expires by itself",
                         error.__class__.__name__)

    # Rasa's interface for inspecting a lock (its HTTP API and tests use it).
    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        _, tickets_key, expiries_key = self._keys(conversation_id)
        expiries = self.red.hgetall(expiries_key)
        tickets = [int(t) for t in self.red.zrange(tickets_key, 0, -1) if t in expiries]
        if not tickets:
            return None
        return TicketLock(conversation_id, deque(Ticket(t, int(expiries[str(t).encode()]) / 1000)
                                                 for t in tickets))

    def delete_lock(self, conversation_id: Text) -> None:
        self.red.delete(*self._keys(conversation_id))


class SQLiteLockStore(LeasedTicketLockStore):
    """The lock for the workers of one machine, in a table of a SQLite file they all open (the
    embedded tracker store's). Each operation is one write transaction (`BEGIN IMMEDIATE`: one
    process at a time), microseconds long; expiries are the machine's wall clock."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **settings) -> None:
        if endpoint_config is not None:  # how Rasa builds a lock store named by its class
            settings = dict(endpoint_config.kwargs)
        self._configure(**settings)

    def _configure(self, db: Text = "tracker.db", busy_timeout: float = 5,
                   **lease_settings) -> None:
        # One connection per process (Rasa makes its lock store after the workers fork); the
        # mutex lets threads share it (tests).
        owner_only_sqlite(db)
        self._connection = sqlite3.connect(db, timeout=float(busy_timeout), isolation_level=None,
                                           check_same_thread=False)
        # Synced to disk at each commit, the three transactions of a message stopped the whole
        # worker for disk syncs (a fifth of its time under load). A ticket outlives no process,
        # so the lock has nothing to keep through a power cut: the write-ahead log is synced at
        # checkpoints only, as the tracker store's is (stores/tracker.py).
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._mutex = threading.Lock()
        with self._transaction() as db_:
            db_.execute("CREATE TABLE IF NOT EXISTS lock_tickets (ticket INTEGER PRIMARY KEY "
                        "AUTOINCREMENT, conversation_id TEXT NOT NULL, expires REAL NOT NULL)")
            db_.execute("CREATE INDEX IF NOT EXISTS lock_tickets_by_conversation "
                        "ON lock_tickets (conversation_id, ticket)")
            db_.execute("CREATE INDEX IF NOT EXISTS lock_tickets_by_expiry "
                        "ON lock_tickets (expires)")
        super().__init__(**lease_settings)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            try:
                self._connection.execute("BEGIN IMMEDIATE")
                try:
                    yield self._connection
                except BaseException:
                    self._connection.execute("ROLLBACK")
                    raise
                self._connection.execute("COMMIT")
            except sqlite3.Error as error:
                raise LockStoreUnreachable(f"Lock store unavailable: {error}") from None

    def ping(self) -> None:
        """Raises unless the file answers a query (runtime/health.py; blocking)."""
        with self._mutex:
            self._connection.execute("SELECT 1")

    def issue_ticket(self, conversation_id: Text, lock_lifetime: Optional[float] = None) -> int:
        with self._transaction() as db:
            now = time.time()
            db.execute("DELETE FROM lock_tickets WHERE expires < ?", (now,))
            return db.execute("INSERT INTO lock_tickets (conversation_id, expires) VALUES (?, ?)",
                              (conversation_id, now + (lock_lifetime or self.lock_lifetime))
                              ).lastrowid

    def _renew(self, conversation_id: Text, ticket: int) -> int:
        with self._transaction() as db:
            now = time.time()
            db.execute("DELETE FROM lock_tickets WHERE expires < ?", (now,))
            renewed = db.execute("UPDATE lock_tickets SET expires = ? WHERE ticket = ?",
                                 (now + self.lock_lifetime, ticket)).rowcount
            if not renewed:
                return -1
            first, = db.execute("SELECT MIN(ticket) FROM lock_tickets WHERE conversation_id = ?",
                                (conversation_id,)).fetchone()
            return 1 if first == ticket else 0

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        try:
            with self._transaction() as db:
                db.execute("DELETE FROM lock_tickets WHERE ticket = ?", (ticket_number,))
        except LockError as error:
            logger.error("Could not release lock ticket (%s): it expires by itself", error)

    # Rasa's interface for inspecting a lock (its HTTP API and tests use it).
    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        with self._transaction() as db:
            tickets = db.execute("SELECT ticket, expires FROM lock_tickets WHERE "
                                 "conversation_id = ? AND expires >= ? ORDER BY ticket",
                                 (conversation_id, time.time())).fetchall()
        return TicketLock(conversation_id, deque(Ticket(*row) for row in tickets)) if tickets \
            else None

    def delete_lock(self, conversation_id: Text) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM lock_tickets WHERE conversation_id = ?", (conversation_id,))
