"""Through real Envoy with the LLM router: a fake router model counts its calls (one per new affinity id,
none on pin hits), and every router failure is served by the default model, unpinned, never an error."""

from __future__ import annotations

import http.client
import json
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from e2e_stack import Providers, Stack, e2e_config, launch, retire

# The fake router model lives with the router unit tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "routing"))
from fake_router import FakeRouter, start_fake_router

pytestmark = pytest.mark.e2e

DEFAULT = "openai/gpt-4o-mini"
CODE_PROVIDER = "anthropic/claude-sonnet-4-20250514"
RULES = [("function", "code_generation"), ("code", "code_generation"), ("analy", "complex_reasoning")]
ROUTER_TIMEOUT_MS = 300


def send(stack: Stack, text: str, affinity: str | None = None) -> tuple[int, dict[str, str], dict[str, Any]]:
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}).encode()
    headers = {"content-type": "application/json"}
    if affinity is not None:
        headers["x-model-affinity"] = affinity
    conn = http.client.HTTPConnection("127.0.0.1", stack.listener_port, timeout=30)
    try:
        conn.request("POST", "/v1/chat/completions", body=body, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read())
    finally:
        conn.close()


def start_stack(workdir: Path, providers: Providers, router: dict[str, Any]) -> Stack:
    config = e2e_config(providers.openai, providers.anthropic)
    config["routing"]["router"] = router
    return launch(workdir, config)


@pytest.fixture(scope="module")
def fake_router(providers: Providers) -> Iterator[FakeRouter]:
    router = providers.loop.run(start_fake_router(rules=RULES, slow_seconds=3.0))
    yield router
    providers.loop.run(router.close())


@pytest.fixture(scope="module")
def llm_stack(
    tmp_path_factory: pytest.TempPathFactory, providers: Providers, fake_router: FakeRouter
) -> Iterator[Stack]:
    settings = {
        "type": "llm",
        "base_url": fake_router.base_url,
        "model": "Arch-Router",
        "timeout_ms": ROUTER_TIMEOUT_MS,
        "connect_timeout_ms": 100,
    }
    stack = start_stack(tmp_path_factory.mktemp("llm-stack"), providers, settings)
    yield stack
    retire(stack)


def test_the_router_model_decides_and_pinned_sessions_never_call_it(llm_stack: Stack, fake_router: FakeRouter) -> None:
    before = len(fake_router.calls)
    ids = [f"run-{uuid.uuid4()}" for _ in range(3)]
    for affinity in ids:
        status, headers, _ = send(llm_stack, "Write a Python function that merges intervals", affinity)
        assert status == 200
        assert (headers["x-brightstaff-affinity"], headers["x-brightstaff-route"]) == ("new", "code_generation")
        assert headers["x-brightstaff-provider"] == CODE_PROVIDER
    assert len(fake_router.calls) - before == 3  # one router call per new affinity id
    for affinity in ids:
        for text in ("Now analyze the tradeoffs in depth", "thanks!", "Write more code"):
            status, headers, _ = send(llm_stack, text, affinity)
            assert status == 200
            assert headers["x-brightstaff-affinity"] == "pinned"
            assert headers["x-brightstaff-provider"] == CODE_PROVIDER
    assert len(fake_router.calls) - before == 3  # nine pin hits, zero router calls
    # Without an affinity id every request is routed afresh, by the router model.
    status, headers, _ = send(llm_stack, "Analyze our churn numbers")
    assert (status, headers["x-brightstaff-affinity"], headers["x-brightstaff-route"]) == (
        200,
        "none",
        "complex_reasoning",
    )
    status, headers, _ = send(llm_stack, "hello there")
    assert (status, headers["x-brightstaff-route"], headers["x-brightstaff-provider"]) == (200, "default", DEFAULT)
    assert len(fake_router.calls) - before == 5
    assert fake_router.calls[-1].routes == ["complex_reasoning", "code_generation"]


def test_concurrent_first_turns_of_one_id_call_the_router_once(llm_stack: Stack, fake_router: FakeRouter) -> None:
    before = len(fake_router.calls)
    affinity = f"race-{uuid.uuid4()}"
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: send(llm_stack, "Write code for a trie", affinity), range(16)))
    assert {r[0] for r in results} == {200}
    assert {r[1]["x-brightstaff-provider"] for r in results} == {CODE_PROVIDER}
    assert len(fake_router.calls) - before == 1


@pytest.mark.parametrize(
    ("directive", "kind"),
    [
        ("[router:slow]", "timeout"),
        ("[router:500]", "http_status"),
        ("[router:garbage]", "malformed"),
        ("[router:not-json]", "malformed"),
        ("[router:close]", "connection"),
        ("[router:unknown]", "unknown_route"),
    ],
)
def test_router_failures_are_served_by_the_default_model_and_never_pinned(
    llm_stack: Stack, providers: Providers, directive: str, kind: str
) -> None:
    failures = llm_stack.metric("brightstaff_router_failures_total", kind=kind)
    affinity = f"fail-{uuid.uuid4()}"
    marker = f"{directive} Write a function {uuid.uuid4()}"
    started = time.monotonic()
    status, headers, body = send(llm_stack, marker, affinity)
    elapsed = time.monotonic() - started
    assert status == 200, body
    assert headers["x-brightstaff-affinity"] == "unpinned"
    assert headers["x-brightstaff-route"] == "fallback"
    assert headers["x-brightstaff-provider"] == DEFAULT
    assert body["model"] == "gpt-4o-mini"
    assert any(marker in str(r.body) for r in providers.openai.received)
    assert elapsed < 0.9  # within the router deadline (300 ms) plus the request, before Envoy's 1 s timeout
    assert llm_stack.metric("brightstaff_router_failures_total", kind=kind) == failures + 1
    # Nothing was pinned: the next turn of that session is routed (and pinned) afresh.
    status, headers, _ = send(llm_stack, "Write a function that sorts a list", affinity)
    assert (status, headers["x-brightstaff-affinity"], headers["x-brightstaff-route"]) == (
        200,
        "new",
        "code_generation",
    )


def test_an_unreachable_router_falls_back_on_every_request(
    tmp_path_factory: pytest.TempPathFactory, providers: Providers
) -> None:
    # A port nothing listens on: connection refused, answered by the default model every time.
    closed = providers.loop.run(start_fake_router())
    url = closed.base_url
    providers.loop.run(closed.close())
    stack = start_stack(
        tmp_path_factory.mktemp("dead-router"),
        providers,
        {"type": "llm", "base_url": url, "model": "Arch-Router", "timeout_ms": ROUTER_TIMEOUT_MS},
    )
    try:
        for i in range(3):
            status, headers, _ = send(stack, "Write a function", f"dead-{i}-{uuid.uuid4()}")
            assert status == 200
            assert (headers["x-brightstaff-affinity"], headers["x-brightstaff-route"]) == ("unpinned", "fallback")
            assert headers["x-brightstaff-provider"] == DEFAULT
        assert stack.metric("brightstaff_router_failures_total", kind="connection") == 3
        assert stack.metric("brightstaff_router_calls_total", confidence="none", reason="fallback") == 3
        assert "router llm failed (connection)" in stack.logs()
    finally:
        retire(stack)
