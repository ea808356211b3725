"""The Redis pin store: pins shared by every brightstaff replica, one round trip per pin hit.

Invariant: each call costs one Redis round trip (two only in rare repair cases noted below), finishes
within `routing.session_cache.timeout_ms` whatever Redis does, and never touches Redis while the circuit
is open. Every Redis failure leaves as `PinStoreError`; the handler then serves the request without
affinity.

Commands, with key = key_prefix + pin key and value = compact JSON {"provider", "route", "pinned_at"}:

    get      sliding: GETEX key PX ttl        read and restart the TTL in one round trip (Redis >= 6.2)
             fixed:   GET key                 the TTL runs from the first pin, as in Plano
    claim    SET key value NX GET PX ttl      write only if absent and read back the earlier writer's pin,
                                              atomically, in one round trip (Redis >= 7.0; on 6.2, which
                                              refuses NX with GET, the same in a Lua script via EVALSHA)
    replace  SET key value PX ttl
    delete   DEL key
    size     no command: -1. Counting keys under a prefix is a SCAN of the whole keyspace, too costly
             for a metrics scrape; Redis's INFO keyspace (or redis_exporter) counts keys instead.

Expiry is Redis's own (millisecond PX), so replicas agree on it without sharing a clock. Capacity is
bounded by Redis's `maxmemory` with an LRU policy, not by `session_max_entries`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from brightstaff.config.model import RedisPinStoreSettings
from brightstaff.core.decision import Pin
from brightstaff.metrics import Metrics
from brightstaff.pins.base import PinStoreError, PinStoreUnavailable
from brightstaff.pins.circuit import CircuitBreaker, CircuitState

log = logging.getLogger("brightstaff.pins")

T = TypeVar("T")

# Redis 6.2 has GETEX but refuses SET ... NX GET: the same atomic claim as a script, one round trip too.
_CLAIM_SCRIPT = """
local old = redis.call('GET', KEYS[1])
if old then return old end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"""


def encode_pin(pin: Pin) -> bytes:
    return orjson.dumps({"provider": pin.provider, "route": pin.route, "pinned_at": pin.pinned_at})


def decode_pin(raw: bytes) -> Pin | None:
    """The pin in a stored value, or None when the value is not one (another program's key, an old format)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    provider, route, pinned_at = data.get("provider"), data.get("route"), data.get("pinned_at")
    if not isinstance(provider, str) or not (route is None or isinstance(route, str)):
        return None
    if isinstance(pinned_at, bool) or not isinstance(pinned_at, (int, float)):
        return None
    return Pin(provider=provider, route=route, pinned_at=float(pinned_at))


def make_client(settings: RedisPinStoreSettings) -> redis.asyncio.Redis:
    """A pooled asyncio client that fails fast: short timeouts, one reconnect attempt, no backoff sleeps."""
    timeout = settings.timeout_ms / 1000
    options: dict[str, Any] = {
        # A bounded pool that queues: a burst of requests waits (within the call's deadline) for a free
        # connection instead of failing with "Too many connections" as redis-py's default pool does.
        "max_connections": settings.max_connections,
        "timeout": timeout,
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        # One immediate retry on a connection error: after a Redis restart the pool's idle sockets are dead,
        # and the retry reconnects within the same call instead of failing one request per stale socket.
        # redis-py's default (3 retries with backoff) would outlast the timeout many times over.
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    }
    tls = settings.tls
    if tls is not None:
        options.update(
            ssl_ca_certs=tls.ca_file,
            ssl_certfile=tls.cert_file,
            ssl_keyfile=tls.key_file,
            ssl_cert_reqs=ssl.CERT_REQUIRED if tls.verify else ssl.CERT_NONE,
            ssl_check_hostname=tls.verify,
        )
    return redis.asyncio.Redis.from_pool(redis.asyncio.BlockingConnectionPool.from_url(settings.url, **options))


class RedisPinStore:
    def __init__(
        self,
        client: redis.asyncio.Redis,
        settings: RedisPinStoreSettings,
        *,
        ttl_seconds: float,
        sliding: bool,
        metrics: Metrics | None = None,
    ) -> None:
        """A store on `client`, tuned by `settings` (key prefix, call deadline, circuit); no I/O."""
        self._client = client
        self._ttl_ms = max(1, round(ttl_seconds * 1000))
        self._sliding = sliding
        self._prefix = settings.key_prefix
        self._timeout = settings.timeout_ms / 1000
        self._metrics = metrics or Metrics()
        self.name = settings.display_url  # shown in logs: the URL without credentials
        self.breaker = CircuitBreaker(
            threshold=settings.circuit_failures,
            cooldown_seconds=settings.circuit_cooldown_ms / 1000,
            on_change=self._circuit_changed,
        )
        self._claim_script = client.register_script(_CLAIM_SCRIPT)
        self._claim_by_script = False  # set once when the server refuses SET NX GET (Redis < 7.0)
        self._last_error = ""
        self._metrics.set_gauge("brightstaff_pin_store_circuit_open", 0)

    @classmethod
    def from_settings(
        cls, settings: RedisPinStoreSettings, *, ttl_seconds: float, sliding: bool, metrics: Metrics | None = None
    ) -> RedisPinStore:
        """A store with its own pooled client (`make_client`); the client connects on first use."""
        return cls(make_client(settings), settings, ttl_seconds=ttl_seconds, sliding=sliding, metrics=metrics)

    # ----------------------------------------------------------------------------------------------
    # Fault handling: every command goes through `_run`.

    def _circuit_changed(self, old: CircuitState, new: CircuitState) -> None:
        self._metrics.set_gauge("brightstaff_pin_store_circuit_open", 0 if new is CircuitState.CLOSED else 1)
        if new is CircuitState.OPEN and old is CircuitState.CLOSED:
            self._metrics.inc("brightstaff_pin_store_circuit_opens_total")
            log.warning(
                "pin store %s is failing (%s): circuit open, serving without affinity, next probe in %.1fs",
                self.name,
                self._last_error,
                self.breaker.cooldown_seconds,
            )
        elif new is CircuitState.CLOSED:
            log.info("pin store %s answers again: circuit closed, affinity restored", self.name)
        else:
            log.debug("pin store %s circuit %s -> %s", self.name, old.value, new.value)

    async def _run(self, op: str, command: Callable[[], Awaitable[T]]) -> T:
        if not self.breaker.allow():
            self._metrics.inc("brightstaff_pin_store_short_circuits_total", op=op)
            raise PinStoreUnavailable(f"pin store {self.name} is not answering (circuit open); {op} skipped")
        try:
            # One deadline over the whole call (pool wait, reconnect, retry, reply): socket timeouts
            # alone bound each step, not their sum.
            async with asyncio.timeout(self._timeout):
                result = await command()
        except ResponseError as exc:
            # Redis answered (quickly): not a reason to stop asking it. The caller still serves unpinned.
            self.breaker.success()
            raise PinStoreError(f"pin store {self.name} refused {op}: {exc}") from exc
        except (RedisError, OSError, TimeoutError) as exc:
            self._last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.breaker.failure()
            raise PinStoreError(f"pin store {self.name} {op} failed: {self._last_error}") from exc
        except asyncio.CancelledError:
            self.breaker.abandon()
            raise
        self.breaker.success()
        return result

    def _decode(self, raw: object) -> Pin | None:
        # The client returns bytes (decode_responses is off); anything else is not a pin of ours.
        pin = decode_pin(raw) if isinstance(raw, bytes) else None
        if pin is None:
            self._metrics.inc("brightstaff_pin_store_corrupt_total")
        return pin

    # ----------------------------------------------------------------------------------------------
    # PinStore

    async def get(self, key: str) -> Pin | None:
        name = self._prefix + key
        try:
            if self._sliding:
                raw = await self._run("get", lambda: self._client.getex(name, px=self._ttl_ms))
            else:
                raw = await self._run("get", lambda: self._client.get(name))
        except PinStoreUnavailable:
            # Known down: a miss without waiting (counted as a short circuit). The claim that follows
            # raises, so the request is served and reported unpinned, not as newly pinned.
            return None
        return None if raw is None else self._decode(raw)

    async def claim(self, key: str, pin: Pin) -> Pin:
        name, value = self._prefix + key, encode_pin(pin)
        if not self._claim_by_script:
            try:
                old = await self._run(
                    "claim", lambda: self._client.set(name, value, nx=True, get=True, px=self._ttl_ms)
                )
            except PinStoreError as exc:
                if not isinstance(exc.__cause__, ResponseError) or "syntax" not in str(exc.__cause__).lower():
                    raise
                log.warning("pin store %s refuses SET NX GET (Redis < 7.0): claiming with a Lua script", self.name)
                self._claim_by_script = True
        if self._claim_by_script:
            old = await self._run("claim", lambda: self._claim_script(keys=[name], args=[value, self._ttl_ms]))
        if old is None:
            return pin
        earlier = self._decode(old)
        if earlier is None:  # an unreadable value squats the key: take it over (one more round trip)
            await self.replace(key, pin)
            return pin
        return earlier

    async def replace(self, key: str, pin: Pin) -> None:
        name, value = self._prefix + key, encode_pin(pin)
        await self._run("replace", lambda: self._client.set(name, value, px=self._ttl_ms))

    async def delete(self, key: str) -> None:
        name = self._prefix + key
        await self._run("delete", lambda: self._client.delete(name))

    async def size(self) -> int:
        return -1

    async def close(self) -> None:
        await self._client.aclose()

    # ----------------------------------------------------------------------------------------------

    async def probe(self) -> bool:
        """PING once (at start-up). Unreachable: log, count, open the circuit so requests do not wait on it
        first; the circuit's half-open probe picks Redis up when it comes back. Never raises."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            self._last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._metrics.inc("brightstaff_pin_store_errors_total", op="startup")
            log.warning(
                "pin store %s is unreachable at start-up (%s): serving without affinity until it answers",
                self.name,
                self._last_error,
            )
            self.breaker.trip()
            return False
        log.info("pin store %s reachable (key prefix %r)", self.name, self._prefix)
        return True
