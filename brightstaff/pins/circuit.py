"""A circuit breaker for a remote pin store: stop waiting on a backend that keeps failing, retry it later.

Invariant: `allow()` lets calls through while closed; after `threshold` consecutive failures the circuit
opens and `allow()` refuses without I/O for `cooldown` seconds; then exactly one probe call is let through
(half-open) and its outcome closes or re-opens the circuit. Pure state and a clock: no I/O, no asyncio.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

from brightstaff.config.model import RedisPinStoreSettings


class CircuitState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        *,
        threshold: int = RedisPinStoreSettings.circuit_failures,
        cooldown_seconds: float = RedisPinStoreSettings.circuit_cooldown_ms / 1000,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[CircuitState, CircuitState], None] | None = None,
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        if cooldown_seconds <= 0:
            raise ValueError("cooldown_seconds must be positive")
        self._threshold = threshold
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._on_change = on_change
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0

    @property
    def state(self) -> CircuitState:
        return self._state

    @property
    def cooldown_seconds(self) -> float:
        return self._cooldown

    def _move(self, new: CircuitState) -> None:
        old, self._state = self._state, new
        if old is not new and self._on_change is not None:
            self._on_change(old, new)

    def allow(self) -> bool:
        """May a call go to the backend now? Half-open admits one probe; the rest wait for its outcome."""
        if self._state is CircuitState.CLOSED:
            return True
        if self._state is CircuitState.OPEN and self._clock() - self._opened_at >= self._cooldown:
            self._move(CircuitState.HALF_OPEN)
            return True
        return False

    def success(self) -> None:
        self._failures = 0
        if self._state is not CircuitState.CLOSED:
            self._move(CircuitState.CLOSED)

    def failure(self) -> None:
        self._failures += 1
        # A failed probe re-opens at once: the backend has just shown it is still down.
        if self._state is CircuitState.HALF_OPEN or (
            self._state is CircuitState.CLOSED and self._failures >= self._threshold
        ):
            self._opened_at = self._clock()
            self._move(CircuitState.OPEN)

    def abandon(self) -> None:
        """A call ended with no verdict (cancelled). A probe's slot must not stay taken: probe again next."""
        if self._state is CircuitState.HALF_OPEN:
            self._opened_at = self._clock() - self._cooldown
            self._move(CircuitState.OPEN)

    def trip(self) -> None:
        """Open now (e.g. the backend was unreachable at start-up), so requests do not wait on it first."""
        self._failures = max(self._failures, self._threshold)
        self._opened_at = self._clock()
        self._move(CircuitState.OPEN)
