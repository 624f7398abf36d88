"""A bounded table of records keyed by strings, in memory shared with forked processes.

Rasa's workers (runtime/workers.py) are forked after the channels are made, so what a channel
keeps in a `SharedTable` (rate limits' buckets, Slack messages already answered) is the same
whichever worker a request reaches. Memory stays bounded whatever keys clients invent: a key's
record is one of `PROBE` slots chosen by the key's hash, and when all of them are taken the
record used longest ago is forgotten.
"""
import hashlib
import math
import mmap
import multiprocessing
import struct
from contextlib import contextmanager
from typing import Iterator, Tuple

PROBE = 8
_KEY = struct.Struct("=Q")  # each record starts with its key's hash (0: a free slot)
_USED = struct.Struct("=d")  # and ends with when it was last used


class SharedTable:
    def __init__(self, record_format: str, size: int) -> None:
        """`record_format` (struct's syntax) lays out a record after its key's hash and before
        when it was last used."""
        self.record = struct.Struct(f"=Q{record_format.lstrip('=')}d")
        self.size = size
        self._memory = mmap.mmap(-1, self.record.size * size)  # anonymous and shared
        self._mutex = multiprocessing.get_context("fork").Lock()

    @contextmanager
    def record_of(self, key: str) -> Iterator[Tuple[int, int]]:
        """(the key's hash, the offset of its record), for the time of the `with` block, in
        which no other process reads or writes the table. A record whose first field is not the
        hash is another key's, or free: the caller starts the key's record afresh."""
        digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(),
                                "little") or 1
        with self._mutex:
            yield digest, self._slot(digest) * self.record.size

    def unpack(self, offset: int) -> tuple:
        return self.record.unpack_from(self._memory, offset)

    def pack(self, offset: int, *fields) -> None:
        self.record.pack_into(self._memory, offset, *fields)

    def _slot(self, digest: int) -> int:
        """The key's slot; else a free one, else the one used longest ago (slots are never
        freed, so a key's slot is never after a free one)."""
        slots = [(digest + i) % self.size for i in range(min(PROBE, self.size))]
        oldest, oldest_when = slots[0], math.inf
        for slot in slots:
            offset = slot * self.record.size
            held, = _KEY.unpack_from(self._memory, offset)
            if held in (digest, 0):
                return slot
            when, = _USED.unpack_from(self._memory, offset + self.record.size - _USED.size)
            if when < oldest_when:
                oldest, oldest_when = slot, when
        return oldest
