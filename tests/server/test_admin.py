"""The admin endpoint: /readyz follows the app's state and every readiness check, on each request."""

from __future__ import annotations

import httpx
import pytest

from brightstaff.server.admin import AdminServer


async def _no_metrics() -> bytes:
    return b""


@pytest.mark.anyio
async def test_readyz_needs_ready_and_every_check() -> None:
    admin = AdminServer(_no_metrics)
    port = await admin.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5, trust_env=False) as client:

            async def status(path: str) -> int:
                return (await client.get(path)).status_code

            assert await status("/readyz") == 503  # not started serving yet
            admin.ready = True
            assert await status("/readyz") == 200
            envoy_up = [True]
            admin.checks.append(lambda: envoy_up[0])
            assert await status("/readyz") == 200
            envoy_up[0] = False  # e.g. Envoy died: asked again on the next request, not cached
            assert await status("/readyz") == 503
            assert await status("/healthz") == 200  # alive all along
            envoy_up[0] = True
            assert await status("/readyz") == 200
            admin.ready = False  # a drain began
            assert await status("/readyz") == 503
    finally:
        await admin.close()


@pytest.mark.anyio
async def test_is_ready_without_a_server() -> None:
    admin = AdminServer(_no_metrics)
    admin.ready = True
    admin.checks.append(lambda: False)
    assert not admin.is_ready
    await admin.close()
