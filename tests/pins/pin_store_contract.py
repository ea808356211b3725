"""The behaviour every PinStore backend must show; backends' test modules run `CONTRACT` against themselves.

A backend test module provides a factory `make(max_entries, ttl_seconds, sliding, clock)` where `clock` is
a `FakeClock` the store must use for expiry. Backends that expire server-side (Redis) cannot read a fake
clock: their factory sets `clock.scale`, builds the store with `ttl_seconds * scale`, and every
`clock.advance(s)` then also lets `s * scale` seconds of real time pass. Time steps stay at least 10 TTL
units (1/6 of the TTL) away from every expiry, so that scaled-down real time keeps a margin for round trips.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from brightstaff.core.decision import Pin
from brightstaff.pins.base import PinStore


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.scale = 0.0  # real seconds per fake second, for backends that expire by the real clock

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        if self.scale:
            # Blocking on purpose: the scenario awaits nothing else meanwhile, and advance stays sync.
            time.sleep(seconds * self.scale)


class Factory(Protocol):
    def __call__(self, *, max_entries: int, ttl_seconds: float, sliding: bool, clock: FakeClock) -> PinStore: ...


def pin(provider: str = "p1", route: str | None = "r1") -> Pin:
    return Pin(provider=provider, route=route, pinned_at=1.0)


async def miss_then_hit(make: Factory) -> None:
    store = make(max_entries=10, ttl_seconds=60, sliding=True, clock=FakeClock())
    assert await store.get("k") is None
    assert await store.claim("k", pin("p1")) == pin("p1")
    assert await store.get("k") == pin("p1")


async def claim_keeps_the_first_writer(make: Factory) -> None:
    store = make(max_entries=10, ttl_seconds=60, sliding=True, clock=FakeClock())
    assert await store.claim("k", pin("first")) == pin("first")
    assert await store.claim("k", pin("second")) == pin("first")
    assert await store.get("k") == pin("first")


async def concurrent_claims_agree(make: Factory) -> None:
    store = make(max_entries=100, ttl_seconds=60, sliding=True, clock=FakeClock())
    winners = await asyncio.gather(*(store.claim("k", pin(f"p{i}")) for i in range(20)))
    assert len(set(winners)) == 1
    assert await store.get("k") == winners[0]


async def ttl_expires(make: Factory) -> None:
    clock = FakeClock()
    store = make(max_entries=10, ttl_seconds=60, sliding=False, clock=clock)
    await store.claim("k", pin())
    clock.advance(50)
    assert await store.get("k") == pin()
    clock.advance(20)
    assert await store.get("k") is None
    assert await store.claim("k", pin("p2")) == pin("p2")


async def sliding_ttl_refreshes_on_hit(make: Factory) -> None:
    clock = FakeClock()
    store = make(max_entries=10, ttl_seconds=60, sliding=True, clock=clock)
    await store.claim("k", pin())
    for _ in range(4):  # an agent run of 160 s, one turn every 40 s, outlives a 60 s TTL
        clock.advance(40)
        assert await store.get("k") == pin()
    clock.advance(70)
    assert await store.get("k") is None


async def fixed_ttl_does_not_refresh(make: Factory) -> None:
    clock = FakeClock()
    store = make(max_entries=10, ttl_seconds=60, sliding=False, clock=clock)
    await store.claim("k", pin())
    clock.advance(40)
    assert await store.get("k") == pin()  # sliding would now run to 100 s
    clock.advance(30)
    assert await store.get("k") is None


async def replace_overwrites(make: Factory) -> None:
    store = make(max_entries=10, ttl_seconds=60, sliding=True, clock=FakeClock())
    await store.claim("k", pin("old"))
    await store.replace("k", pin("new"))
    assert await store.get("k") == pin("new")
    await store.delete("k")
    assert await store.get("k") is None


async def pin_fields_round_trip(make: Factory) -> None:
    store = make(max_entries=10, ttl_seconds=60, sliding=True, clock=FakeClock())
    default_route = Pin(provider="anthropic/claude-sonnet-4-20250514", route=None, pinned_at=1763900000.123456)
    assert await store.claim("team/agent:7", default_route) == default_route
    assert await store.get("team/agent:7") == default_route


async def tenants_do_not_collide(make: Factory) -> None:
    store = make(max_entries=10, ttl_seconds=60, sliding=True, clock=FakeClock())
    await store.claim("acme|s1", pin("a"))
    await store.claim("globex|s1", pin("b"))
    assert await store.get("acme|s1") == pin("a")
    assert await store.get("globex|s1") == pin("b")
    assert await store.get("s1") is None


CONTRACT: dict[str, Callable[[Factory], Awaitable[None]]] = {
    f.__name__: f
    for f in (
        miss_then_hit,
        claim_keeps_the_first_writer,
        concurrent_claims_agree,
        ttl_expires,
        sliding_ttl_refreshes_on_hit,
        fixed_ttl_does_not_refresh,
        replace_overwrites,
        pin_fields_round_trip,
        tenants_do_not_collide,
    )
}
