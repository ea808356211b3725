"""Assemble brightstaff from a Config (store, router, handler, servers) and run it until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from brightstaff.config import Config, LlmRouterSettings, RedisPinStoreSettings
from brightstaff.extproc.process_stream import HeaderNames
from brightstaff.extproc.server import ExtProcServer, start_extproc_server
from brightstaff.metrics import Metrics
from brightstaff.pins.base import PinStore, Probeable
from brightstaff.pins.memory import MemoryPinStore
from brightstaff.routing.base import Closeable, Router
from brightstaff.routing.embedded import EmbeddedRouter
from brightstaff.server.admin import AdminServer
from brightstaff.server.handler import RequestHandler

if TYPE_CHECKING:
    from brightstaff.tracing import DecisionTracer

log = logging.getLogger("brightstaff")


def build_store(config: Config, metrics: Metrics | None = None) -> PinStore:
    """The configured pin store. Builds clients only: no I/O, so a Redis that is down cannot stop start-up."""
    routing = config.routing
    sliding = routing.session_ttl_mode == "sliding"
    if isinstance(routing.session_cache, RedisPinStoreSettings):
        from brightstaff.pins.redis import RedisPinStore  # imported only when configured

        return RedisPinStore.from_settings(
            routing.session_cache, ttl_seconds=routing.session_ttl_seconds, sliding=sliding, metrics=metrics
        )
    return MemoryPinStore(
        max_entries=routing.session_max_entries,
        ttl_seconds=routing.session_ttl_seconds,
        sliding=sliding,
    )


async def probe_store(store: PinStore) -> None:
    """Check a remote store once at start-up. Its failure is logged and counted, never fatal: brightstaff
    serves without affinity and the store's circuit picks the backend up when it answers."""
    if isinstance(store, Probeable):
        await store.probe()


def header_names(config: Config) -> HeaderNames:
    """The request headers the ext_proc stream logic reads, from the config."""
    return HeaderNames(affinity=config.server.affinity_header, tenant=config.routing.tenant_header)


def build_router(config: Config, metrics: Metrics | None = None) -> Router:
    """The configured router. Builds its client only (no I/O): an LLM router that is down falls back per request."""
    settings = config.routing.router
    if isinstance(settings, LlmRouterSettings):
        from brightstaff.routing.llm import LlmRouter  # httpx is imported only when configured

        return LlmRouter(config.providers, settings, metrics=metrics)
    return EmbeddedRouter(config.providers, config.routing.min_match_score)


