"""brightstaff plus its Envoy, started and stopped together (used by `up`, the demo and e2e tests).

Guarantees:
- /readyz is 200 only while brightstaff serves and its Envoy runs and is ready (`EnvoySupervisor`).
- An Envoy that dies is restarted (see `supervisor.py`); `failed` is set when the supervisor gives up.
- `stop(drain_seconds)` drains in this order: /readyz 503 at once; Envoy takes no new connection and
  closes each kept-alive one after its response; requests in flight (streamed answers included) finish
  while brightstaff keeps deciding for them; then Envoy stops, then brightstaff. `drain_seconds` bounds
  the wait and `hurry` (a second signal) cuts it short.
- Envoy's listener does not share its port (no SO_REUSEPORT) and every port is checked before Envoy
  starts, so a second stack on a port in use fails instead of serving beside the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from brightstaff.config import Config
from brightstaff.proxy.bootstrap import render_envoy
from brightstaff.proxy.envoy_process import EnvoyProcess
from brightstaff.proxy.supervisor import EnvoySupervisor
from brightstaff.server.app import App, build_app

log = logging.getLogger("brightstaff")

_DRAIN_POLL_SECONDS = 0.1


class Stack:
    def __init__(
        self,
        config: Config,
        *,
        listener_port: int | None = None,
        grpc_port: int | None = None,
        admin_port: int | None = None,
        envoy_admin_port: int | None = None,
        workdir: Path | None = None,
        envoy_log_level: str = "warn",
    ) -> None:
        self.config = config
        self.app: App = build_app(config)
        self._listener_port = listener_port
        self._grpc_port = grpc_port
        self._admin_port = admin_port
        self._envoy_admin_port = config.server.envoy_admin_port if envoy_admin_port is None else envoy_admin_port
        self._workdir = workdir
        self._envoy_log_level = envoy_log_level
        self.envoy: EnvoyProcess | None = None
        self.supervisor: EnvoySupervisor | None = None
        self.failed = asyncio.Event()  # the supervisor gave up on Envoy
        self._stopped = False

    @property
    def listener_port(self) -> int:
        return self.config.listener.port if self._listener_port is None else self._listener_port

    @property
    def base_url(self) -> str:
        host = self.config.listener.address
        host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        return f"http://{host}:{self.listener_port}"

    @property
    def envoy_serving(self) -> bool:
        return self.supervisor is not None and self.supervisor.serving

    async def start(self) -> None:
        await self.app.start(grpc_port=self._grpc_port, admin_port=self._admin_port)
        self.app.admin.checks.append(lambda: self.envoy_serving)
        try:
            bootstrap = render_envoy(
                self.config,
                extproc_host=self.config.server.grpc_host,
                extproc_port=self.app.grpc_port,
                listener_port=self.listener_port,
                admin_port=self._envoy_admin_port,
                exclusive_listener=True,
            )
            self.envoy = EnvoyProcess(bootstrap, workdir=self._workdir, log_level=self._envoy_log_level)
            self.supervisor = EnvoySupervisor(self.envoy, failed=self.failed)
            await self.supervisor.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self, drain_seconds: float = 0.0, *, hurry: asyncio.Event | None = None) -> None:
        """Drain (up to `drain_seconds`, or until `hurry` is set), then stop Envoy and brightstaff."""
        if self._stopped:
            return
        self._stopped = True
        self.app.begin_drain()
        if self.supervisor is not None:
            await self.supervisor.stop_watching()
        if self.envoy is not None and self.envoy_serving and drain_seconds > 0:
            await self._drain_envoy(self.envoy, drain_seconds, hurry)
        if self.envoy is not None:
            await self.envoy.stop()
        # Envoy is gone, and with it every ext_proc stream: brightstaff has nothing left to wait for.
        await self.app.stop(0.0)

    async def _drain_envoy(self, envoy: EnvoyProcess, timeout: float, hurry: asyncio.Event | None) -> None:
        hurry = asyncio.Event() if hurry is None else hurry
        try:
            await envoy.stop_accepting()
            in_flight = await asyncio.to_thread(envoy.active_requests)
        except OSError as exc:
            log.warning("draining: Envoy's admin did not answer (%s); stopping it", exc)
            return
        log.info(
            "draining: /readyz is 503 and Envoy takes no new connections; waiting up to %gs for %d request(s) "
            "in flight (a second signal stops at once)",
            timeout,
            in_flight,
        )
        started = time.monotonic()
        deadline = started + timeout
        while in_flight > 0:
            if hurry.is_set():
                log.warning("stopping with %d request(s) still in flight (second signal)", in_flight)
                return
            if time.monotonic() >= deadline:
                log.warning("drain time (%gs) over: stopping with %d request(s) still in flight", timeout, in_flight)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hurry.wait(), _DRAIN_POLL_SECONDS)
            try:
                in_flight = await asyncio.to_thread(envoy.active_requests)
            except OSError as exc:
                log.warning("draining: Envoy's admin stopped answering (%s); stopping it", exc)
                return
        log.info("drained in %.1fs", time.monotonic() - started)
