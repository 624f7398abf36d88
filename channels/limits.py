"""Rate limits for the webhooks that take messages from integrations (REST, callback).

A token bucket per key (a sender, an address): `per_minute` messages may come at once, and the
bucket refills at `per_minute` a minute, so a client keeping under the rate is never refused.
The buckets live in memory shared with the processes forked after the limit was made: Rasa's
workers (runtime/workers.py) are forked after the channels are made, so a client is held to one
limit whichever worker its connections reach. There are at most `max_keys` buckets, so memory
stays bounded whatever senders a client invents: a key's bucket is one of `PROBE` slots chosen
by the key's hash, and when all of them are taken the one used longest ago is forgotten (a
forgotten key starts with a full bucket: the per-address limit still holds a client inventing
senders). With several replicas each has its own buckets: see README "Security".
"""
import hashlib
import math
import mmap
import multiprocessing
import struct
import time
from typing import Callable, Optional

# A bucket: the hash of its key (0: a free slot), its tokens, and when it was last used.
_BUCKET = struct.Struct("=Qdd")
PROBE = 8


class RateLimit:
    def __init__(self, per_minute: int, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.max_keys = max_keys
        self.clock = clock  # CLOCK_MONOTONIC: one clock for every process of the machine
        self._buckets = mmap.mmap(-1, _BUCKET.size * max_keys)  # anonymous and shared
        self._mutex = multiprocessing.get_context("fork").Lock()

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
        if not self.per_minute:
            return None
        digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(),
                                "little") or 1
        with self._mutex:
            now = self.clock()
            offset = self._slot(digest) * _BUCKET.size
            held, tokens, then = _BUCKET.unpack_from(self._buckets, offset)
            if held != digest:
                tokens, then = float(self.per_minute), now
            tokens = min(float(self.per_minute), tokens + (now - then) * self.per_minute / 60)
            passes = tokens >= 1
            _BUCKET.pack_into(self._buckets, offset, digest, tokens - 1 if passes else tokens,
                              now)
        return None if passes else max(1, math.ceil((1 - tokens) * 60 / self.per_minute))

    def _slot(self, digest: int) -> int:
        """The key's slot; else a free one, else the one used longest ago (slots are never
        freed, so a key's slot is never after a free one)."""
        slots = [(digest + i) % self.max_keys for i in range(min(PROBE, self.max_keys))]
        oldest, oldest_when = slots[0], math.inf
        for slot in slots:
            held, _, when = _BUCKET.unpack_from(self._buckets, slot * _BUCKET.size)
            if held in (digest, 0):
                return slot
            if when < oldest_when:
                oldest, oldest_when = slot, when
        return oldest
