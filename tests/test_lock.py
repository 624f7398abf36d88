"""The Redis ticket lock (stores/lock.py) against the machine's Redis, with a key prefix of its
own; Rasa's RedisLockStore runs the same races to show the fault it fixes (PR 11256)."""
import asyncio
import threading
import uuid

import pytest
from rasa.core.lock_store import LockError, RedisLockStore

from conftest import free_port
from production import REDIS, unreachable_services
from stores.lock import AtomicRedisLockStore, LockStoreUnreachable

pytestmark = pytest.mark.skipif(any("Redis" in s for s in unreachable_services()),
                                reason="Redis does not answer on 127.0.0.1:6379")
REPLICAS = 4


@pytest.fixture
def prefix():
    prefix = f"locktest{uuid.uuid4().hex[:8]}"
    yield prefix
    client = AtomicRedisLockStore(host=REDIS[0], port=REDIS[1]).red
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def replicas(store_class, prefix, **settings):
    """One lock store per replica, each with its own Redis connection."""
    return [store_class(host=REDIS[0], port=REDIS[1], key_prefix=prefix, **settings)
            for _ in range(REPLICAS)]


ATOMIC_AND_RASA = [AtomicRedisLockStore, pytest.param(RedisLockStore, marks=pytest.mark.xfail(
    strict=True, reason="Rasa 3.6's GET-then-SET issues one ticket to several replicas"))]


@pytest.mark.parametrize("store_class", ATOMIC_AND_RASA)
def test_replicas_asking_at_once_never_get_the_same_ticket(store_class, prefix):
    stores = replicas(store_class, prefix)
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


@pytest.mark.parametrize("store_class", ATOMIC_AND_RASA)
def test_one_replica_at_a_time_runs_a_conversation(store_class, prefix):
    stores = replicas(store_class, prefix)
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
        await asyncio.gather(*(turn(store) for _ in range(3)))

    threads = [threading.Thread(target=asyncio.run, args=(replica(store),)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert turns == REPLICAS * 3 and most_inside == 1


def test_a_busy_conversation_gives_up_after_the_wait_timeout(prefix):
    holder, waiter = replicas(AtomicRedisLockStore, prefix, wait_timeout=0.5)[:2]

    async def scenario():
        async with holder.lock("conversation"):
            with pytest.raises(LockError, match="busy"):
                async with waiter.lock("conversation"):
                    pass
        async with waiter.lock("conversation"):  # free again once the holder is done
            return True

    assert asyncio.run(scenario())


def test_a_crashed_holder_lets_go_when_its_ticket_expires(prefix):
    crashed, waiter = replicas(AtomicRedisLockStore, prefix)[:2]
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


def test_a_turn_longer_than_the_lifetime_keeps_the_lock_while_it_runs(prefix):
    holder, waiter = replicas(AtomicRedisLockStore, prefix, lock_lifetime=0.4)[:2]
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
