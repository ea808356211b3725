"""The stop signals: the first asks for a drain, the next one hurries it; the handlers leave with the block."""

from __future__ import annotations

import asyncio
import logging
import signal

import pytest

from brightstaff.server.shutdown import STOP_SIGNALS, ShutdownSignals, first_of


@pytest.mark.anyio
async def test_first_signal_requests_a_drain_and_the_second_hurries_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    with ShutdownSignals() as signals:
        for sig in STOP_SIGNALS:
            assert signal.getsignal(sig) not in (signal.SIG_DFL, signal.default_int_handler)
        # What the loop calls when the signal arrives (no signal is sent to the test process).
        signals._received(signal.SIGTERM)
        assert signals.requested.is_set() and not signals.hurry.is_set()
        signals._received(signal.SIGINT)
        assert signals.hurry.is_set()
        assert signals.exit_status == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) == signal.default_int_handler
    assert "SIGTERM received: stopping" in caplog.text
    assert "second signal (SIGINT): stopping now" in caplog.text


@pytest.mark.anyio
async def test_first_of_returns_when_any_event_is_set() -> None:
    never, soon = asyncio.Event(), asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, soon.set)
    await asyncio.wait_for(first_of(never, soon), 5)
    assert soon.is_set() and not never.is_set()
