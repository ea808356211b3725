"""Through real Envoy with a Plano v0.4 config: a top-level route sends a request to its first model, an alias
to its target, a tool result under route_on_user_only to the model of the loop's ask, and the listener's
max_retries retries a failing upstream."""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_stack import Providers, Stack, launch, retire

pytestmark = pytest.mark.e2e

CODE = "Write a Python function that parses a CSV file and returns the rows as dicts."
SONNET = "anthropic/claude-sonnet-4-20250514"


def v04_config(providers: Providers) -> dict[str, Any]:
    openai, anthropic = providers.openai.base_url, providers.anthropic.base_url
    return {
        "version": "v0.4.0",
        "listeners": [{"type": "model", "name": "model_listener", "port": 12000, "max_retries": 2}],
        "model_providers": [
            {"model": "openai/gpt-4o-mini", "access_key": "$OPENAI_API_KEY", "default": True, "base_url": openai},
            {"model": "openai/gpt-4o", "access_key": "$OPENAI_API_KEY", "base_url": openai},
            {"model": SONNET, "access_key": "$ANTHROPIC_API_KEY", "base_url": anthropic},
        ],
        "routing_preferences": [
            {
                "name": "code_generation",
                "description": "generating new code, writing functions, or creating boilerplate",
                "models": [SONNET, "openai/gpt-4o"],
                "selection_policy": {"prefer": "none"},
            },
            {
                "name": "complex_reasoning",
                "description": "complex reasoning tasks, multi-step analysis, or detailed explanations",
                "models": ["gpt-4o", "gpt-4o-mini"],
            },
        ],
        "model_aliases": {"team.fast": {"target": "gpt-4o-mini"}},
        "routing": {"route_on_user_only": True},
        "model_metrics_sources": [{"type": "cost", "provider": "models.dev"}],
        "tracing": {"random_sampling": 100},
        "brightstaff": {"message_timeout_ms": 1000},
    }


@pytest.fixture(scope="module")
def v04_stack(tmp_path_factory: pytest.TempPathFactory, providers: Providers) -> Iterator[Stack]:
    stack = launch(tmp_path_factory.mktemp("v04"), v04_config(providers))
    yield stack
    retire(stack)


def send(
    stack: Stack, messages: list[dict[str, Any]], model: str = "gpt-4o-mini", **headers: str
) -> tuple[int, dict[str, str], dict[str, Any]]:
    body = json.dumps({"model": model, "messages": messages}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", stack.listener_port, timeout=30)
    try:
        conn.request("POST", "/v1/chat/completions", body=body, headers={"content-type": "application/json", **headers})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read())
    finally:
        conn.close()


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def test_a_top_level_route_is_served_by_its_first_model(v04_stack: Stack, providers: Providers) -> None:
    marker = f"marker-{uuid.uuid4()}"
    status, headers, answer = send(v04_stack, user(f"{CODE} {marker}"))
    assert status == 200
    assert (headers["x-brightstaff-provider"], headers["x-brightstaff-route"]) == (SONNET, "code_generation")
    assert answer["model"] == "claude-sonnet-4-20250514"
    received = [r for r in providers.anthropic.received if marker in str(r.body)]
    assert [r.body["model"] for r in received] == ["claude-sonnet-4-20250514"]


def test_an_alias_goes_to_its_target_unrouted(v04_stack: Stack) -> None:
    before = v04_stack.metric("brightstaff_router_calls_total")
    status, headers, answer = send(v04_stack, user(CODE), model="team.fast", **{"x-model-affinity": "alias-run"})
    assert (status, answer["model"]) == (200, "gpt-4o-mini")
    assert (headers["x-brightstaff-provider"], headers["x-brightstaff-affinity"]) == ("openai/gpt-4o-mini", "none")
    assert v04_stack.metric("brightstaff_router_calls_total") == before


def test_a_tool_result_is_routed_as_of_the_loops_ask(v04_stack: Stack) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "run_tests", "arguments": "{}"}}
    loop = [
        *user(CODE),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "Explain step by step, with a detailed analysis: 3 failed"},
    ]
    status, headers, _ = send(v04_stack, loop)
    assert (status, headers["x-brightstaff-provider"], headers["x-brightstaff-affinity"]) == (200, SONNET, "none")


def test_the_listeners_max_retries_retries_a_failing_upstream(v04_stack: Stack, providers: Providers) -> None:
    marker = f"retry-{uuid.uuid4()}"
    status, _, answer = send(v04_stack, user(f"hi {marker}"), **{"x-fake-fail": "503"})
    assert status == 503 and answer["error"]["code"] == "fake_failure"
    attempts = [r for r in providers.openai.received if marker in str(r.body)]
    assert len(attempts) == 3  # the first try and max_retries: 2
