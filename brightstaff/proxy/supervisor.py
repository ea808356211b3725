"""Keep `brightstaff up`'s Envoy running: notice it dying, restart it with backoff, give up loudly.

Guarantees:
- `serving` is true only while Envoy runs and has reported ready since its last start; brightstaff's
  /readyz asks it on every request, so readiness is never 200 while Envoy (and so the listener) is down.
- An Envoy that exits while supervised is logged (exit status, the tail of its log) and restarted after a
  backoff: 0.5 s, doubling up to 10 s. Restarting keeps brightstaff, and the pins in its memory, alive
  where exiting would lose them.
- A restart that fails counts like a death. More than `max_restarts` deaths within `window` seconds and
  the supervisor gives up: `failed` is set, and `up` exits 1 for its own supervisor (systemd,
  Kubernetes, a shell loop) to act on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("brightstaff.proxy.supervisor")

MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 300.0
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 10.0
_POLL_SECONDS = 0.1


class Supervised(Protocol):
    """What the supervisor needs of an Envoy (EnvoyProcess, or a fake in tests)."""

    @property
    def pid(self) -> int | None: ...

    admin_url: str

    def start(self) -> None: ...

    async def wait_ready(self, timeout: float = ...) -> None: ...

    def poll(self) -> int | None: ...

    def log_tail(self, lines: int = ...) -> str: ...

    async def terminate(self) -> None: ...


def describe_exit(status: int) -> str:
    if status >= 0:
        return f"exit status {status}"
    try:
        return f"killed by {signal.Signals(-status).name}"
    except ValueError:
        return f"killed by signal {-status}"


class EnvoySupervisor:
    def __init__(
        self,
        envoy: Supervised,
        *,
        max_restarts: int = MAX_RESTARTS,
        window: float = RESTART_WINDOW_SECONDS,
        first_backoff: float = FIRST_BACKOFF_SECONDS,
        max_backoff: float = MAX_BACKOFF_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        failed: asyncio.Event | None = None,
    ) -> None:
        self.envoy = envoy
        self.max_restarts = max_restarts
        self.window = window
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self._clock = clock
        self._ready = False
        self._deaths: deque[float] = deque()
        self._task: asyncio.Task[None] | None = None
        self.failed = asyncio.Event() if failed is None else failed  # set when the supervisor gives up
        self.restarts = 0

    @property
    def serving(self) -> bool:
        return self._ready and self.envoy.poll() is None

    async def start(self) -> None:
        """Start Envoy, wait until it is ready, then watch it."""
        self.envoy.start()
        await self.envoy.wait_ready()
        self._ready = True
        self._task = asyncio.create_task(self._watch(), name="envoy-supervisor")

    async def stop_watching(self) -> None:
        """From now on Envoy exiting is expected (a drain, a stop): no restart."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self) -> None:
        while True:
            status = self.envoy.poll()
            if status is None:
                await asyncio.sleep(_POLL_SECONDS)
                continue
            self._ready = False
            if not await self._restart(status):
                self.failed.set()
                return

    async def _restart(self, status: int) -> bool:
        """Restart after a death (and after failed restarts) until Envoy is ready again; False: give up."""
        log.error(
            "envoy (pid %s) died: %s; /readyz is 503 until it is back. Its log ends:\n%s",
            self.envoy.pid,
            describe_exit(status),
            self.envoy.log_tail(20),
        )
        while True:
            now = self._clock()
            self._deaths.append(now)
            while now - self._deaths[0] > self.window:
                self._deaths.popleft()
            if len(self._deaths) > self.max_restarts:
                log.error(
                    "envoy failed %d times within %.0fs: giving up (brightstaff up exits 1)",
                    len(self._deaths),
                    self.window,
                )
                return False
            delay = min(self.max_backoff, self.first_backoff * 2 ** (len(self._deaths) - 1))
            log.warning(
                "restarting envoy in %.1fs (failure %d of at most %d within %.0fs)",
                delay,
                len(self._deaths),
                self.max_restarts,
                self.window,
            )
            await asyncio.sleep(delay)
            try:
                self.envoy.start()
                await self.envoy.wait_ready()
            except (OSError, RuntimeError, TimeoutError) as exc:
                log.error("envoy restart failed: %s", str(exc).splitlines()[0] if str(exc) else repr(exc))
                await self.envoy.terminate()  # started but never ready: not left running
                continue
            self._ready = True
            self.restarts += 1
            log.warning("envoy restarted (pid %s, admin %s)", self.envoy.pid, self.envoy.admin_url)
            return True
