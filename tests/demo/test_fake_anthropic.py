"""The fake Anthropic provider: the official anthropic SDK against it (create, stream, tool use, count_tokens,
every error class), its checks with the real API's messages, prompt caching, failures on demand, records,
and the process.

Every JSON object and stream event it sends is also validated strictly (pydantic validation, not the
SDK's lenient construction) against the SDK's own types, every tool input against its tool's schema,
and at the end of each test every accepted request's plan is re-checked (demo_loop.running_anthropic).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic.types import Message, MessageTokensCount, RawMessageStreamEvent
from demo_loop import running_anthropic
from fake_process import fake_process
from pydantic import TypeAdapter
from raw_http import exchange, parse_responses, post
from schema_table import check
from tool_specs import DEMO_TOOLS, WEATHER_TOOLS, anthropic_tools

from brightstaff.demo.fake_anthropic import FakeAnthropic
from brightstaff.demo.scripted_model import DEMO_ANSWER

KEY = "sk-ant-test"
MODEL = "claude-sonnet-4-20250514"
HEADERS = f"x-api-key: {KEY}\r\nanthropic-version: 2023-06-01\r\n"
EVENTS: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with running_anthropic(api_key=KEY) as running:
        yield running


def sdk(fake: FakeAnthropic, **kwargs: Any) -> anthropic.Anthropic:
    base_url = fake.base_url.removesuffix("/v1")
    return anthropic.Anthropic(base_url=base_url, api_key=KEY, max_retries=0, timeout=10, **kwargs)


def ask(text: str = "hello there", **fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 2048, "messages": [{"role": "user", "content": text}], **fields}


def raw(fake: FakeAnthropic, body: Any, *, path: str = "/v1/messages", headers: str = HEADERS) -> tuple[int, Any]:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    [(status, _, answer)] = parse_responses(exchange(fake.port, post(path, payload, headers)))
    return status, json.loads(answer)


def sse(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of each event of a stream body; every data is a valid SDK stream event."""
    events = []
    for block in body.decode().split("\n\n"):
        if not block:
            continue
        name_line, data_line = block.split("\n")
        name, data = name_line.removeprefix("event: "), json.loads(data_line.removeprefix("data: "))
        assert data["type"] == name
        if name not in ("ping", "error"):  # the SDK skips pings and raises on errors: neither is a stream event
            EVENTS.validate_python(data)
        events.append((name, data))
    return events


def streamed(fake: FakeAnthropic, body: dict[str, Any], headers: str = HEADERS) -> list[tuple[str, dict[str, Any]]]:
    data = post("/v1/messages", json.dumps({**body, "stream": True}).encode(), headers)
    [(status, response_headers, payload)] = parse_responses(exchange(fake.port, data))
    assert status == 200
    assert response_headers["content-type"].startswith("text/event-stream")
    return sse(payload)


def tool_inputs_valid(message: Message, tools: list[Any]) -> None:
    schemas = {t["name"]: t["input_schema"] for t in tools}
    for block in message.content:
        if block.type == "tool_use":
            check(schemas[block.name], block.input)


# --------------------------------------------------------------------------------------------------
# Through the official SDK


def test_create_answers_with_the_real_message_shape(fake: FakeAnthropic) -> None:
    with sdk(fake) as client:
        response = client.messages.with_raw_response.create(**ask())
        message = response.parse()
    Message.model_validate(json.loads(response.http_response.text))
    assert response.headers["x-fake-provider"] == "anthropic"
    assert response.headers["request-id"].startswith("req_")
    assert message.id.startswith("msg_")
    assert (message.type, message.role, message.model) == ("message", "assistant", MODEL)
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    [block] = message.content
    assert block.type == "text"
    assert "hello there" in block.text
    assert message.usage.input_tokens > 0
    assert message.usage.output_tokens > 0
    assert (message.usage.cache_read_input_tokens, message.usage.cache_creation_input_tokens) == (0, 0)


