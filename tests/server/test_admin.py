"""The admin endpoint: /readyz follows the app's state and every readiness check, on each request."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

from loop_thread import LoopThread

from brightstaff.server.admin import AdminServer


async def _no_metrics() -> bytes:
    return b""


def status(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_readyz_needs_ready_and_every_check() -> None:
    loop = LoopThread()
    admin = AdminServer(_no_metrics)
    try:
        port = loop.run(admin.start("127.0.0.1", 0))
        assert status(port, "/readyz") == 503  # not started serving yet
        admin.ready = True
        assert status(port, "/readyz") == 200
        envoy_up = [True]
        admin.checks.append(lambda: envoy_up[0])
        assert status(port, "/readyz") == 200
        envoy_up[0] = False  # e.g. Envoy died: asked again on the next request, not cached
        assert status(port, "/readyz") == 503
        assert status(port, "/healthz") == 200  # alive all along
        envoy_up[0] = True
        assert status(port, "/readyz") == 200
        admin.ready = False  # a drain began
        assert status(port, "/readyz") == 503
    finally:
        loop.run(admin.close())
        loop.close()


def test_is_ready_without_a_server() -> None:
    admin = AdminServer(_no_metrics)
    admin.ready = True
    admin.checks.append(lambda: False)
    assert not admin.is_ready
    asyncio.run(admin.close())
