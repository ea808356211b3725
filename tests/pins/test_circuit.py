"""The pin store's circuit breaker, on a fake clock: opens after N failures, one probe after the cool-down."""

from __future__ import annotations

import pytest
from pin_store_contract import FakeClock

from brightstaff.pins.circuit import CircuitBreaker, CircuitState


def breaker(clock: FakeClock, changes: list[tuple[str, str]] | None = None) -> CircuitBreaker:
    def record(old: CircuitState, new: CircuitState) -> None:
        if changes is not None:
            changes.append((old.value, new.value))

    return CircuitBreaker(threshold=3, cooldown_seconds=1.0, clock=clock, on_change=record)


def test_opens_after_consecutive_failures_only() -> None:
    cb = breaker(FakeClock())
    cb.failure()
    cb.failure()
    cb.success()  # a success in between resets the count
    cb.failure()
    cb.failure()
    assert cb.state is CircuitState.CLOSED and cb.allow()
    cb.failure()
    assert cb.state is CircuitState.OPEN
    assert not cb.allow()


def test_one_probe_after_the_cooldown_then_closes_on_success() -> None:
    clock, changes = FakeClock(), list[tuple[str, str]]()
    cb = breaker(clock, changes)
    for _ in range(3):
        cb.failure()
    clock.advance(0.99)
    assert not cb.allow()
    clock.advance(0.02)
    assert cb.allow()  # the probe
    assert cb.state is CircuitState.HALF_OPEN
    assert not cb.allow()  # everyone else keeps skipping until the probe answers
    cb.success()
    assert cb.state is CircuitState.CLOSED and cb.allow()
    assert changes == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


def test_a_failed_probe_reopens_for_another_cooldown() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    for _ in range(3):
        cb.failure()
    clock.advance(1.0)
    assert cb.allow()
    cb.failure()
    assert cb.state is CircuitState.OPEN
    clock.advance(0.5)
    assert not cb.allow()
    clock.advance(0.5)
    assert cb.allow()


def test_an_abandoned_probe_frees_the_slot_at_once() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    cb.trip()
    clock.advance(1.0)
    assert cb.allow()
    cb.abandon()  # e.g. the request was cancelled mid-probe: no verdict
    assert cb.state is CircuitState.OPEN
    assert cb.allow()  # the next call probes without another cool-down


def test_trip_opens_without_failures() -> None:
    cb = breaker(FakeClock())
    cb.trip()
    assert cb.state is CircuitState.OPEN and not cb.allow()


def test_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="threshold"):
        CircuitBreaker(threshold=0)
    with pytest.raises(ValueError, match="cooldown"):
        CircuitBreaker(cooldown_seconds=0)