def test_tool_use_round_trip_follows_the_demo_script(fake: FakeAnthropic) -> None:
    tools = anthropic_tools(DEMO_TOOLS)
    messages: list[Any] = [{"role": "user", "content": "pick a database"}]
    seen = []
    with sdk(fake) as client:
        for _ in range(6):
            message = client.messages.create(model=MODEL, max_tokens=4096, messages=messages, tools=tools)
            tool_inputs_valid(message, tools)
            uses = [b for b in message.content if b.type == "tool_use"]
            if not uses:
                assert message.stop_reason == "end_turn"
                assert message.content[0].type == "text"
                assert message.content[0].text == DEMO_ANSWER
                break
            assert message.stop_reason == "tool_use"
            assert all(u.id.startswith("toolu_") for u in uses)
            seen.append([(u.name, u.input) for u in uses])
            messages.append(message.to_param())
            results = [{"type": "tool_result", "tool_use_id": u.id, "content": "{}"} for u in uses]
            messages.append({"role": "user", "content": results})
    assert seen == [
        [("get_db_benchmarks", {"workload": "read-heavy"}), ("get_db_benchmarks", {"workload": "write-heavy"})],
        [("get_case_studies", {"database": "postgresql"}), ("get_case_studies", {"database": "mongodb"})],
        [("check_feature_support", {"database": "mongodb", "feature": "multi-document ACID transactions"})],
    ]


def test_tool_choice_and_disabled_parallel_use_are_obeyed(fake: FakeAnthropic) -> None:
    tools = anthropic_tools(WEATHER_TOOLS)
    with sdk(fake) as client:
        named = client.messages.create(**ask(tools=tools, tool_choice={"type": "tool", "name": "get_time"}))
        nothing = client.messages.create(**ask(tools=tools, tool_choice={"type": "none"}))
        one = client.messages.create(
            **ask(tools=anthropic_tools(DEMO_TOOLS), tool_choice={"type": "auto", "disable_parallel_tool_use": True})
        )
    assert [(b.type, getattr(b, "name", None)) for b in named.content] == [("tool_use", "get_time")]
    assert [b.type for b in nothing.content] == ["text"]
    assert [b.type for b in one.content] == ["tool_use"]
    tool_inputs_valid(named, tools)


def test_stream_gets_the_real_event_sequence_and_the_same_message(fake: FakeAnthropic) -> None:
    tools = anthropic_tools(WEATHER_TOOLS)
    body = ask("weather?", tools=tools)
    events = streamed(fake, body)
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names) == {
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    }
    start = events[0][1]["message"]
    assert (start["content"], start["stop_reason"]) == ([], None)
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    with sdk(fake) as client:
        whole = client.messages.create(**body)
        with client.messages.stream(**body) as stream:
            final = stream.get_final_message()
    assert final.content == whole.content
    assert final.stop_reason == whole.stop_reason == "tool_use"
    assert final.usage.output_tokens == whole.usage.output_tokens == delta["usage"]["output_tokens"]
    assert final.usage.input_tokens == whole.usage.input_tokens == delta["usage"]["input_tokens"]
    tool_inputs_valid(final, tools)


def test_text_streams_in_pieces_that_join_to_the_answer(fake: FakeAnthropic) -> None:
    with sdk(fake) as client:
        whole = client.messages.create(**ask("tell me something long enough"))
        with client.messages.stream(**ask("tell me something long enough")) as stream:
            pieces = list(stream.text_stream)
            final = stream.get_final_message()
    assert len(pieces) > 4
    assert "".join(pieces) == whole.content[0].text == final.content[0].text  # type: ignore[union-attr]


def test_tool_input_streams_as_several_partial_json_pieces(fake: FakeAnthropic) -> None:
    events = streamed(fake, ask("weather?", tools=anthropic_tools(WEATHER_TOOLS)))
    [(_, start)] = [e for e in events if e[0] == "content_block_start"]
    assert start["content_block"]["type"] == "tool_use"
    assert start["content_block"]["input"] == {}
    pieces = [d["delta"]["partial_json"] for n, d in events if n == "content_block_delta"]
    assert pieces[0] == ""
    assert len(pieces) > 3
    assert json.loads("".join(pieces)) == {"city": "example", "unit": "celsius"}


