"""Rate limits for the webhooks that take messages from integrations (REST, callback).

A token bucket per key (a sender, an address): `per_minute` messages may come at once, and the
bucket refills at `per_minute` a minute, so a client keeping under the rate is never refused.
Buckets live in this process, the least recently used forgotten past `max_keys`, so memory stays
bounded whatever senders a client invents (a forgotten key starts with a full bucket: the
per-address limit still holds a client inventing senders). With several replicas each has its
own buckets: see README "Security".
"""
import math
import time
from collections import OrderedDict
from typing import Callable, Optional, Tuple


class RateLimit:
    def __init__(self, per_minute: int, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: "OrderedDict[str, Tuple[float, float]]" = OrderedDict()  # tokens, when

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
        now = self.clock()
        tokens, then = self._buckets.pop(key, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - then) * self.per_minute / 60)
        passes = tokens >= 1
        self._buckets[key] = (tokens - 1 if passes else tokens, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return None if passes else max(1, math.ceil((1 - tokens) * 60 / self.per_minute))
