"""Rate limits for the webhooks that take messages from integrations (REST, callback), and for
their wrong-token guesses.

A token bucket per key (a sender, an address): `per_minute` messages may come at once, and the
bucket refills at `per_minute` a minute, so a client keeping under the rate is never refused.
The buckets are in a `SharedTable` (runtime/shared_memory.py): a client is held to one limit
whichever of Rasa's workers its connections reach, and there are at most `max_keys` buckets (a
forgotten key starts with a full bucket: the per-address limit still holds a client inventing
senders). With several replicas each has its own buckets: see docs/security.md.
"""
import math
import time
from typing import Callable, Optional

from runtime import metrics
from runtime.shared_memory import SharedTable


class RateLimit:
    def __init__(self, per_minute: int, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock  # CLOCK_MONOTONIC: one clock for every process of the machine
        self._buckets = SharedTable("d", max_keys)  # a bucket's tokens

    @classmethod
    def from_setting(cls, value: Optional[object], default: int) -> "RateLimit":
        """A limit from a setting of credentials.yml: a number of messages a minute (0 switches
        it off), or the default when it is not set."""
        if value is None or value == "":
            return cls(default)
        try:
            per_minute = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"a rate limit is a whole number of messages a minute, not {value!r}")
        if per_minute < 0:
            raise ValueError(f"a rate limit cannot be negative ({per_minute})")
        return cls(per_minute)

    def retry_after(self, key: str) -> Optional[int]:
        """Takes one message from the key's bucket: None if it may pass, else the seconds until
        it could."""
        return self._bucket(key, take=True)

    def waiting(self, key: str) -> Optional[int]:
        """Like retry_after, without taking anything: None if the key's next message would pass
        (a client locked out after failed tries is refused before it tries again)."""
        return self._bucket(key, take=False)

    def _bucket(self, key: str, take: bool) -> Optional[int]:
        if not self.per_minute:
            return None
        with self._buckets.record_of(key) as (digest, offset):
            now = self.clock()
            held, tokens, then = self._buckets.unpack(offset)
            if held != digest:
                if not take:
                    return None  # a full bucket, not written: the slot stays another key's
                tokens, then = float(self.per_minute), now
            tokens = min(float(self.per_minute), tokens + (now - then) * self.per_minute / 60)
            passes = tokens >= 1
            if take:
                self._buckets.pack(offset, digest, tokens - 1 if passes else tokens, now)
        if not passes:
            metrics.RATE_LIMITED.inc()
        return None if passes else max(1, math.ceil((1 - tokens) * 60 / self.per_minute))