def test_thinking_blocks_come_first_when_thinking_is_enabled(fake: FakeAnthropic) -> None:
    body = ask("weather?", tools=anthropic_tools(WEATHER_TOOLS), thinking={"type": "enabled", "budget_tokens": 1024})
    with sdk(fake) as client:
        message = client.messages.create(**body)
        with client.messages.stream(**body) as stream:
            final = stream.get_final_message()
        plain = client.messages.create(**ask("weather?", tools=anthropic_tools(WEATHER_TOOLS)))
    assert [b.type for b in message.content] == ["thinking", "tool_use"]
    thinking = message.content[0]
    assert thinking.type == "thinking"
    assert thinking.thinking
    assert thinking.signature
    assert final.content == message.content
    assert [b.type for b in plain.content] == ["tool_use"]
    kinds = [d["delta"]["type"] for n, d in streamed(fake, body) if n == "content_block_delta"]
    assert kinds.index("signature_delta") == kinds.count("thinking_delta")


def test_max_tokens_cuts_the_answer(fake: FakeAnthropic) -> None:
    with sdk(fake) as client:
        full = client.messages.create(**ask("a question with an answer"))
        short = client.messages.create(**{**ask("a question with an answer"), "max_tokens": 5})
        streamed_short = [d for n, d in streamed(fake, {**ask("a question with an answer"), "max_tokens": 5})]
    assert short.stop_reason == "max_tokens"
    assert short.usage.output_tokens <= 5
    assert short.content[0].text == full.content[0].text[:20]
    assert streamed_short[-2]["delta"]["stop_reason"] == "max_tokens"


def test_a_stop_sequence_in_the_answer_ends_it_there(fake: FakeAnthropic) -> None:
    body = ask("hi", stop_sequences=["never", "provider"])
    with sdk(fake) as client:
        message = client.messages.create(**body)
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "provider")
    assert message.content[0].text == "This is the fake anthropic "
    finish = streamed(fake, body)[-2][1]
    assert finish["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "provider"}


def test_structured_output_is_json_for_the_schema(fake: FakeAnthropic) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}, "required": ["n"]}
    with sdk(fake) as client:
        message = client.messages.create(**ask(output_config={"format": {"type": "json_schema", "schema": schema}}))
    check(schema, json.loads(message.content[0].text))


def test_count_tokens_counts_what_create_bills(fake: FakeAnthropic) -> None:
    tools = anthropic_tools(WEATHER_TOOLS)
    body = ask("weather?", tools=tools, system="be brief")
    with sdk(fake) as client:
        raw_count = client.messages.with_raw_response.count_tokens(
            model=MODEL, messages=body["messages"], tools=tools, system="be brief"
        )
        message = client.messages.create(**body)
    counted = MessageTokensCount.model_validate(json.loads(raw_count.http_response.text))
    assert counted.input_tokens == message.usage.input_tokens > 0
    [record] = fake.count_tokens_requests
    assert record.path == "/v1/messages/count_tokens"


def test_prompt_cache_reads_what_an_earlier_request_wrote(fake: FakeAnthropic) -> None:
    long_system = [{"type": "text", "text": "You know the handbook. " * 400, "cache_control": {"type": "ephemeral"}}]
    with sdk(fake) as client:
        first = client.messages.create(**ask("question one", system=long_system))
        second = client.messages.create(**ask("question two", system=long_system))
        uncached = client.messages.create(**ask("question three", system=[{"type": "text", "text": "short"}]))
    written = first.usage.cache_creation_input_tokens
    assert written is not None
    assert written >= 1024
    assert first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation is not None
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == written
    assert (second.usage.cache_read_input_tokens, second.usage.cache_creation_input_tokens) == (written, 0)
    assert second.usage.input_tokens == first.usage.input_tokens
    assert (uncached.usage.cache_read_input_tokens, uncached.usage.cache_creation_input_tokens) == (0, 0)


