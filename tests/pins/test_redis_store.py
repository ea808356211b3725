"""The Redis pin store against a real redis-server: the shared contract, round trips, replicas and faults."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio
from pin_store_contract import CONTRACT, Factory, FakeClock, pin
from redis.exceptions import ResponseError

from brightstaff.config import RedisPinStoreSettings, RedisTLS, parse_config
from brightstaff.core.decision import Pin, RouteChoice
from brightstaff.core.outcome import Forward
from brightstaff.core.request import RequestFacts
from brightstaff.metrics import Metrics
from brightstaff.pins.base import PinStore, PinStoreError, PinStoreUnavailable
from brightstaff.pins.circuit import CircuitState
from brightstaff.pins.redis import RedisPinStore
from brightstaff.server.handler import RequestHandler
from harness.free_port import free_port
from harness.redis_server import TLS_DIR, RedisServer

# Real seconds per contract second: the contract's 60 s TTL becomes 1.2 s, its 10 s margins 200 ms.
SCALE = 0.02


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


def new_store(
    url: str,
    *,
    ttl_seconds: float = 600,
    sliding: bool = True,
    metrics: Metrics | None = None,
    **cache: Any,
) -> RedisPinStore:
    """A store built the way brightstaff builds it, from `routing.session_cache` settings."""
    settings: dict[str, Any] = {"key_prefix": f"test:{uuid.uuid4().hex[:8]}:", "timeout_ms": 1000, **cache}
    return RedisPinStore.from_settings(
        RedisPinStoreSettings(url=url, **settings), ttl_seconds=ttl_seconds, sliding=sliding, metrics=metrics
    )


@asynccontextmanager
async def admin(url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(url)
    try:
        yield client
    finally:
        await client.aclose()


async def run_contract(url: str, case: str, *, script_claims: bool = False) -> None:
    stores: list[RedisPinStore] = []

    def make(*, max_entries: int, ttl_seconds: float, sliding: bool, clock: FakeClock) -> PinStore:
        clock.scale = SCALE  # Redis expires by its own clock: let real time pass instead
        store = new_store(url, ttl_seconds=ttl_seconds * SCALE, sliding=sliding)
        store._claim_by_script = script_claims
        stores.append(store)
        return store

    factory: Factory = make
    try:
        await CONTRACT[case](factory)
    finally:
        for store in stores:
            await store.close()


@pytest.mark.parametrize("case", sorted(CONTRACT))
@pytest.mark.anyio
async def test_contract(redis_server: RedisServer, case: str) -> None:
    await run_contract(redis_server.url, case)


@pytest.mark.parametrize(
    "case", ["miss_then_hit", "claim_keeps_the_first_writer", "concurrent_claims_agree", "ttl_expires"]
)
@pytest.mark.anyio
async def test_contract_with_the_lua_claim_for_redis_6(redis_server: RedisServer, case: str) -> None:
    await run_contract(redis_server.url, case, script_claims=True)


@pytest.mark.anyio
async def test_switches_to_the_lua_claim_when_the_server_refuses_set_nx_get(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = new_store(redis_server.url)
    real_set = store._client.set

    async def old_redis_set(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("nx") and kwargs.get("get"):
            raise ResponseError("ERR syntax error")  # what Redis 6.2 answers
        return await real_set(*args, **kwargs)

    monkeypatch.setattr(store._client, "set", old_redis_set)
    try:
        assert await store.claim("k", pin("first")) == pin("first")
        assert await store.claim("k", pin("second")) == pin("first")
        assert store._claim_by_script
        assert store.breaker.state is CircuitState.CLOSED
    finally:
        await store.close()


@pytest.mark.anyio
async def test_stored_value_is_compact_json_with_a_millisecond_ttl(redis_server: RedisServer) -> None:
    store = new_store(redis_server.url, key_prefix="fmt:", ttl_seconds=600)
    async with admin(redis_server.url) as client:
        try:
            await store.claim("acme|run-7", Pin("openai/gpt-4o", "complex_reasoning", 1763900000.5))
            raw = await client.get("fmt:acme|run-7")
            assert raw == b'{"provider":"openai/gpt-4o","route":"complex_reasoning","pinned_at":1763900000.5}'
            assert 599_000 < await client.pttl("fmt:acme|run-7") <= 600_000
        finally:
            await client.delete("fmt:acme|run-7")
            await store.close()


@pytest.mark.anyio
async def test_two_replicas_racing_on_one_new_id_agree(redis_server: RedisServer) -> None:
    """Two stores with their own connection pools stand in for two brightstaff replicas."""

    prefix = f"race:{uuid.uuid4().hex[:8]}:"
    a, b = new_store(redis_server.url, key_prefix=prefix), new_store(redis_server.url, key_prefix=prefix)
    try:
        for round_ in range(20):
            key = f"session-{round_}"
            claims = [a.claim(key, pin(f"a{i}")) for i in range(8)] + [b.claim(key, pin(f"b{i}")) for i in range(8)]
            winners = await asyncio.gather(*claims)
            assert len(set(winners)) == 1, winners
            assert await a.get(key) == await b.get(key) == winners[0]
    finally:
        await a.close()
        await b.close()


@pytest.mark.anyio
async def test_a_pin_from_one_replica_slides_on_the_other(redis_server: RedisServer) -> None:
    prefix = f"slide:{uuid.uuid4().hex[:8]}:"
    a = new_store(redis_server.url, key_prefix=prefix, ttl_seconds=0.6)
    b = new_store(redis_server.url, key_prefix=prefix, ttl_seconds=0.6)
    try:
        await a.claim("k", pin("p1"))
        for _ in range(4):  # 1.6 s of turns alternating replicas outlive a 0.6 s TTL
            await asyncio.sleep(0.4)
            assert await b.get("k") == pin("p1")
            a, b = b, a
        await asyncio.sleep(0.75)
        assert await a.get("k") is None
    finally:
        await a.close()
        await b.close()


@pytest.mark.anyio
async def test_a_value_that_is_not_a_pin_counts_as_absent_and_is_taken_over(redis_server: RedisServer) -> None:
    metrics = Metrics()
    store = new_store(redis_server.url, key_prefix="corrupt:", metrics=metrics)
    async with admin(redis_server.url) as client:
        try:
            await client.set("corrupt:k", b"not json", px=60_000)
            assert await store.get("k") is None
            assert await store.claim("k", pin("p1")) == pin("p1")
            assert await store.get("k") == pin("p1")
            assert metrics.get("brightstaff_pin_store_corrupt_total") == 2
        finally:
            await client.delete("corrupt:k")
            await store.close()


@pytest.mark.anyio
async def test_redis_refusing_a_command_is_an_error_but_does_not_open_the_circuit(redis_server: RedisServer) -> None:
    store = new_store(redis_server.url, key_prefix="wrongtype:", circuit_failures=2)
    async with admin(redis_server.url) as client:
        try:
            await client.lpush("wrongtype:k", b"x")  # GETEX on a list: WRONGTYPE, answered at once
            for _ in range(5):
                with pytest.raises(PinStoreError, match="WRONGTYPE"):
                    await store.get("k")
            assert store.breaker.state is CircuitState.CLOSED
        finally:
            await client.delete("wrongtype:k")
            await store.close()


@pytest.mark.anyio
async def test_rediss_checks_the_server_against_the_ca_and_presents_the_client_certificate(tmp_path: Path) -> None:
    server = RedisServer(tmp_path, tls=True).start()
    ca, cert, key = (str(TLS_DIR / name) for name in ("ca.crt", "client.crt", "client.key"))

    async def reachable(tls: RedisTLS) -> bool:
        store = new_store(server.url, tls=tls)
        try:
            if not await store.probe():
                return False
            assert await store.claim("k", pin()) == pin() and await store.get("k") == pin()
            return True
        finally:
            await store.close()

    try:
        assert await reachable(RedisTLS(ca_file=ca, cert_file=cert, key_file=key))
        assert not await reachable(RedisTLS(ca_file=ca))  # the server demands a client certificate
        assert not await reachable(RedisTLS(cert_file=cert, key_file=key))  # system CAs do not know this server
        assert await reachable(RedisTLS(cert_file=cert, key_file=key, verify=False))
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------------
# Round trips per request, counted by the server.

CONFIG = {
    "model_providers": [
        {"model": "openai/gpt-4o-mini", "default": True, "base_url": "http://127.0.0.1:9/v1"},
        {"model": "anthropic/claude-sonnet-4-20250514", "base_url": "http://127.0.0.1:9/v1"},
    ],
}


class FixedRouter:
    name = "fixed"

    async def route(self, request: Any) -> RouteChoice:
        return RouteChoice("anthropic/claude-sonnet-4-20250514", "code_generation", "preference", 0.9)


async def commands_since_reset(client: redis.asyncio.Redis) -> dict[str, int]:
    stats = await client.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}
    return {name: n for name, n in calls.items() if not name.startswith(("info", "config"))}


@pytest.mark.parametrize(("sliding", "hit_command"), [(True, "getex"), (False, "get")], ids=["sliding", "fixed"])
@pytest.mark.anyio
async def test_round_trips_per_request(redis_server: RedisServer, sliding: bool, hit_command: str) -> None:
    """A pin hit costs one Redis command; a first pin two (the lookup, then the atomic claim)."""

    config = parse_config(CONFIG, {})
    store = new_store(redis_server.url, sliding=sliding)
    handler = RequestHandler(config, store, FixedRouter(), Metrics())
    body = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "write code"}]})
    facts = RequestFacts(method="POST", path="/v1/chat/completions", affinity=f"rt-{uuid.uuid4()}")

    async def one_request() -> dict[str, int]:
        await client.config_resetstat()
        outcome = await handler.handle(facts, body)
        assert isinstance(outcome, Forward)
        return await commands_since_reset(client)

    async with admin(redis_server.url) as client:
        try:
            await store.get("warm-up")  # open the pooled connection before counting
            first = await one_request()
            hit = await one_request()
            second_hit = await one_request()
        finally:
            await store.close()
    print(f"redis commands, sliding={sliding}: first pin {first}, pin hit {hit}")
    assert first == {hit_command: 1, "set": 1}
    assert hit == second_hit == {hit_command: 1}


# --------------------------------------------------------------------------------------------------
# Capacity: Redis bounds memory itself (maxmemory + an LRU policy), session_max_entries does not apply.


@pytest.mark.anyio
async def test_redis_maxmemory_with_volatile_lru_evicts_old_pins_and_keeps_serving(tmp_path: Path) -> None:
    server = RedisServer(tmp_path, "--maxmemory", "3mb", "--maxmemory-policy", "volatile-lru").start()

    try:
        store = new_store(server.url, key_prefix="cap:")
        value = orjson.dumps({"provider": "p1", "route": "r1", "pinned_at": 1.0})
        async with admin(server.url) as client:
            try:
                # Older pins, written fast through a pipeline: ~4 MB into a 3 MB Redis (1 MB its baseline).
                for start in range(0, 20_000, 1000):
                    async with client.pipeline(transaction=False) as pipe:
                        for i in range(start, start + 1000):
                            pipe.set(f"cap:6f1c2a8e-9c1b-4d2e-8f3a-{i:012d}", value, px=600_000)
                        await pipe.execute()
                await asyncio.sleep(1.1)  # Redis's LRU clock ticks once a second: let the old pins look old
                # The store keeps pinning into the full Redis: every claim evicts an old pin, none fails.
                keys = [f"new-{i}" for i in range(500)]
                assert [await store.claim(key, pin()) for key in keys] == [pin()] * 500
                assert [await store.get(key) for key in keys[-100:]] == [pin()] * 100
                evicted, kept = (await client.info("stats"))["evicted_keys"], await client.dbsize()
                print(f"20500 pins into maxmemory 3mb: {kept} kept, {evicted} evicted")
                assert evicted > 0 and kept < 20_500
                assert store.breaker.state is CircuitState.CLOSED
            finally:
                await store.close()
    finally:
        server.stop()


@pytest.mark.anyio
async def test_memory_per_pin_in_redis_is_bounded(redis_server: RedisServer) -> None:
    """Guards the README's sizing figure for Redis (a UUID key under the default prefix)."""

    store = new_store(redis_server.url, key_prefix="brightstaff:pin:")
    key = str(uuid.uuid4())
    async with admin(redis_server.url) as client:
        try:
            await store.claim(key, Pin("anthropic/claude-sonnet-4-20250514", "code_generation", time.time()))
            usage = await client.memory_usage(f"brightstaff:pin:{key}")
            print(f"redis memory per pin: {usage} bytes")
            assert usage is not None and 100 < usage < 300
        finally:
            await client.delete(f"brightstaff:pin:{key}")
            await store.close()


