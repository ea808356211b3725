"""The signals that stop brightstaff (`serve`, `up`, the demo): the first asks for a graceful drain, the
second cuts the drain short.

SIGTERM (orchestrators), SIGINT (Ctrl-C) and SIGHUP (a closed terminal) all drain; while installed no
KeyboardInterrupt is raised, so a stop never prints a traceback. Signals that cannot be caught
(SIGKILL) or that brightstaff leaves to their default action end the process at once; Envoy then dies
through its parent-death signal (`brightstaff/proxy/parent_death.py`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from types import TracebackType

log = logging.getLogger("brightstaff")

# SIGHUP does not exist on Windows (where asyncio has no signal handlers either).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name))


class ShutdownSignals:
    """`requested` is set by the first stop signal, `hurry` by the next one. A context manager: the
    handlers are installed on the running loop on entry and removed on exit."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.hurry = asyncio.Event()
        self.first: signal.Signals | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __enter__(self) -> ShutdownSignals:
        self._loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            self._loop.add_signal_handler(sig, self._received, sig)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._loop is not None:
            for sig in STOP_SIGNALS:
                self._loop.remove_signal_handler(sig)
            self._loop = None

    def _received(self, sig: signal.Signals) -> None:
        if not self.requested.is_set():
            self.first = sig
            log.info("%s received: stopping", sig.name)
            self.requested.set()
        elif not self.hurry.is_set():
            log.warning("second signal (%s): stopping now, without waiting for requests in flight", sig.name)
            self.hurry.set()

    @property
    def exit_status(self) -> int:
        """128 + the first signal's number: the shell's convention for a process a signal stopped."""
        return 128 + int(self.first) if self.first is not None else 0


async def first_of(*events: asyncio.Event) -> None:
    """Wait until any of `events` is set."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
