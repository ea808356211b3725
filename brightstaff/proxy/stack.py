"""brightstaff plus its Envoy, started and stopped together (used by `up`, the demo and e2e tests)."""

from __future__ import annotations

from pathlib import Path

from brightstaff.config import Config
from brightstaff.proxy.bootstrap import render_envoy
from brightstaff.proxy.envoy_process import EnvoyProcess
from brightstaff.server.app import App, build_app


class Stack:
    def __init__(
        self,
        config: Config,
        *,
        listener_port: int | None = None,
        grpc_port: int | None = None,
        admin_port: int | None = None,
        envoy_admin_port: int = 0,
        workdir: Path | None = None,
        envoy_log_level: str = "warn",
    ) -> None:
        self.config = config
        self.app: App = build_app(config)
        self._listener_port = listener_port
        self._grpc_port = grpc_port
        self._admin_port = admin_port
        self._envoy_admin_port = envoy_admin_port
        self._workdir = workdir
        self._envoy_log_level = envoy_log_level
        self.envoy: EnvoyProcess | None = None

    @property
    def listener_port(self) -> int:
        return self.config.listener.port if self._listener_port is None else self._listener_port

    @property
    def base_url(self) -> str:
        host = self.config.listener.address
        host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        return f"http://{host}:{self.listener_port}"

    async def start(self) -> None:
        await self.app.start(grpc_port=self._grpc_port, admin_port=self._admin_port)
        bootstrap = render_envoy(
            self.config,
            extproc_host=self.config.server.grpc_host,
            extproc_port=self.app.grpc_port,
            listener_port=self.listener_port,
            admin_port=self._envoy_admin_port,
        )
        self.envoy = EnvoyProcess(bootstrap, workdir=self._workdir, log_level=self._envoy_log_level)
        self.envoy.start()
        try:
            await self.envoy.wait_ready()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        # Envoy first: it stops taking requests, then brightstaff drains what is in flight.
        if self.envoy is not None:
            await self.envoy.stop()
        await self.app.stop()