def test_a_prompt_below_the_minimum_is_not_cached(fake: FakeAnthropic) -> None:
    system = [{"type": "text", "text": "short", "cache_control": {"type": "ephemeral"}}]
    with sdk(fake) as client:
        usages = [client.messages.create(**ask("q", system=system)).usage for _ in range(2)]
    assert [(u.cache_read_input_tokens, u.cache_creation_input_tokens) for u in usages] == [(0, 0), (0, 0)]


def test_stream_is_sent_event_by_event_with_the_delay(fake: FakeAnthropic) -> None:
    fake.chunk_delay = 0.05
    body = json.dumps({**ask("a b c d e f g h"), "stream": True}).encode()
    arrivals = []
    with socket.create_connection((fake.host, fake.port), timeout=10) as sock:
        sock.sendall(post("/v1/messages", body, HEADERS + "Connection: close\r\n"))
        received = bytearray()
        while chunk := sock.recv(65536):
            arrivals.append(time.monotonic())
            received += chunk
    [(status, headers, payload)] = parse_responses(bytes(received))
    assert (status, headers["transfer-encoding"]) == (200, "chunked")
    events = sse(payload)
    assert len(arrivals) >= len(events) // 2
    assert arrivals[-1] - arrivals[0] >= 0.05 * (len(events) - 2) * 0.8


# --------------------------------------------------------------------------------------------------
# Authentication and the API version


def test_the_sdk_sends_its_key_as_a_bearer_token_and_a_current_version(fake: FakeAnthropic) -> None:
    with sdk(fake) as client:
        client.messages.create(**ask())
    [record] = fake.received
    assert record.headers["authorization"] == f"Bearer {KEY}"
    assert "x-api-key" not in record.headers
    assert record.headers["anthropic-version"] == anthropic._constants.ANTHROPIC_API_VERSION


def test_x_api_key_and_the_long_standing_version_are_accepted(fake: FakeAnthropic) -> None:
    status, body = raw(fake, ask())
    assert status == 200
    assert body["type"] == "message"


@pytest.mark.parametrize(
    ("headers", "status", "kind", "message"),
    [
        pytest.param("anthropic-version: 2023-06-01\r\n", 401, "authentication_error", "x-api-key header is required"),
        pytest.param(
            "x-api-key: wrong\r\nanthropic-version: 2023-06-01\r\n", 401, "authentication_error", "invalid x-api-key"
        ),
        pytest.param(
            "Authorization: Bearer wrong\r\nanthropic-version: 2023-06-01\r\n",
            401,
            "authentication_error",
            "Invalid bearer token",
        ),
        pytest.param(f"x-api-key: {KEY}\r\n", 400, "invalid_request_error", "anthropic-version: header is required"),
        pytest.param(
            f"x-api-key: {KEY}\r\nanthropic-version: 2024-13-01\r\n",
            400,
            "invalid_request_error",
            'anthropic-version: "2024-13-01" is not a valid version',
        ),
    ],
)
def test_credentials_and_version_are_checked(
    fake: FakeAnthropic, headers: str, status: int, kind: str, message: str
) -> None:
    got, body = raw(fake, ask(), headers=headers)
    assert got == status
    assert body["type"] == "error"
    assert body["error"] == {"type": kind, "message": message}
    assert body["request_id"].startswith("req_")


def test_a_wrong_key_is_an_authentication_error_in_the_sdk(fake: FakeAnthropic) -> None:
    base_url = fake.base_url.removesuffix("/v1")
    client = anthropic.Anthropic(base_url=base_url, api_key="wrong", max_retries=0)
    with client, pytest.raises(anthropic.AuthenticationError) as caught:
        client.messages.create(**ask())
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "Invalid bearer token"},
        "request_id": caught.value.request_id,
    }


def test_without_a_configured_key_any_key_passes_but_one_is_required() -> None:
    with running_anthropic() as fake:
        assert raw(fake, ask(), headers="x-api-key: anything\r\nanthropic-version: 2023-06-01\r\n")[0] == 200
        assert raw(fake, ask(), headers="anthropic-version: 2023-06-01\r\n")[0] == 401


# --------------------------------------------------------------------------------------------------
# Bodies the API refuses: status and the API's own message

