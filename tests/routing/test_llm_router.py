"""The LLM router against a fake router model over real loopback HTTP: answers in both formats, every kind
of failure falls back (and is counted), the pool bounds connections, the app closes the client."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fake_router import FakeRouter, start_fake_router

from brightstaff.config import Config, LlmRouterSettings, parse_config
from brightstaff.core.conversation import Conversation, from_chat_messages
from brightstaff.core.decision import RouteChoice
from brightstaff.metrics import Metrics
from brightstaff.routing.embedded import EmbeddedRouter
from brightstaff.routing.llm import LlmRouter
from brightstaff.server.app import build_app, build_router

DEFAULT = "openai/gpt-4o-mini"
REASONING = "openai/gpt-4o"
CODE = "anthropic/claude-sonnet-4-20250514"
RULES = [("code", "code_generation"), ("function", "code_generation"), ("analy", "complex_reasoning")]


def config_data(router: dict[str, Any] | None = None, **server: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "model_providers": [
            {"model": DEFAULT, "default": True, "base_url": "http://127.0.0.1:9/v1"},
            {
                "model": REASONING,
                "base_url": "http://127.0.0.1:9/v1",
                "routing_preferences": [{"name": "complex_reasoning", "description": "multi-step analysis"}],
            },
            {
                "model": CODE,
                "base_url": "http://127.0.0.1:9/v1",
                "routing_preferences": [{"name": "code_generation", "description": "writing code"}],
            },
        ],
    }
    if router is not None:
        data["routing"] = {"router": router}
    if server:
        data["brightstaff"] = server
    return data


def llm_config(base_url: str, **router: Any) -> Config:
    settings = {"type": "llm", "base_url": base_url, "model": "Arch-Router", **router}
    return parse_config(config_data(settings), env={"ROUTER_KEY": "rk-secret-1"})


def llm_settings(config: Config) -> LlmRouterSettings:
    settings = config.routing.router
    assert isinstance(settings, LlmRouterSettings)
    return settings


def chat(text: str, *history: dict[str, Any]) -> Conversation:
    return from_chat_messages([*history, {"role": "user", "content": text}])


@asynccontextmanager
async def serving(**fake: Any) -> AsyncIterator[FakeRouter]:
    """A fake router model following `RULES`, closed on the way out; its `calls` stay readable after."""
    router = await start_fake_router(rules=RULES, **fake)
    try:
        yield router
    finally:
        await router.close()


async def routed(fake: FakeRouter, text: str, metrics: Metrics | None = None, **settings: Any) -> RouteChoice:
    config = llm_config(fake.base_url, **settings)
    router = LlmRouter(config.providers, llm_settings(config), metrics=metrics)
    try:
        return await router.route(chat(text))
    finally:
        await router.close()


@pytest.mark.parametrize("fmt", ["arch_router", "orchestrator_v1"])
@pytest.mark.anyio
async def test_both_formats_route_to_the_preference_provider(fmt: str) -> None:
    async with serving() as fake:
        assert await routed(fake, "Write a function to merge intervals", format=fmt) == RouteChoice(
            CODE, "code_generation", "preference", 1.0
        )
        assert await routed(fake, "Analyze the quarterly numbers", format=fmt) == RouteChoice(
            REASONING, "complex_reasoning", "preference", 1.0
        )
        assert await routed(fake, "[router:fenced] Write code", format=fmt) == RouteChoice(
            CODE, "code_generation", "preference", 1.0
        )
        assert await routed(fake, "[router:route=complex_reasoning] hi", format=fmt) == RouteChoice(
            REASONING, "complex_reasoning", "preference", 1.0
        )
    assert {c.format for c in fake.calls} == {fmt}
    assert all(c.routes == ["complex_reasoning", "code_generation"] for c in fake.calls)


@pytest.mark.anyio
async def test_the_request_is_a_plain_chat_completion_with_credentials() -> None:
    async with serving() as fake:
        await routed(fake, "Write code", access_key="$ROUTER_KEY")
    (call,) = fake.calls
    assert call.headers["authorization"] == "Bearer rk-secret-1"
    assert call.body["model"] == "Arch-Router"
    assert call.body["temperature"] == 0
    assert call.body["stream"] is False
    assert call.body["max_tokens"] > 0
    assert [m["role"] for m in call.body["messages"]] == ["user"]
    assert call.conversation == [{"role": "user", "content": "Write code"}]


@pytest.mark.anyio
async def test_no_route_fits_is_the_default_not_a_failure() -> None:
    metrics = Metrics()

    async with serving() as fake:
        for fmt in ("arch_router", "orchestrator_v1"):
            assert await routed(fake, "thanks, that works!", metrics, format=fmt) == RouteChoice(
                DEFAULT, None, "default"
            )
            assert await routed(fake, "[router:other] write code", metrics, format=fmt) == RouteChoice(
                DEFAULT, None, "default"
            )
    assert metrics.get("brightstaff_router_failures_total") == 0


@pytest.mark.parametrize(
    ("directive", "kind"),
    [
        ("[router:500]", "http_status"),
        ("[router:garbage]", "malformed"),
        ("[router:not-json]", "malformed"),
        ("[router:close]", "connection"),
        ("[router:unknown]", "unknown_route"),
        ("[router:slow]", "timeout"),
    ],
)
@pytest.mark.anyio
async def test_every_router_failure_falls_back_to_the_default_and_is_counted(directive: str, kind: str) -> None:
    metrics = Metrics()
    async with serving(slow_seconds=20.0) as fake:
        started = time.perf_counter()
        # Deadlines far above a loaded machine's hiccups, so only [router:slow] can time out.
        choice = await routed(fake, f"{directive} Write code", metrics, timeout_ms=1500, connect_timeout_ms=1000)
        elapsed = time.perf_counter() - started
    assert choice == RouteChoice(DEFAULT, None, "fallback")
    assert metrics.get("brightstaff_router_failures_total", router="llm", kind=kind) == 1
    assert elapsed < 10.0  # the deadline held: 1.5 s, not the fake's 20 s


@pytest.mark.anyio
async def test_a_router_that_is_not_listening_falls_back_fast() -> None:
    fake = await start_fake_router()
    url = fake.base_url
    await fake.close()  # nothing listens on that port any more
    metrics = Metrics()
    started = time.perf_counter()
    choice = await routed(FakeRouter(port=int(url.rsplit(":", 1)[1].split("/")[0])), "Write code", metrics)
    seconds = time.perf_counter() - started
    assert choice == RouteChoice(DEFAULT, None, "fallback")
    # Refused, not waited for: the failure's kind says so (a connect or read deadline would count "timeout").
    assert metrics.get("brightstaff_router_failures_total", router="llm", kind="connection") == 1
    assert metrics.get("brightstaff_router_failures_total", router="llm", kind="timeout") == 0
    assert seconds < 5.0  # only a generous bound: the call is bounded at all


@pytest.mark.anyio
async def test_router_call_latency_is_observed() -> None:
    metrics = Metrics()

    async with serving() as fake:
        for _ in range(3):
            await routed(fake, "Write code", metrics)
    assert metrics.get("brightstaff_router_seconds") == 3


@pytest.mark.anyio
async def test_nothing_to_route_on_and_no_preferences_skip_the_call() -> None:
    async with serving() as fake:
        config = llm_config(fake.base_url)
        router = LlmRouter(config.providers, llm_settings(config))
        only_system = from_chat_messages([{"role": "system", "content": "x"}])
        assert await router.route(only_system) == RouteChoice(DEFAULT, None, "default")
        await router.close()
        bare = parse_config(
            {
                "model_providers": [{"model": DEFAULT}],
                "routing": {"router": {"type": "llm", "base_url": fake.base_url, "model": "r"}},
            },
            env={},
        )
        router = LlmRouter(bare.providers, llm_settings(bare))
        assert await router.route(chat("Write code")) == RouteChoice(DEFAULT, None, "default")
        await router.close()
    assert fake.calls == []


@pytest.mark.anyio
async def test_concurrent_first_turns_share_a_bounded_pool() -> None:
    async with serving(delay=0.05) as fake:
        config = llm_config(fake.base_url, max_connections=3, timeout_ms=1900)
        router = LlmRouter(config.providers, llm_settings(config))
        try:
            choices = await asyncio.gather(*(router.route(chat(f"Write code #{i}")) for i in range(24)))
            assert {c.reason for c in choices} == {"preference"}
            # Kept alive: later calls reuse the pooled connections.
            opened = fake.max_connections
            for i in range(5):
                await router.route(chat(f"Write code again #{i}"))
            assert fake.max_connections == opened
        finally:
            await router.close()
    assert len(fake.calls) == 29
    assert fake.max_connections == 3  # the pool was used to its bound, never beyond


@pytest.mark.anyio
async def test_callers_beyond_the_pool_wait_within_the_deadline_then_fall_back() -> None:
    metrics = Metrics()

    async with serving(delay=0.15) as fake:
        config = llm_config(fake.base_url, max_connections=1, timeout_ms=250)
        router = LlmRouter(config.providers, llm_settings(config), metrics=metrics)
        try:
            choices = await asyncio.gather(*(router.route(chat(f"Write code #{i}")) for i in range(4)))
        finally:
            await router.close()
        # One connection answering every 150 ms: the first call or two make it, the queued rest time out.
        assert choices[0].reason == "preference"
        assert choices[-1].reason == "fallback"
    assert fake.max_connections == 1
    assert metrics.get("brightstaff_router_failures_total", router="llm", kind="timeout") >= 1


@pytest.mark.anyio
async def test_oversized_and_non_completion_answers_are_malformed() -> None:
    bodies = [b"x" * (2 * 1024 * 1024), b'{"choices": []}', b'{"choices": [{"message": {"content": null}}]}', b"[1]"]
    for body in bodies:
        transport = httpx.MockTransport(lambda request, body=body: httpx.Response(200, content=body))
        config = llm_config("http://router.invalid/v1")
        metrics = Metrics()
        router = LlmRouter(config.providers, llm_settings(config), metrics=metrics, transport=transport)
        assert await router.route(chat("Write code")) == RouteChoice(DEFAULT, None, "fallback")
        await router.close()
        assert metrics.get("brightstaff_router_failures_total", router="llm", kind="malformed") == 1


@pytest.mark.anyio
async def test_a_dead_router_logs_one_warning_not_one_per_request(caplog: pytest.LogCaptureFixture) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(503, content=b"down"))
    config = llm_config("http://router.invalid/v1")
    router = LlmRouter(config.providers, llm_settings(config), transport=transport)
    with caplog.at_level(logging.WARNING, logger="brightstaff.router"):
        for _ in range(20):
            await router.route(chat("Write code"))
    await router.close()
    warnings = [r for r in caplog.records if r.name == "brightstaff.router"]
    assert len(warnings) == 1
    assert "http_status" in warnings[0].getMessage() and "rk-secret" not in warnings[0].getMessage()


@pytest.mark.anyio
async def test_build_router_picks_the_configured_router_and_the_app_closes_it() -> None:
    assert isinstance(build_router(parse_config(config_data(), env={})), EmbeddedRouter)

    config = llm_config("http://127.0.0.1:9/v1")
    app = build_app(config)
    assert isinstance(app.router, LlmRouter)
    client = app.router._client
    assert not client.is_closed
    await app.stop(0)
    assert client.is_closed


@pytest.mark.anyio
async def test_router_settings_reach_the_client() -> None:
    settings = llm_config(
        "http://127.0.0.1:9/v1", timeout_ms=700, connect_timeout_ms=50, max_connections=5
    ).routing.router
    assert settings == LlmRouterSettings(
        base_url="http://127.0.0.1:9/v1",
        model="Arch-Router",
        format="arch_router",
        timeout_ms=700,
        connect_timeout_ms=50,
        max_connections=5,
    )

    router = LlmRouter(llm_config("http://127.0.0.1:9/v1").providers, settings)
    timeout = router._client.timeout
    assert (timeout.connect, timeout.read, timeout.pool) == (0.05, 0.7, 0.7)
    await router.close()