@dataclass
class App:
    config: Config
    metrics: Metrics
    store: PinStore
    router: Router
    handler: RequestHandler
    admin: AdminServer
    grpc_server: ExtProcServer | None = None
    grpc_port: int = 0
    admin_port: int = 0
    _stopped: asyncio.Event = field(default_factory=asyncio.Event)

    async def render_metrics(self) -> bytes:
        size = await self.store.size()  # -1: a shared store that does not count its keys
        if size >= 0:
            self.metrics.set_pins(size)
        return self.metrics.render()

    async def start(self, *, grpc_port: int | None = None, admin_port: int | None = None) -> None:
        server = self.config.server
        await probe_store(self.store)
        wanted_grpc = server.grpc_port if grpc_port is None else grpc_port
        try:
            self.grpc_server, self.grpc_port = await start_extproc_server(
                server.transport,
                self.handler,
                header_names(self.config),
                server.grpc_host,
                wanted_grpc,
                max_body_bytes=server.envoy_body_limit_bytes,
            )
        except (OSError, RuntimeError) as exc:  # grpcio reports a port in use as RuntimeError
            raise _cannot_listen(server.grpc_host, wanted_grpc, "ext_proc, brightstaff.grpc_port", exc) from exc
        wanted_admin = server.admin_port if admin_port is None else admin_port
        try:
            self.admin_port = await self.admin.start(server.admin_host, wanted_admin)
        except OSError as exc:
            raise _cannot_listen(server.admin_host, wanted_admin, "admin, brightstaff.admin_port", exc) from exc
        self.admin.ready = True
        log.info(
            "brightstaff serving ext_proc on %s:%d (transport %s, admin http://%s:%d) with %d providers, "
            "default %s, router %s",
            server.grpc_host,
            self.grpc_port,
            server.transport,
            server.admin_host,
            self.admin_port,
            len(self.config.providers),
            self.config.default_provider.name,
            self.router.name,
        )

    def begin_drain(self) -> None:
        """/readyz answers 503 from now on: load balancers stop sending before anything closes."""
        self.admin.ready = False

    async def stop(self, grace_seconds: float = 5.0, *, hurry: asyncio.Event | None = None) -> None:
        """Drain: report not-ready, stop taking ext_proc streams, let those in flight finish (up to
        `grace_seconds`, or until `hurry` is set), then close. Stopping twice is harmless."""
        if self._stopped.is_set():
            return
        self.begin_drain()
        if self.grpc_server is not None:
            await self._drain_extproc(self.grpc_server, grace_seconds, hurry)
        await self.admin.close()
        if isinstance(self.router, Closeable):
            await self.router.close()
        await self.store.close()
        if self.handler.tracer is not None:
            await asyncio.to_thread(self.handler.tracer.shutdown)  # the spans still queued are exported
        self._stopped.set()
        log.info("brightstaff stopped")

    async def _drain_extproc(self, server: ExtProcServer, grace: float, hurry: asyncio.Event | None) -> None:
        if grace > 0:
            log.info(
                "draining: /readyz is 503; ext_proc takes no new streams and gives those in flight up to %gs",
                grace,
            )
        started = time.monotonic()
        stopping = asyncio.ensure_future(server.stop(grace))
        if hurry is not None:
            hurried = asyncio.ensure_future(hurry.wait())
            await asyncio.wait({stopping, hurried}, return_when=asyncio.FIRST_COMPLETED)
            hurried.cancel()
            if not stopping.done():  # a second signal: close what is still open now
                stopping.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await stopping
                await server.stop(0)
                return
        await stopping
        elapsed = time.monotonic() - started
        if grace > 0 and elapsed >= grace:
            log.warning("drain time (%gs) over: ext_proc streams still in flight were cut", grace)
        elif grace > 0:
            log.info("ext_proc drained in %.2fs", elapsed)


def _cannot_listen(host: str, port: int, what: str, exc: BaseException) -> OSError:
    """A bind failure that names the address and the config key: a second brightstaff on the same ports
    stops here, before any Envoy starts."""
    if not isinstance(exc, OSError):  # grpcio's RuntimeError says no more than "Failed to bind"
        reason = "cannot bind (in use, or not an address of this host)"
    elif exc.errno == errno.EADDRINUSE:
        reason = "already in use"
    else:
        reason = exc.strerror or str(exc)
    error = OSError(f"cannot listen on {host}:{port} ({what}): {reason}")
    error.errno = exc.errno if isinstance(exc, OSError) else None
    return error


def build_tracer(config: Config) -> DecisionTracer | None:
    """The decision spans' tracer when Plano's `tracing:` turns tracing on, else None (nothing imported)."""
    if not config.tracing.enabled:
        return None
    from brightstaff.tracing import DecisionTracer  # OpenTelemetry is imported only when configured

    log.info(
        "tracing: a span per decision to %s (OTLP/gRPC), %d%% of new traces sampled",
        config.tracing.endpoint,
        config.tracing.random_sampling,
    )
    return DecisionTracer(config)


def build_app(config: Config) -> App:
    metrics = Metrics()
    store = build_store(config, metrics)
    router = build_router(config, metrics)
    handler = RequestHandler(config, store, router, metrics, build_tracer(config))
    metrics.start_at_zero(config, router.name)
    app = App(
        config=config,
        metrics=metrics,
        store=store,
        router=router,
        handler=handler,
        admin=AdminServer(lambda: app.render_metrics()),
    )
    return app
