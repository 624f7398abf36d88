"""The ticket locks (stores/lock.py): on the machine's Redis, with a key prefix of their own, and
on a SQLite file. Rasa's RedisLockStore runs the same races to show the fault they fix (PR
11256). Each "replica" is a store of its own, with its own connection, as each process has."""
import asyncio
import multiprocessing
import threading
import uuid

import pytest
from rasa.core.lock_store import LockError, RedisLockStore

from harness.launcher import free_port
from harness.production_stores import REDIS, unreachable_services
from runtime.turn_failures import LockStoreUnreachable
from stores.lock import AtomicRedisLockStore, SQLiteLockStore

REPLICAS = 4
NO_REDIS = pytest.mark.skipif(any("Redis" in s for s in unreachable_services()),
                              reason="Redis does not answer on 127.0.0.1:6379")
RASA_S = pytest.mark.xfail(strict=True, reason="Rasa 3.6's GET-then-SET issues one ticket to "
                                               "several replicas")


@pytest.fixture
def replicas(request, tmp_path):
    """A function making REPLICAS lock stores of the kind the test is parametrized with."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        yield lambda **settings: [SQLiteLockStore(db=str(tmp_path / "tracker.db"), **settings)
                                  for _ in range(REPLICAS)]
        return
    prefix = f"locktest{uuid.uuid4().hex[:8]}"
    store_class = AtomicRedisLockStore if kind == "redis" else RedisLockStore
    yield lambda **settings: [store_class(host=REDIS[0], port=REDIS[1], key_prefix=prefix,
                                          **settings) for _ in range(REPLICAS)]
    client = AtomicRedisLockStore(host=REDIS[0], port=REDIS[1]).red
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


KINDS = [pytest.param("redis", marks=NO_REDIS), "sqlite"]
KINDS_AND_RASA_S = [*KINDS, pytest.param("rasa", marks=[NO_REDIS, RASA_S])]


@pytest.mark.parametrize("replicas", KINDS_AND_RASA_S, indirect=True)
def test_replicas_asking_at_once_never_get_the_same_ticket(replicas):
    stores = replicas()
    for conversation in range(5):
        start, tickets = threading.Barrier(REPLICAS * 5), []

        def ask(store):
            start.wait()
            tickets.append(store.issue_ticket(f"conversation{conversation}", 30))

        threads = [threading.Thread(target=ask, args=(store,)) for store in stores * 5]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(tickets) == sorted(set(tickets)), "a ticket was issued twice"


@pytest.mark.parametrize("replicas", KINDS_AND_RASA_S, indirect=True)
def test_one_replica_at_a_time_runs_a_conversation(replicas):
    stores = replicas()
    inside, most_inside, turns, count = 0, 0, 0, threading.Lock()

    async def turn(store):
        nonlocal inside, most_inside, turns
        async with store.lock("conversation", 30, 0.01):
            with count:
                inside += 1
                most_inside = max(most_inside, inside)
            await asyncio.sleep(0.02)
            with count:
                inside -= 1
                turns += 1

    async def replica(store):  # each replica its own process in production: here a thread
        # Rasa's store can keep resurrecting finished tickets for minutes: a store that has not
        # let 12 turns of 20 ms through in 20 s has failed too.
        await asyncio.wait_for(asyncio.gather(*(turn(store) for _ in range(3))), 20)

    threads = [threading.Thread(target=asyncio.run, args=(replica(store),)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert turns == REPLICAS * 3 and most_inside == 1


def test_worker_processes_take_turns_on_the_sqlite_lock(tmp_path):
    """As Rasa's workers do (runtime/workers.py): processes forked with no store, each making
    its own on the same file."""
    fork = multiprocessing.get_context("fork")
    inside, most_inside, turns = fork.Value("i", 0), fork.Value("i", 0), fork.Value("i", 0)

    async def turns_of_one_worker():
        store = SQLiteLockStore(db=str(tmp_path / "tracker.db"))

        async def turn():
            async with store.lock("conversation"):
                with inside.get_lock():
                    inside.value += 1
                    most_inside.value = max(most_inside.value, inside.value)
                await asyncio.sleep(0.02)
                with inside.get_lock():
                    inside.value -= 1
                    turns.value += 1

        await asyncio.gather(*(turn() for _ in range(3)))

    workers = [fork.Process(target=asyncio.run, args=(turns_of_one_worker(),))
               for _ in range(REPLICAS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert [worker.exitcode for worker in workers] == [0] * REPLICAS
    assert turns.value == REPLICAS * 3 and most_inside.value == 1


@pytest.mark.parametrize("replicas", KINDS, indirect=True)
def test_a_busy_conversation_gives_up_after_the_wait_timeout(replicas):
    holder, waiter = replicas(wait_timeout=0.5)[:2]

    async def scenario():
        async with holder.lock("conversation"):
            with pytest.raises(LockError, match="busy"):
                async with waiter.lock("conversation"):
                    pass
        async with waiter.lock("conversation"):  # free again once the holder is done
            return True

    assert asyncio.run(scenario())


@pytest.mark.parametrize("replicas", KINDS, indirect=True)
def test_a_crashed_holder_lets_go_when_its_ticket_expires(replicas):
    crashed, waiter = replicas()[:2]
    crashed.issue_ticket("conversation", lock_lifetime=0.5)  # taken, never released

    async def scenario():
        async with waiter.lock("conversation"):
            return True

    assert asyncio.run(scenario())
    assert crashed.get_lock("conversation") is None  # nothing left behind


def test_an_unreachable_redis_refuses_the_turn():
    store = AtomicRedisLockStore(host="127.0.0.1", port=free_port(), socket_timeout=1)
    with pytest.raises(LockStoreUnreachable):
        store.issue_ticket("conversation")


@pytest.mark.parametrize("replicas", KINDS, indirect=True)
def test_a_turn_longer_than_the_lifetime_keeps_the_lock_while_it_runs(replicas):
    holder, waiter = replicas(lock_lifetime=0.4)[:2]
    order = []

    async def slow_turn():
        async with holder.lock("conversation"):
            order.append("slow turn starts")
            await asyncio.sleep(1.2)  # three lifetimes: the lease is renewed meanwhile
            order.append("slow turn ends")

    async def next_turn():
        await asyncio.sleep(0.1)
        async with waiter.lock("conversation"):
            order.append("next turn")

    async def both():
        await asyncio.gather(slow_turn(), next_turn())

    asyncio.run(both())
    assert order == ["slow turn starts", "slow turn ends", "next turn"]


def test_rasa_makes_the_sqlite_lock_store_from_endpoints_yml(tmp_path):
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    store = LockStore.create(EndpointConfig(type="stores.lock.SQLiteLockStore",
                                            db=str(tmp_path / "tracker.db"), lock_lifetime=5))
    assert isinstance(store, SQLiteLockStore) and store.lock_lifetime == 5
    ticket = store.issue_ticket("conversation")
    assert [t.number for t in store.get_lock("conversation").tickets] == [ticket]


def test_the_sqlite_lock_does_not_wait_for_the_disk_at_each_commit(tmp_path):
    """Three commits a message, each synced to disk, held every worker up (docs/speed.md): the
    write-ahead log is synced at checkpoints only, as the tracker store's."""
    store = SQLiteLockStore(db=str(tmp_path / "tracker.db"))
    assert store._connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert store._connection.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