TOOL_TURN = [
    {"role": "user", "content": "weather?"},
    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_time", "input": {}}]},
]
RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "noon"}


def messages(*turns: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 2048, "messages": list(turns), "tools": anthropic_tools(WEATHER_TOOLS)}


REFUSED: dict[str, tuple[Any, int, str]] = {
    "missing max_tokens": (
        {"model": MODEL, "messages": [{"role": "user", "content": "x"}]},
        400,
        "max_tokens: Field required",
    ),
    "missing model": ({"max_tokens": 5, "messages": []}, 400, "model: Field required"),
    "chat field left in": (
        ask(stream_options={"include_usage": True}),
        400,
        "stream_options: Extra inputs are not permitted",
    ),
    "chat message field left in": (
        messages({"role": "user", "content": "x", "name": "bob"}),
        400,
        "messages.0.name: Extra inputs are not permitted",
    ),
    "system role in messages": (
        messages({"role": "system", "content": "x"}),
        400,
        "messages.0.role: Input should be 'user' or 'assistant'",
    ),
    "no messages": (messages(), 400, "messages: at least one message is required"),
    "empty text block": (
        messages({"role": "user", "content": [{"type": "text", "text": ""}]}),
        400,
        "messages: text content blocks must be non-empty",
    ),
    "whitespace text block": (
        messages({"role": "user", "content": [{"type": "text", "text": "  \n"}]}),
        400,
        "messages: text content blocks must contain non-whitespace text",
    ),
    "empty assistant turn": (
        messages(
            {"role": "user", "content": "a"}, {"role": "assistant", "content": ""}, {"role": "user", "content": "b"}
        ),
        400,
        "messages.1: all messages must have non-empty content except for the optional final assistant message",
    ),
    "prefill with trailing space": (
        messages({"role": "user", "content": "a"}, {"role": "assistant", "content": "The answer is "}),
        400,
        "messages: final assistant content cannot end with trailing whitespace",
    ),
    "unknown block type": (
        messages({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}),
        400,
        "messages.0.content.0: Input tag 'image_url' found using 'type' does not match any of the expected tags:",
    ),
    "tool_use without its result": (
        messages(*TOOL_TURN, {"role": "user", "content": "and?"}),
        400,
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1. "
        "Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
    ),
    "tool_use at the end": (
        messages(*TOOL_TURN),
        400,
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1.",
    ),
    "tool_result without its use": (
        messages({"role": "user", "content": [RESULT]}),
        400,
        "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_1. "
        "Each `tool_result` block must have a corresponding `tool_use` block in the previous message.",
    ),
    "each result its own message": (
        messages(
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "get_time", "input": {}},
                    {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
                ],
            },
            {"role": "user", "content": [RESULT]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_2", "content": "noon"}]},
        ),
        400,
        'messages: roles must alternate between "user" and "assistant", but found multiple "user" roles in a row',
    ),
    "assistant first": (
        messages({"role": "assistant", "content": "hi"}, {"role": "user", "content": "x"}),
        400,
        'messages: first message must use the "user" role',
    ),
    "tool id from another provider": (
        messages(
            {"role": "user", "content": "q"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "functions.Bash:0", "name": "get_time", "input": {}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "functions.Bash:0", "content": "x"}]},
        ),
        400,
        "messages.1.content.0.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'",
    ),
    "chat-shaped tool": (
        ask(tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}]),
        400,
        "tools.0: Input tag 'function' found using 'type' does not match any of the expected tags: 'custom',",
    ),
    "duplicate tool names": (
        ask(tools=anthropic_tools(WEATHER_TOOLS) * 2),
        400,
        "tools: Tool names must be unique.",
    ),
    "tool without schema": (ask(tools=[{"name": "f"}]), 400, "tools.0.custom.input_schema: Field required"),
    "unknown tool named": (
        ask(tools=anthropic_tools(WEATHER_TOOLS), tool_choice={"type": "tool", "name": "nope"}),
        400,
        "tool_choice.tool.name: Tool 'nope' not found in the request's tools",
    ),
    "small thinking budget": (
        ask(thinking={"type": "enabled", "budget_tokens": 500}),
        400,
        "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
    ),
    "thinking budget over max_tokens": (
        {**ask(thinking={"type": "enabled", "budget_tokens": 4096}), "max_tokens": 4096},
        400,
        "`max_tokens` must be greater than `thinking.budget_tokens`.",
    ),
    "forced tool with thinking": (
        ask(tools=anthropic_tools(WEATHER_TOOLS), tool_choice={"type": "any"}, thinking={"type": "adaptive"}),
        400,
        "Thinking may not be enabled when tool_choice forces tool use.",
    ),
    "temperature above 1": (ask(temperature=1.5), 400, "temperature: Input should be less than or equal to 1"),
    "five cache breakpoints": (
        ask(system=[{"type": "text", "text": f"s{i}", "cache_control": {"type": "ephemeral"}} for i in range(5)]),
        400,
        "A maximum of 4 blocks with cache_control may be provided. Found 5.",
    ),
    "unknown model": ({**ask(), "model": "claude-nope"}, 404, "model: claude-nope"),
    "not json": (b"{nope", 400, "There was an error parsing the body of your request"),
}


