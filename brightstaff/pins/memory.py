"""In-process pin store: an LRU bounded by `session_max_entries` with a TTL, O(1) per operation.

Invariant: `_entries` is ordered least- to most-recently used and never holds more than `max_entries`
keys; expired entries are dropped when touched or when they reach the LRU end, never by a scan.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from brightstaff.core.decision import Pin


class MemoryPinStore:
    def __init__(
        self,
        *,
        max_entries: int,
        ttl_seconds: float,
        sliding: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max = max_entries
        self._ttl = ttl_seconds
        self._sliding = sliding
        self._clock = clock
        self._entries: OrderedDict[str, tuple[Pin, float]] = OrderedDict()
        self.evictions = 0

    def _live(self, key: str, now: float) -> Pin | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        pin, expires_at = entry
        if expires_at <= now:
            del self._entries[key]
            return None
        return pin

    def _store(self, key: str, pin: Pin, now: float) -> None:
        self._entries[key] = (pin, now + self._ttl)
        self._entries.move_to_end(key)
        # With a sliding TTL, LRU order is expiry order: drop the expired head, amortized O(1).
        while self._entries:
            oldest_key, (_, expires_at) = next(iter(self._entries.items()))
            if expires_at > now:
                break
            del self._entries[oldest_key]
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
            self.evictions += 1

    async def get(self, key: str) -> Pin | None:
        now = self._clock()
        pin = self._live(key, now)
        if pin is None:
            return None
        if self._sliding:
            self._entries[key] = (pin, now + self._ttl)
        self._entries.move_to_end(key)
        return pin

    async def claim(self, key: str, pin: Pin) -> Pin:
        now = self._clock()
        existing = self._live(key, now)
        if existing is not None:
            return existing
        self._store(key, pin, now)
        return pin

    async def replace(self, key: str, pin: Pin) -> None:
        self._store(key, pin, self._clock())

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def size(self) -> int:
        return len(self._entries)

    async def close(self) -> None:
        self._entries.clear()
