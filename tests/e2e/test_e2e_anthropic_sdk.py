"""Through real Envoy with the official anthropic SDK (issue 9): `/v1/messages` and `/v1/messages/count_tokens`.

Against the Anthropic-native fake the body passes through with only `model` rewritten; against the
OpenAI fake it is translated both ways (JSON, SSE, tools). Which backend serves a request is the
router's choice (code → Claude, analysis → gpt-4o, small talk → gpt-4o-mini) or the client's explicit
`provider/model`.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from anthropic.types import Message, MessageParam, ToolParam
from client_apis import ANALYSIS, CLAUDE, CLIENT_KEY, CODE, SMALL, anthropic_client, ask, x_headers
from e2e_stack import KEYS, Providers, Stack

from brightstaff.demo.fake_backend import ReceivedRequest

pytestmark = pytest.mark.e2e

NATIVE = "anthropic/claude-sonnet-4-20250514"  # explicit: the Anthropic fake, same API
TRANSLATED = "openai/gpt-4o"  # explicit: the OpenAI fake, translated both ways
BACKENDS = pytest.mark.parametrize("model", [NATIVE, TRANSLATED], ids=["anthropic-native", "openai-translated"])
SERVED = {NATIVE: CLAUDE, TRANSLATED: "gpt-4o"}

# A 1x1 PNG and a one-line PDF: what an agent attaches, to be passed through untouched.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
PDF = "JVBERi0xLjQKJSBicmlnaHRzdGFmZiBlMmUKJSVFT0YK"

WEATHER: ToolParam = {
    "name": "get_weather",
    "description": "The current weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city"],
    },
}


def with_marker(received: list[ReceivedRequest], marker: str) -> list[ReceivedRequest]:
    return [r for r in received if marker in r.raw_body.decode(errors="replace")]


def test_messages_are_routed_by_intent_without_affinity(stack: Stack) -> None:
    code, analysis, small = (ask("messages", stack, text) for text in (CODE, ANALYSIS, SMALL))
    assert (code.model, analysis.model, small.model) == (CLAUDE, "gpt-4o", "gpt-4o-mini")
    assert code.headers["x-brightstaff-route"] == "code_generation"
    assert analysis.headers["x-brightstaff-provider"] == "openai/gpt-4o"
    assert small.headers["x-brightstaff-route"] == "default"
    for answer in (code, analysis, small):
        assert answer.headers["x-brightstaff-affinity"] == "none"
        assert answer.headers["x-brightstaff-affinity-source"] == "none"
        assert answer.headers["x-brightstaff-model"] == answer.model
        assert answer.text.startswith("This is the fake")


def attachment_turn(model: str, marker: str) -> dict[str, Any]:
    """What an agent sends with attachments: an image, a PDF, prompt-cache breakpoints, extended thinking
    and its replayed (and redacted) thinking blocks, metadata."""
    return {
        "model": model,
        "max_tokens": 2048,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "system": [{"type": "text", "text": "You describe attachments.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                    {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}},
                    {"type": "text", "text": f"What are these? {marker}", "cache_control": {"type": "ephemeral"}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "One pixel, one page.", "signature": "EqQBCkYIBxgCKkBsig=="},
                    {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"},
                    {"type": "text", "text": "A pixel and a page."},
                ],
            },
            {"role": "user", "content": "And together?"},
        ],
        "metadata": {"user_id": "user-42"},
    }


def test_native_backend_gets_the_body_as_sent_with_only_the_model_rewritten(stack: Stack, providers: Providers) -> None:
    marker = f"marker-{uuid.uuid4()}"
    sent = attachment_turn(NATIVE, marker)
    with anthropic_client(stack) as claude:
        raw = claude.messages.with_raw_response.create(**sent)
        message = raw.parse()
        sdk_version = claude.default_headers["anthropic-version"]
    assert message.model == CLAUDE
    assert raw.headers["x-brightstaff-route"] == "explicit"
    (received,) = with_marker(providers.anthropic.messages_requests, marker)
    assert received.body == {**sent, "model": CLAUDE}
    # The provider's key, in the provider's header; the client's key nowhere; the SDK's API version kept.
    assert received.headers["x-api-key"] == KEYS["ANTHROPIC_API_KEY"]
    assert received.headers["anthropic-version"] == sdk_version
    assert "authorization" not in received.headers
    assert CLIENT_KEY not in json.dumps(received.headers)
    assert int(received.headers["content-length"]) == len(received.raw_body)


def test_attachments_are_translated_for_an_openai_backend(stack: Stack, providers: Providers) -> None:
    """The same agent turn toward the OpenAI fake: images and PDFs become chat parts, thinking blocks and
    cache_control (which a chat completions server cannot read) are dropped, the text is kept."""
    marker = f"marker-{uuid.uuid4()}"
    with anthropic_client(stack) as claude:
        message = claude.messages.create(**attachment_turn(TRANSLATED, marker))
    assert message.model == "gpt-4o" and message.content[0].type == "text"
    pdf_url = f"data:application/pdf;base64,{PDF}"
    (received,) = with_marker(providers.openai.chat_requests, marker)
    assert received.body["messages"] == [
        {"role": "system", "content": "You describe attachments."},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                {
                    "type": "file",
                    "file": {"filename": "document.pdf", "file_data": pdf_url},
                },
                {"type": "text", "text": f"What are these? {marker}"},
            ],
        },
        {"role": "assistant", "content": "A pixel and a page."},
        {"role": "user", "content": "And together?"},
    ]
    assert not {"thinking", "cache_control", "reasoning_effort"} & received.body.keys()
    assert "cache_control" not in received.raw_body.decode()


def test_curl_style_body_passes_byte_for_byte_and_gets_an_api_version(stack: Stack, providers: Providers) -> None:
    """No anthropic-version (the API refuses a request without one), a key in x-api-key, fields in an
    unusual order with their own spacing: only `model` changes, every other field keeps its bytes."""
    marker = f"marker-{uuid.uuid4()}"
    fields = {
        "messages": json.dumps([{"role": "user", "content": [{"type": "text", "text": f"hello  {marker} \u00e9"}]}]),
        "model": json.dumps(NATIVE),
        "temperature": "0.50",
        "max_tokens": "64",
        "metadata": '{ "user_id" : "user-42" }',
    }
    body = ("{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in fields.items()) + "}").encode()
    response = httpx.post(
        f"{stack.base_url}/v1/messages",
        content=body,
        headers={"x-api-key": CLIENT_KEY, "content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "message"
    (received,) = with_marker(providers.anthropic.messages_requests, marker)
    assert received.raw_body == body.replace(json.dumps(NATIVE).encode(), json.dumps(CLAUDE).encode())
    assert received.headers["anthropic-version"] == "2023-06-01"
    assert received.headers["x-api-key"] == KEYS["ANTHROPIC_API_KEY"]


def test_translated_backend_gets_a_chat_request_with_its_own_key(stack: Stack, providers: Providers) -> None:
    marker = f"marker-{uuid.uuid4()}"
    with anthropic_client(stack) as claude:
        message = claude.messages.create(
            model=TRANSLATED,
            max_tokens=300,
            system="Answer briefly.",
            messages=[{"role": "user", "content": f"Say hi {marker}"}],
            stop_sequences=["END"],
        )
    assert message.model == "gpt-4o"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    (received,) = with_marker(providers.openai.chat_requests, marker)
    assert received.body["model"] == "gpt-4o"
    assert received.body["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": f"Say hi {marker}"},
    ]
    assert received.body["stop"] == ["END"]
    assert received.headers["authorization"] == f"Bearer {KEYS['OPENAI_API_KEY']}"
    assert "x-api-key" not in received.headers
    assert not any(name.startswith("anthropic-") for name in received.headers)


@BACKENDS
def test_messages_stream_gives_the_event_sequence_and_a_final_message(stack: Stack, model: str) -> None:
    with (
        anthropic_client(stack) as claude,
        claude.messages.stream(
            model=model, max_tokens=256, messages=[{"role": "user", "content": "Tell me about B-trees."}]
        ) as stream,
    ):
        events = [event.type for event in stream]
        final = stream.get_final_message()
        headers = x_headers(stream.response.headers)
    assert events[0] == "message_start"
    assert events[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert "content_block_delta" in events
    assert final.model == SERVED[model]
    assert final.stop_reason == "end_turn"
    assert final.content[0].type == "text" and final.content[0].text.startswith("This is the fake")
    assert final.usage.output_tokens > 0
    assert headers["x-brightstaff-model"] == SERVED[model]
    assert headers["x-brightstaff-route"] == "explicit"


def test_a_translated_stream_arrives_event_by_event(stack: Stack, providers: Providers) -> None:
    providers.openai.chunk_delay = 0.2
    arrivals: list[float] = []
    try:
        with (
            anthropic_client(stack) as claude,
            claude.messages.stream(
                model=TRANSLATED, max_tokens=256, messages=[{"role": "user", "content": "Tell me about tries."}]
            ) as stream,
        ):
            for event in stream:
                if event.type == "content_block_delta":
                    arrivals.append(time.monotonic())
    finally:
        providers.openai.chunk_delay = 0.0
    assert len(arrivals) >= 4
    # Buffered, every delta would land together at the end; translated chunk by chunk, they spread out.
    assert arrivals[-1] - arrivals[0] > 0.5 * 0.2 * (len(arrivals) - 1)


def _tool_round_trip(stack: Stack, model: str, *, stream: bool) -> list[str]:
    """tool_use → our tool_result → the final answer; the served model of every turn."""
    messages: list[MessageParam] = [{"role": "user", "content": "What is the weather in Paris? Use the tool."}]
    served: list[str] = []
    with anthropic_client(stack) as claude:
        for _ in range(4):
            if stream:
                with claude.messages.stream(model=model, max_tokens=512, messages=messages, tools=[WEATHER]) as s:
                    message: Message = s.get_final_message()
            else:
                message = claude.messages.create(model=model, max_tokens=512, messages=messages, tools=[WEATHER])
            served.append(message.model)
            calls = [block for block in message.content if block.type == "tool_use"]
            if message.stop_reason != "tool_use":
                assert not calls
                assert message.content[-1].type == "text"
                assert "1 tool result" in message.content[-1].text
                return served
            assert calls and all(call.name == "get_weather" for call in calls)
            assert all(isinstance(call.input, dict) and isinstance(call.input["city"], str) for call in calls)
            messages.append({"role": "assistant", "content": message.content})
            messages.append(
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": call.id, "content": '{"temp_c": 21}'} for call in calls
                    ],
                }
            )
    raise AssertionError(f"no final answer after 4 turns: {served}")


@BACKENDS
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_a_tool_use_round_trip(stack: Stack, providers: Providers, model: str, stream: bool) -> None:
    assert _tool_round_trip(stack, model, stream=stream) == [SERVED[model]] * 2
    if model == TRANSLATED:
        # The tool result reached the chat backend as a tool message answering the call, by its id.
        last = providers.openai.chat_requests[-1].body["messages"]
        assert [m["role"] for m in last] == ["user", "assistant", "tool"]
        assert last[2]["tool_call_id"] == last[1]["tool_calls"][0]["id"]
        assert last[2]["content"] == '{"temp_c": 21}'
    else:
        last = providers.anthropic.messages_requests[-1].body["messages"]
        assert [m["role"] for m in last] == ["user", "assistant", "user"]
        assert last[2]["content"][0]["tool_use_id"] == last[1]["content"][0]["id"]


def test_count_tokens_on_the_native_backend_is_the_providers_count(stack: Stack, providers: Providers) -> None:
    marker = f"marker-{uuid.uuid4()}"
    with anthropic_client(stack) as claude:
        raw = claude.messages.with_raw_response.count_tokens(
            model=NATIVE, messages=[{"role": "user", "content": f"count me {marker}"}], tools=[WEATHER]
        )
        counted = raw.parse()
    (received,) = with_marker(providers.anthropic.count_tokens_requests, marker)
    assert received.body["model"] == CLAUDE
    assert received.headers["x-api-key"] == KEYS["ANTHROPIC_API_KEY"]
    assert counted.input_tokens > 0
    assert raw.headers["x-brightstaff-model"] == CLAUDE


def test_count_tokens_for_an_openai_backend_is_answered_locally(stack: Stack, providers: Providers) -> None:
    marker = f"marker-{uuid.uuid4()}"
    with anthropic_client(stack) as claude:
        raw = claude.messages.with_raw_response.count_tokens(
            model=TRANSLATED, messages=[{"role": "user", "content": f"count me, please, {marker}"}]
        )
        counted = raw.parse()
    assert counted.input_tokens > 0
    assert not with_marker(providers.openai.received, marker)  # an OpenAI backend cannot count Messages
    assert not with_marker(providers.anthropic.received, marker)
    # Answered by brightstaff itself, and still saying for which model.
    assert raw.headers["x-brightstaff-model"] == "gpt-4o"
    assert raw.headers["x-brightstaff-provider"] == TRANSLATED
    assert raw.headers["x-brightstaff-route"] == "explicit"
