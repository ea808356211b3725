"""The memory pin store: the shared contract, plus LRU capacity and O(1) behaviour of its own."""

from __future__ import annotations

import sys
import tracemalloc

import pytest
from pin_store_contract import CONTRACT, Factory, FakeClock, pin

from brightstaff.core.decision import Pin
from brightstaff.pins.base import PinStore
from brightstaff.pins.memory import MemoryPinStore


def make(*, max_entries: int, ttl_seconds: float, sliding: bool, clock: FakeClock) -> PinStore:
    return MemoryPinStore(max_entries=max_entries, ttl_seconds=ttl_seconds, sliding=sliding, clock=clock)


@pytest.mark.parametrize("case", sorted(CONTRACT))
@pytest.mark.anyio
async def test_contract(case: str) -> None:
    factory: Factory = make
    await CONTRACT[case](factory)


@pytest.mark.anyio
async def test_lru_evicts_the_least_recently_used() -> None:
    store = MemoryPinStore(max_entries=3, ttl_seconds=60, clock=FakeClock())
    for key in ("a", "b", "c"):
        await store.claim(key, pin(key))
    await store.get("a")  # "b" is now the least recently used
    await store.claim("d", pin("d"))
    assert await store.get("b") is None
    assert [await store.get(k) for k in ("a", "c", "d")] == [pin("a"), pin("c"), pin("d")]
    assert store.evictions == 1
    assert await store.size() == 3


@pytest.mark.anyio
async def test_expired_entries_are_dropped_from_the_head_on_insert() -> None:
    clock = FakeClock()
    store = MemoryPinStore(max_entries=100, ttl_seconds=10, clock=clock)
    for i in range(50):
        await store.claim(f"old{i}", pin())
    clock.advance(11)
    await store.claim("new", pin())
    assert await store.size() == 1
    assert store.evictions == 0


def test_rejects_a_zero_bound() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        MemoryPinStore(max_entries=0, ttl_seconds=1)


@pytest.mark.anyio
async def test_memory_per_pin_is_bounded() -> None:
    """Guards the README's per-pin memory figure: a typical pin (UUID key) stays under 600 bytes."""

    async def fill(store: MemoryPinStore, n: int) -> None:
        for i in range(n):
            key = f"6f1c2a8e-9c1b-4d2e-8f3a-{i:012d}"
            await store.claim(
                key, Pin(provider="anthropic/claude-sonnet-4-20250514", route="code_generation", pinned_at=1.0)
            )

    n = 20_000
    store = MemoryPinStore(max_entries=n, ttl_seconds=600)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    await fill(store, n)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per_pin = (after - before) / n
    print(f"memory per pin: {per_pin:.0f} bytes (python {sys.version_info.major}.{sys.version_info.minor})")
    assert 100 < per_pin < 600


@pytest.mark.anyio
async def test_a_pin_costs_under_275_allocated_bytes_keys_included() -> None:
    """Allocated bytes per pin (tracemalloc: deterministic, unlike RSS); the README quotes RSS, from
    tests/pins/bench_pin_memory.py. One slotted entry per pin: 253 bytes; a Pin plus a tuple per entry: 300."""
    import tracemalloc

    store = MemoryPinStore(max_entries=50_000, ttl_seconds=600)
    routes = [("openai/gpt-4o", "complex_reasoning"), ("anthropic/claude-sonnet-4", "code_generation")]

    async def fill() -> None:
        for i in range(20_000):
            provider, route = routes[i % 2]
            # A 26-character id and a new Pin, made here as the handler makes them for each first request.
            await store.claim(f"01JD{i:022d}", Pin(provider, route, 1_764_000_000.0 + i))

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        await fill()
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert used / 20_000 < 275, f"{used / 20_000:.0f} bytes per pin"
