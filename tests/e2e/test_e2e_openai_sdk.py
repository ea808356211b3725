"""Through real Envoy with the official openai SDK: routing, pinning, credentials, streaming, tools, races."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from e2e_stack import KEYS, Providers, Stack
from openai import OpenAI

pytestmark = pytest.mark.e2e

CODE = "Write a Python function that parses a CSV file and returns the rows as dicts."
ANALYSIS = "Explain step by step, with a detailed multi-step analysis, why the tradeoffs differ and which option wins."


def client(stack: Stack, affinity: str | None = None) -> OpenAI:
    headers = {"X-Model-Affinity": affinity} if affinity else {}
    return OpenAI(base_url=f"{stack.base_url}/v1", api_key="client-own-key", max_retries=0, default_headers=headers)


def ask(stack: Stack, text: str, affinity: str | None = None, **kwargs: Any) -> tuple[str, dict[str, str]]:
    with client(stack, affinity) as c:
        raw = c.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **kwargs
        )
        completion = raw.parse()
        return completion.model, {k.lower(): v for k, v in raw.headers.items() if k.lower().startswith("x-")}


def test_no_affinity_routes_each_request_by_intent(transport_stack: Stack) -> None:
    stack = transport_stack
    code_model, code_headers = ask(stack, CODE)
    analysis_model, analysis_headers = ask(stack, ANALYSIS)
    small_model, small_headers = ask(stack, "hi there")
    assert code_model == "claude-sonnet-4-20250514"
    assert analysis_model == "gpt-4o"
    assert small_model == "gpt-4o-mini"
    assert code_headers["x-brightstaff-affinity"] == "none"
    assert code_headers["x-brightstaff-route"] == "code_generation"
    assert analysis_headers["x-brightstaff-provider"] == "openai/gpt-4o"
    assert small_headers["x-brightstaff-route"] == "default"


def test_affinity_pins_the_first_model_for_every_later_turn(transport_stack: Stack) -> None:
    stack = transport_stack
    session = f"agent-{uuid.uuid4()}"
    before = stack.metric("brightstaff_router_calls_total")
    turns = [ask(stack, text, session) for text in (CODE, ANALYSIS, "hi there", ANALYSIS)]
    assert [model for model, _ in turns] == ["claude-sonnet-4-20250514"] * 4
    assert [h["x-brightstaff-affinity"] for _, h in turns] == ["new", "pinned", "pinned", "pinned"]
    assert stack.metric("brightstaff_router_calls_total") - before == 1


def test_provider_receives_rewritten_model_and_its_own_credentials(stack: Stack, providers: Providers) -> None:
    marker = f"marker-{uuid.uuid4()}"
    ask(stack, f"{CODE} {marker}")
    received = [r for r in providers.anthropic.received if marker in str(r.body)]
    assert len(received) == 1
    request = received[0]
    assert request.body["model"] == "claude-sonnet-4-20250514"
    # Anthropic's native API: translated from the client's chat completions, its own key header.
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == KEYS["ANTHROPIC_API_KEY"]
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    assert "client-own-key" not in str(request.headers)
    assert "x-brightstaff-provider" not in request.headers
    assert int(request.headers["content-length"]) == len(request.raw_body)


def test_streaming_passes_chunk_by_chunk(transport_stack: Stack, providers: Providers) -> None:
    stack = transport_stack
    providers.anthropic.chunk_delay = 0.25
    try:
        arrivals: list[float] = []
        with client(stack, f"stream-{uuid.uuid4()}") as c:
            stream = c.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": CODE}], stream=True
            )
            with stream:
                models = set()
                for chunk in stream:
                    arrivals.append(time.monotonic())
                    models.add(chunk.model)
    finally:
        providers.anthropic.chunk_delay = 0.0
    assert models == {"claude-sonnet-4-20250514"}
    assert len(arrivals) >= 4
    # Buffered, every chunk would land together at the end; streamed, they spread over the delays.
    assert arrivals[-1] - arrivals[0] > 0.5 * 0.25 * (len(arrivals) - 1)


def test_streaming_response_carries_the_decision_headers(stack: Stack) -> None:
    with client(stack) as c:
        raw = c.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": ANALYSIS}], stream=True
        )
        stream = raw.parse()
        with stream:
            chunks = list(stream)
    assert raw.headers["x-brightstaff-model"] == "gpt-4o"
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert chunks


def test_tool_calling_loop_keeps_its_model_with_affinity(stack: Stack) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    messages: list[Any] = [{"role": "user", "content": CODE}]
    models = []
    with client(stack, f"tools-{uuid.uuid4()}") as c:
        for _ in range(6):
            completion = c.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools)  # type: ignore[arg-type]
            models.append(completion.model)
            message = completion.choices[0].message
            if not message.tool_calls:
                break
            messages.append(message.model_dump(exclude_none=True))
            for call in message.tool_calls:
                messages.append({"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 21}'})
    assert len(models) >= 2
    assert set(models) == {"claude-sonnet-4-20250514"}


def test_concurrent_first_requests_through_envoy_get_one_model(stack: Stack) -> None:
    session = f"burst-{uuid.uuid4()}"
    before = stack.metric("brightstaff_router_calls_total")
    prompts = [CODE, ANALYSIS, "hi there", ANALYSIS] * 4
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda text: ask(stack, text, session), prompts))
    assert len({model for model, _ in results}) == 1
    affinities = [h["x-brightstaff-affinity"] for _, h in results]
    assert affinities.count("new") == 1
    assert affinities.count("pinned") == 15
    assert stack.metric("brightstaff_router_calls_total") - before == 1


def test_models_endpoint(stack: Stack) -> None:
    with client(stack) as c:
        ids = [m.id for m in c.models.list()]
    assert ids == ["openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-sonnet-4-20250514"]


def test_the_stack_really_runs_its_transport(transport: str, transport_stack: Stack) -> None:
    """The cases on `transport_stack` test the transport they are named for."""
    assert ask(transport_stack, "hi there")[0] == "gpt-4o-mini"
    assert f"(transport {transport}," in transport_stack.brightstaff_log.read_text()
