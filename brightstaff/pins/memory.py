"""In-process pin store: an LRU bounded by `session_max_entries` with a TTL, O(1) per operation.

Invariant: `_entries` is ordered least- to most-recently used and never holds more than `max_entries`
keys; expired entries are dropped when touched or when they reach the LRU end, never by a scan.

Memory: one `_Entry` per pin (the pin's fields and its expiry in one slotted object; a hit moves the
expiry in place) beside the key: ~310 bytes per pin with 26-character ids, keys included, measured as RSS
growth over 200,000 pins (README, Affinity semantics). A `Pin` plus a `(pin, expiry)` tuple per entry
took ~366.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from brightstaff.core.decision import Pin


class _Entry:
    __slots__ = ("expires_at", "pinned_at", "provider", "route")

    def __init__(self, pin: Pin, expires_at: float) -> None:
        self.provider = pin.provider
        self.route = pin.route
        self.pinned_at = pin.pinned_at
        self.expires_at = expires_at

    def pin(self) -> Pin:
        return Pin(self.provider, self.route, self.pinned_at)


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
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self.evictions = 0

    def _live(self, key: str, now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= now:
            del self._entries[key]
            return None
        return entry

    def _store(self, key: str, pin: Pin, now: float) -> None:
        self._entries[key] = _Entry(pin, now + self._ttl)
        self._entries.move_to_end(key)
        # With a sliding TTL, LRU order is expiry order: drop the expired head, amortized O(1).
        while self._entries:
            oldest_key, oldest = next(iter(self._entries.items()))
            if oldest.expires_at > now:
                break
            del self._entries[oldest_key]
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
            self.evictions += 1

    async def get(self, key: str) -> Pin | None:
        now = self._clock()
        entry = self._live(key, now)
        if entry is None:
            return None
        if self._sliding:
            entry.expires_at = now + self._ttl
        self._entries.move_to_end(key)
        return entry.pin()

    async def claim(self, key: str, pin: Pin) -> Pin:
        now = self._clock()
        existing = self._live(key, now)
        if existing is not None:
            return existing.pin()
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