# --------------------------------------------------------------------------------------------------
# Faults: unreachable, silent, restarted. Every call is bounded; the circuit stops the waiting.


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
    started = time.perf_counter()
    try:
        result: Any = await call()
    except PinStoreError as exc:
        result = exc
    return result, time.perf_counter() - started


def fault_store(url: str, metrics: Metrics | None = None) -> RedisPinStore:
    return new_store(url, metrics=metrics, timeout_ms=50, circuit_failures=3, circuit_cooldown_ms=200)


# Bounds on elapsed time are generous (the calls' deadline is 50 ms): they show a call is bounded, on a
# loaded machine too. That an open circuit does no I/O is shown by counting, not by timing.
BOUNDED = 1.0


class CommandCounter:
    """Counts the commands a store hands its Redis client: none means no I/O was even attempted."""

    def __init__(self, store: RedisPinStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self.sent = asyncio.Event()
        execute: Callable[..., Awaitable[Any]] = store._client.execute_command

        async def counting(*args: Any, **options: Any) -> Any:
            self.count += 1
            self.sent.set()
            return await execute(*args, **options)

        monkeypatch.setattr(store._client, "execute_command", counting)


@pytest.mark.anyio
async def test_unreachable_redis_fails_fast_then_the_circuit_skips_it(monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = Metrics()
    store = fault_store(f"redis://127.0.0.1:{free_port()}/0", metrics)
    commands = CommandCounter(store, monkeypatch)
    try:
        for _ in range(3):
            result, elapsed = await timed(lambda: store.get("k"))
            assert isinstance(result, PinStoreError) and not isinstance(result, PinStoreUnavailable)
            assert elapsed < BOUNDED
        assert store.breaker.state is CircuitState.OPEN
        assert commands.count == 3
        # Open: a lookup is a miss without I/O; a claim refuses, so the request is served unpinned.
        assert await store.get("k") is None
        with pytest.raises(PinStoreUnavailable):
            await store.claim("k", pin())
        assert commands.count == 3  # neither reached the client
        assert metrics.get("brightstaff_pin_store_short_circuits_total", op="get") == 1
        assert metrics.get("brightstaff_pin_store_short_circuits_total", op="claim") == 1
        assert metrics.get("brightstaff_pin_store_circuit_opens_total") == 1
        assert metrics.get("brightstaff_pin_store_circuit_open") == 1
    finally:
        await store.close()


@pytest.mark.anyio
async def test_a_silent_redis_costs_one_timeout_per_call_and_opens_the_circuit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that accepts and never answers (a hung Redis, a black-holed network)."""

    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(4096):
            pass

    silent = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    store = fault_store(f"redis://127.0.0.1:{port}/0")
    commands = CommandCounter(store, monkeypatch)
    try:
        for _ in range(3):
            result, elapsed = await timed(lambda: store.claim("k", pin()))
            assert isinstance(result, PinStoreError)
            assert 0.04 < elapsed < BOUNDED, elapsed  # waited for the 50 ms deadline, and no longer than bounded
        assert store.breaker.state is CircuitState.OPEN
        sent = commands.count
        assert await store.get("k") is None
        assert commands.count == sent  # no I/O
        # A probe that is cancelled (the request went away) does not leave the circuit stuck half-open.
        await asyncio.sleep(0.2)  # the cool-down
        commands.sent.clear()
        probe = asyncio.create_task(store.get("k"))
        async with asyncio.timeout(5):
            await commands.sent.wait()  # the probe is out, and Redis will never answer it
        probe.cancel()
        with pytest.raises(asyncio.CancelledError):
            await probe
        assert store.breaker.state is CircuitState.OPEN and store.breaker.allow()
    finally:
        await store.close()
        for writer in held:
            writer.close()
        silent.close()
        await silent.wait_closed()


@pytest.mark.anyio
async def test_recovers_by_itself_when_redis_restarts(tmp_path: Path) -> None:
    server = RedisServer(tmp_path).start()

    try:
        store = fault_store(server.url)
        try:
            assert await store.claim("k", pin("before")) == pin("before")
            server.kill()
            for _ in range(3):
                result, elapsed = await timed(lambda: store.get("k"))
                assert isinstance(result, PinStoreError) and elapsed < BOUNDED
            assert store.breaker.state is CircuitState.OPEN
            server.start()  # same port, empty (no persistence)
            await asyncio.sleep(0.2)
            # The first call after the cool-down probes through the pool's dead socket: the one retry
            # reconnects within the call, so the probe succeeds and the circuit closes.
            assert await store.get("k") is None
            assert store.breaker.state is CircuitState.CLOSED
            assert await store.claim("k", pin("after")) == pin("after")
            assert await store.get("k") == pin("after")
        finally:
            await store.close()
    finally:
        server.stop()


@pytest.mark.anyio
async def test_down_at_start_up_is_logged_counted_and_picked_up_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    server = RedisServer(tmp_path, port=port)

    try:
        metrics = Metrics()
        store = fault_store(server.url, metrics)
        try:
            with caplog.at_level("WARNING", logger="brightstaff.pins"):
                assert await store.probe() is False
            assert metrics.get("brightstaff_pin_store_errors_total", op="startup") == 1
            assert any("unreachable at start-up" in r.message for r in caplog.records)
            assert store.breaker.state is CircuitState.OPEN
            assert await store.get("k") is None  # no waiting on the dead Redis
            server.start()
            await asyncio.sleep(0.2)
            assert await store.claim("k", pin()) == pin()
            assert store.breaker.state is CircuitState.CLOSED
            assert metrics.get("brightstaff_pin_store_circuit_open") == 0
        finally:
            await store.close()
    finally:
        server.stop()