@pytest.mark.parametrize(("body", "status", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_bodies_the_api_refuses(fake: FakeAnthropic, body: Any, status: int, message: str) -> None:
    got, answer = raw(fake, body)
    assert got == status
    assert answer["type"] == "error"
    assert answer["error"]["type"] == ("not_found_error" if status == 404 else "invalid_request_error")
    assert answer["error"]["message"].startswith(message)


def test_the_sdk_raises_bad_request_with_the_message(fake: FakeAnthropic) -> None:
    with sdk(fake) as client, pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model=MODEL, max_tokens=10, messages=[{"role": "user", "content": [{"type": "text", "text": ""}]}]
        )
    assert caught.value.body["error"]["message"] == "messages: text content blocks must be non-empty"  # type: ignore[index]


def test_combined_turns_accept_what_strict_turns_refuse() -> None:
    body = REFUSED["each result its own message"][0]
    with running_anthropic(strict_turns=False) as fake:
        status, answer = raw(fake, body, headers=HEADERS)
        assert status == 200
        assert answer["stop_reason"] in ("tool_use", "end_turn")
        assert raw(fake, messages({"role": "user", "content": "a"}, {"role": "user", "content": "b"}))[0] == 200
        # Combining does not excuse a result that answers nothing.
        assert raw(fake, REFUSED["tool_result without its use"][0])[0] == 400


# --------------------------------------------------------------------------------------------------
# Failures on demand, by status: each is the SDK's exception for it


@pytest.mark.parametrize(
    ("status", "error", "kind", "message"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error", "Simulated failure of the fake anthropic provider."),
        (401, anthropic.AuthenticationError, "authentication_error", "invalid x-api-key"),
        (403, anthropic.PermissionDeniedError, "permission_error", "Your API key does not have permission"),
        (404, anthropic.NotFoundError, "not_found_error", "Not found"),
        (413, anthropic.ContentTooLargeError, "request_too_large", "Request exceeds the maximum allowed number"),
        (429, anthropic.RateLimitError, "rate_limit_error", "This request would exceed your account's rate limit."),
        (500, anthropic.InternalServerError, "api_error", "Internal server error"),
        (529, anthropic.OverloadedError, "overloaded_error", "Overloaded"),
    ],
)
def test_injected_failures_are_the_sdks_error_classes(
    fake: FakeAnthropic, status: int, error: type[anthropic.APIStatusError], kind: str, message: str
) -> None:
    with sdk(fake) as client, pytest.raises(error) as caught:
        client.messages.create(**ask(), extra_headers={"x-fake-fail": str(status)})
    assert type(caught.value) is error
    assert caught.value.status_code == status
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["type"] == "error"
    assert body["error"]["type"] == kind
    assert body["error"]["message"].startswith(message)
    assert caught.value.response.headers.get("retry-after") == ("1" if status in (429, 529) else None)


def test_fail_status_attribute_covers_count_tokens_too(fake: FakeAnthropic) -> None:
    fake.fail_status = 529
    with sdk(fake) as client:
        with pytest.raises(anthropic.OverloadedError):
            client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "x"}])
        fake.fail_status = None
        assert client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "x"}]).input_tokens


