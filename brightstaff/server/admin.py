"""A tiny HTTP endpoint for operators and orchestrators: /healthz, /readyz and /metrics.

/readyz is 200 only while `ready` is set (cleared the moment a drain begins) and every readiness check
(e.g. "Envoy is up", added by `brightstaff up`) passes; the checks are asked on every request."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from brightstaff.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE

MetricsSource = Callable[[], Awaitable[bytes]]
ReadinessCheck = Callable[[], bool]


class AdminServer:
    """Serves GET /healthz (alive), /readyz (serving, 503 while draining) and /metrics (Prometheus)."""

    def __init__(self, metrics: MetricsSource) -> None:
        self._metrics = metrics
        self._server: asyncio.Server | None = None
        self.ready = False
        self.checks: list[ReadinessCheck] = []

    @property
    def is_ready(self) -> bool:
        return self.ready and all(check() for check in self.checks)

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._serve, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request_line.decode("latin-1").split()
            path = parts[1] if len(parts) >= 2 else ""
            status, body, ctype = await self._route(parts[0] if parts else "", path)
            head = (
                f"HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {len(body)}\r\n"
                "connection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _route(self, method: str, path: str) -> tuple[str, bytes, str]:
        if method != "GET":
            return "405 Method Not Allowed", b"method not allowed\n", "text/plain"
        if path == "/healthz":
            return "200 OK", b"ok\n", "text/plain"
        if path == "/readyz":
            return (
                ("200 OK", b"ready\n", "text/plain")
                if self.is_ready
                else ("503 Service Unavailable", b"not ready\n", "text/plain")
            )
        if path == "/metrics":
            return "200 OK", await self._metrics(), METRICS_CONTENT_TYPE
        return "404 Not Found", b"not found\n", "text/plain"