def test_a_stream_that_breaks_off_ends_with_an_error_event(fake: FakeAnthropic) -> None:
    body = ask("tell me a long story please")
    events = streamed(fake, body, HEADERS + "x-fake-fail: midstream\r\n")
    assert events[0][0] == "message_start"
    assert events[-1] == ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    assert "message_stop" not in [n for n, _ in events]
    with (
        sdk(fake) as client,
        client.messages.stream(**body, extra_headers={"x-fake-fail": "midstream"}) as stream,
        pytest.raises(anthropic.APIStatusError) as caught,
    ):
        stream.until_done()
    assert caught.value.body == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def test_hang_up(fake: FakeAnthropic) -> None:
    with sdk(fake) as client:
        with pytest.raises(anthropic.APIConnectionError):
            client.messages.create(**ask(), extra_headers={"x-fake-fail": "close"})
        assert client.messages.create(**ask()).stop_reason == "end_turn"


# --------------------------------------------------------------------------------------------------
# Records, models, other paths


def test_records_what_arrived(fake: FakeAnthropic) -> None:
    with sdk(fake, default_headers={"X-Model-Affinity": "run-7"}) as client:
        client.messages.create(**ask("marker-42", tools=anthropic_tools(WEATHER_TOOLS)))
    [record] = fake.messages_requests
    assert (record.method, record.path) == ("POST", "/v1/messages")
    assert record.headers["x-model-affinity"] == "run-7"
    assert record.body["messages"][0]["content"] == "marker-42"
    assert record.body["tools"][0]["input_schema"]["required"] == ["city", "unit"]
    assert int(record.headers["content-length"]) == len(record.raw_body)


def test_models_lists_what_it_serves(fake: FakeAnthropic) -> None:
    with sdk(fake) as client:
        assert [m.id for m in client.models.list()] == [MODEL]


def test_other_models_when_configured() -> None:
    with running_anthropic(models=["claude-a", "claude-b"]) as fake:
        assert raw(fake, {**ask(), "model": "claude-b"})[0] == 200
        assert raw(fake, ask())[0] == 404


@pytest.mark.parametrize(
    ("request_bytes", "status", "kind"),
    [
        (b"GET /v1/complete HTTP/1.1\r\nHost: x\r\n\r\n", 404, "not_found_error"),
        (b"GET /v1/messages HTTP/1.1\r\nHost: x\r\n\r\n", 405, "invalid_request_error"),
        (b"this is not http\r\n\r\n", 400, "invalid_request_error"),
        (b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n", 413, "request_too_large"),
    ],
)
def test_other_paths_and_refused_requests_get_anthropic_errors(
    fake: FakeAnthropic, request_bytes: bytes, status: int, kind: str
) -> None:
    [(got, headers, body)] = parse_responses(exchange(fake.port, request_bytes))
    assert got == status
    assert headers["x-fake-provider"] == "anthropic"
    error = json.loads(body)
    assert error["type"] == "error"
    assert error["error"]["type"] == kind


# --------------------------------------------------------------------------------------------------
# As a process


def test_runs_as_a_process_with_a_ready_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    arguments = ["--api-key", KEY, "--model", MODEL, "--model", "claude-extra", "--cache-min-tokens", "10"]
    with fake_process("fake_anthropic", arguments, tmp_path) as running:
        base_url = running.info["base_url"].removesuffix("/v1")
        with anthropic.Anthropic(base_url=base_url, api_key=KEY, max_retries=0, timeout=10) as client:
            cached = {"type": "text", "text": "a system prompt of some length", "cache_control": {"type": "ephemeral"}}
            message = client.messages.create(**{**ask(system=[cached]), "model": "claude-extra"})
    assert message.model == "claude-extra"
    assert message.usage.cache_creation_input_tokens
    assert running.received[0]["body"]["model"] == "claude-extra"
