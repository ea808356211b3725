"""The fake OpenAI provider's Responses API: the official openai SDK's `responses.create` (plain and streamed),
`responses.stream`, `responses.parse`, a function-call round trip, `previous_response_id`, its checks
with the real API's messages, cached tokens, and a stream that breaks off.

Every response object and stream event is also validated strictly (pydantic validation, not the SDK's
lenient construction) against the SDK's own types, every function call's arguments against its tool's
schema, and at the end of each test every accepted request's plan is re-checked
(demo_loop.running_provider).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from demo_loop import running_provider
from openai import OpenAI
from openai.types.responses import Response, ResponseFunctionToolCall, ResponseStreamEvent
from pydantic import BaseModel, TypeAdapter
from raw_http import exchange, parse_responses, post
from schema_table import check
from tool_specs import DEMO_TOOLS, WEATHER_TOOLS, responses_tools

from brightstaff.demo.fake_provider import FakeProvider
from brightstaff.demo.scripted_model import DEMO_ANSWER

EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
TOOLS = responses_tools(WEATHER_TOOLS)


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with running_provider("openai") as fake:
        yield fake


def sdk(provider: FakeProvider) -> OpenAI:
    return OpenAI(base_url=provider.base_url, api_key="sk-test", max_retries=0, timeout=10)


def raw(provider: FakeProvider, body: Any) -> tuple[int, Any]:
    [(status, _, answer)] = parse_responses(exchange(provider.port, post("/v1/responses", json.dumps(body).encode())))
    return status, json.loads(answer)


def streamed(provider: FakeProvider, body: dict[str, Any], extra: str = "") -> list[dict[str, Any]]:
    """The data of each event of a streamed answer; every one a valid SDK stream event named by its type."""
    data = post("/v1/responses", json.dumps({**body, "stream": True}).encode(), extra)
    [(status, headers, payload)] = parse_responses(exchange(provider.port, data))
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    events = []
    for block in payload.decode().split("\n\n"):
        if block:
            name_line, data_line = block.split("\n")
            event = json.loads(data_line.removeprefix("data: "))
            assert name_line == f"event: {event['type']}"
            EVENTS.validate_python(event)
            events.append(event)
    return events


def calls_valid(response: Response, tools: list[Any]) -> list[ResponseFunctionToolCall]:
    schemas = {t["name"]: t["parameters"] for t in tools}
    calls = [item for item in response.output if isinstance(item, ResponseFunctionToolCall)]
    for call in calls:
        check(schemas[call.name], json.loads(call.arguments))
    return calls


# --------------------------------------------------------------------------------------------------
# Through the official SDK


def test_string_input_gets_the_real_response_object(provider: FakeProvider) -> None:
    with sdk(provider) as client:
        raw_response = client.responses.with_raw_response.create(
            model="gpt-4o", input="hello there", instructions="Be brief.", metadata={"run": "7"}
        )
        response = raw_response.parse()
    Response.model_validate(json.loads(raw_response.text))
    assert raw_response.headers["x-fake-provider"] == "openai"
    assert response.id.startswith("resp_")
    assert (response.object, response.status, response.model) == ("response", "completed", "gpt-4o")
    assert response.instructions == "Be brief."
    assert response.metadata == {"run": "7"}
    assert (response.error, response.incomplete_details) == (None, None)
    [message] = response.output
    assert message.type == "message"
    assert message.id.startswith("msg_")
    assert (message.role, message.status) == ("assistant", "completed")
    assert "hello there" in response.output_text
    usage = response.usage
    assert usage is not None
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert (usage.input_tokens_details.cached_tokens, usage.output_tokens_details.reasoning_tokens) == (0, 0)


def test_item_list_input_with_roles_and_parts(provider: FakeProvider) -> None:
    items: Any = [
        {"role": "developer", "content": "Answer in one line."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "first question"}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "first answer"}]},
        {"role": "user", "content": "second question"},
    ]
    with sdk(provider) as client:
        response = client.responses.create(model="gpt-4o", input=items)
    assert "You sent 4 message(s); the last user message was: second question" in response.output_text


def test_function_call_round_trip_with_function_call_output(provider: FakeProvider) -> None:
    tools = responses_tools(DEMO_TOOLS)
    items: list[Any] = [{"role": "user", "content": "pick a database"}]
    seen = []
    with sdk(provider) as client:
        for _ in range(6):
            response = client.responses.create(model="gpt-4o", input=items, tools=tools)
            calls = calls_valid(response, tools)
            if not calls:
                assert response.output_text == DEMO_ANSWER
                break
            assert all(c.call_id.startswith("call_") and (c.id or "").startswith("fc_") for c in calls)
            seen.append([(c.name, json.loads(c.arguments)) for c in calls])
            items += [item.model_dump(exclude_none=True) for item in response.output]
            items += [{"type": "function_call_output", "call_id": c.call_id, "output": "{}"} for c in calls]
    assert seen == [
        [("get_db_benchmarks", {"workload": "read-heavy"}), ("get_db_benchmarks", {"workload": "write-heavy"})],
        [("get_case_studies", {"database": "postgresql"}), ("get_case_studies", {"database": "mongodb"})],
        [("check_feature_support", {"database": "mongodb", "feature": "multi-document ACID transactions"})],
    ]


def test_the_same_conversation_gets_the_same_call_ids_as_chat(provider: FakeProvider) -> None:
    with sdk(provider) as client:
        response = client.responses.create(model="gpt-4o", input="weather?", tools=TOOLS)
        chat = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "weather?"}], tools=WEATHER_TOOLS
        )
    [call] = calls_valid(response, TOOLS)
    [chat_call] = chat.choices[0].message.tool_calls or []
    assert call.call_id == chat_call.id
    assert call.arguments == chat_call.function.arguments  # type: ignore[union-attr]


def test_previous_response_id_continues_a_stored_response(provider: FakeProvider) -> None:
    with sdk(provider) as client:
        first = client.responses.create(model="gpt-4o", input="weather?", tools=TOOLS)
        [call] = calls_valid(first, TOOLS)
        second = client.responses.create(
            model="gpt-4o",
            previous_response_id=first.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
            tools=TOOLS,
        )
        [time_call] = calls_valid(second, TOOLS)
        assert time_call.name == "get_time"
        assert second.previous_response_id == first.id
        # Two hops back: the model sees the whole conversation, both results included.
        third = client.responses.create(
            model="gpt-4o",
            previous_response_id=second.id,
            input=[{"type": "function_call_output", "call_id": time_call.call_id, "output": "noon"}],
            tools=TOOLS,
        )
        assert third.output_text == "Done: gpt-4o used 2 tool result(s) to answer."
        assert client.responses.retrieve(first.id).output == first.output
        unstored = client.responses.create(model="gpt-4o", input="x", store=False)
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(unstored.id)


def test_tool_choice_and_parallel_tool_calls_are_obeyed(provider: FakeProvider) -> None:
    demo = responses_tools(DEMO_TOOLS)
    with sdk(provider) as client:
        none = client.responses.create(model="m", input="q", tools=TOOLS, tool_choice="none")
        named = client.responses.create(
            model="m", input="q", tools=TOOLS, tool_choice={"type": "function", "name": "get_time"}
        )
        single = client.responses.create(model="m", input="q", tools=demo, parallel_tool_calls=False)
    assert [item.type for item in none.output] == ["message"]
    assert [c.name for c in calls_valid(named, TOOLS)] == ["get_time"]
    assert named.tool_choice.type == "function"  # type: ignore[union-attr]
    assert len(calls_valid(single, demo)) == 1
    assert single.parallel_tool_calls is False


class Verdict(BaseModel):
    winner: str
    confidence: float


def test_parse_with_a_text_format_gets_the_pydantic_object(provider: FakeProvider) -> None:
    with sdk(provider) as client:
        response = client.responses.parse(model="gpt-4o", input="decide", text_format=Verdict)
    assert isinstance(response.output_parsed, Verdict)
    sent = provider.responses_requests[-1].body["text"]["format"]
    assert (sent["type"], sent["name"], sent["strict"]) == ("json_schema", "Verdict", True)


def test_max_output_tokens_makes_the_response_incomplete(provider: FakeProvider) -> None:
    with sdk(provider) as client:
        response = client.responses.create(model="gpt-4o", input="say a lot", max_output_tokens=16)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert len(response.output_text) <= 64
    events = streamed(provider, {"model": "gpt-4o", "input": "say a lot", "max_output_tokens": 16})
    assert events[-1]["type"] == "response.incomplete"


# --------------------------------------------------------------------------------------------------
# Streaming


def test_stream_has_the_real_event_sequence(provider: FakeProvider) -> None:
    events = streamed(provider, {"model": "gpt-4o", "input": "tell me something"})
    kinds = [e["type"] for e in events]
    deltas = kinds.count("response.output_text.delta")
    assert deltas > 3
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * deltas,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[0]["response"]["status"] == "in_progress"
    assert events[0]["response"]["output"] == []
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert events[-4]["text"] == text
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == text


def test_streamed_function_calls_arrive_as_argument_deltas(provider: FakeProvider) -> None:
    demo = responses_tools(DEMO_TOOLS)
    events = streamed(provider, {"model": "gpt-4o", "input": "go", "tools": demo})
    kinds = [e["type"] for e in events]
    assert kinds.count("response.output_item.added") == kinds.count("response.output_item.done") == 2
    assert "response.content_part.added" not in kinds
    for index in (0, 1):
        pieces = [
            e["delta"]
            for e in events
            if e["type"] == "response.function_call_arguments.delta" and e["output_index"] == index
        ]
        [done] = [
            e for e in events if e["type"] == "response.function_call_arguments.done" and e["output_index"] == index
        ]
        assert len(pieces) > 1
        assert "".join(pieces) == done["arguments"]
        check(demo[0]["parameters"], json.loads(done["arguments"]))
    added = [e["item"] for e in events if e["type"] == "response.output_item.added"]
    assert [(i["type"], i["status"], i["arguments"]) for i in added] == [("function_call", "in_progress", "")] * 2


def test_sdk_stream_and_create_stream_agree_with_the_plain_answer(provider: FakeProvider) -> None:
    with sdk(provider) as client:
        plain = client.responses.create(model="gpt-4o", input="weather?", tools=TOOLS)
        with client.responses.stream(model="gpt-4o", input="weather?", tools=TOOLS) as stream:
            kinds = [event.type for event in stream]
            final = stream.get_final_response()
        created = list(client.responses.create(model="gpt-4o", input="weather?", tools=TOOLS, stream=True))
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    assert [(c.name, c.arguments, c.call_id) for c in calls_valid(final, TOOLS)] == [
        (c.name, c.arguments, c.call_id) for c in calls_valid(plain, TOOLS)
    ]
    assert created[-1].type == "response.completed"
    assert created[-1].response.output[0].type == "function_call"


def test_a_stream_that_breaks_off_ends_with_response_failed(provider: FakeProvider) -> None:
    events = streamed(provider, {"model": "gpt-4o", "input": "tell me a long story"}, "x-fake-fail: midstream\r\n")
    assert events[0]["type"] == "response.created"
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["status"] == "failed"
    assert events[-1]["response"]["error"]["code"] == "server_error"
    assert "response.completed" not in [e["type"] for e in events]


def test_a_chat_stream_that_breaks_off_raises_in_the_sdk(provider: FakeProvider) -> None:
    with (
        sdk(provider) as client,
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "a long story please"}],
            stream=True,
            extra_headers={"x-fake-fail": "midstream"},
        ) as stream,
        pytest.raises(openai.APIError, match="The server had an error"),
    ):
        list(stream)


# --------------------------------------------------------------------------------------------------
# Prompt caching


def test_a_repeated_long_prefix_is_read_from_the_cache(provider: FakeProvider) -> None:
    instructions = "Follow the handbook. " * 300
    with sdk(provider) as client:
        first = client.responses.create(model="gpt-4o", instructions=instructions, input="one")
        second = client.responses.create(model="gpt-4o", instructions=instructions, input="two")
        other_key = client.responses.create(
            model="gpt-4o", instructions=instructions, input="three", prompt_cache_key="elsewhere"
        )
    assert first.usage is not None
    assert second.usage is not None
    assert other_key.usage is not None
    assert first.usage.input_tokens_details.cached_tokens == 0
    assert first.usage.input_tokens_details.cache_write_tokens >= 1024
    assert second.usage.input_tokens_details.cached_tokens >= 1024
    assert other_key.usage.input_tokens_details.cached_tokens == 0
    assert other_key.prompt_cache_key == "elsewhere"


# --------------------------------------------------------------------------------------------------
# What the API refuses

BASE = {"model": "gpt-4o", "input": "q"}
CALL = {"type": "function_call", "call_id": "call_1", "name": "get_time", "arguments": "{}"}
REFUSED: dict[str, tuple[Any, str, str | None, str | None]] = {
    "chat parameter": ({**BASE, "messages": []}, "Unknown parameter: 'messages'.", "unknown_parameter", "messages"),
    "no model": ({"input": "q"}, "Missing required parameter: 'model'.", "missing_required_parameter", "model"),
    "no input": ({"model": "gpt-4o"}, "Missing required parameter: 'input'.", "missing_required_parameter", "input"),
    "chat-shaped tool": (
        {**BASE, "tools": WEATHER_TOOLS},
        "Missing required parameter: 'tools[0].name'.",
        "missing_required_parameter",
        "tools[0].name",
    ),
    "unknown item type": (
        {**BASE, "input": [{"type": "tool_result", "content": "x"}]},
        "Invalid value: 'tool_result'. Supported values are: 'message', 'function_call',",
        "invalid_value",
        "input[0].type",
    ),
    "unknown role": (
        {**BASE, "input": [{"role": "tool", "content": "x"}]},
        "Invalid value: 'tool'. Supported values are: 'assistant', 'system', 'developer', and 'user'.",
        "invalid_value",
        "input[0].role",
    ),
    "user output part": (
        {**BASE, "input": [{"role": "user", "content": [{"type": "output_text", "text": "x"}]}]},
        "Invalid value: 'output_text'. Supported values are: 'input_text', 'input_image', 'input_file', and",
        "invalid_value",
        "input[0].content[0]",
    ),
    "call without output": (
        {**BASE, "input": [{"role": "user", "content": "q"}, CALL]},
        "No tool output found for function call call_1.",
        None,
        "input",
    ),
    "output without call": (
        {**BASE, "input": [{"type": "function_call_output", "call_id": "call_9", "output": "x"}]},
        "No tool call found for function call output with call_id call_9.",
        None,
        "input",
    ),
    "unknown previous response": (
        {**BASE, "previous_response_id": "resp_nope"},
        "Previous response with id 'resp_nope' not found.",
        "previous_response_not_found",
        "previous_response_id",
    ),
    "named tool missing": (
        {**BASE, "tools": TOOLS, "tool_choice": {"type": "function", "name": "nope"}},
        "Tool choice 'nope' not found in 'tools' parameter.",
        None,
        "tool_choice",
    ),
    "too few output tokens": (
        {**BASE, "max_output_tokens": 5},
        "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got 5 instead.",
        "integer_below_min_value",
        "max_output_tokens",
    ),
    "schema without name": (
        {**BASE, "text": {"format": {"type": "json_schema", "schema": {"type": "object"}}}},
        "Missing required parameter: 'text.format.name'.",
        "missing_required_parameter",
        "text.format.name",
    ),
}


@pytest.mark.parametrize(("body", "message", "code", "param"), REFUSED.values(), ids=REFUSED.keys())
def test_bodies_the_api_refuses(
    provider: FakeProvider, body: Any, message: str, code: str | None, param: str | None
) -> None:
    status, answer = raw(provider, body)
    assert status == 400
    error = answer["error"]
    assert error["message"].startswith(message)
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, param)


def test_the_sdk_raises_bad_request_with_the_param(provider: FakeProvider) -> None:
    with sdk(provider) as client, pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input="q", tools=WEATHER_TOOLS)
    assert caught.value.param == "tools[0].name"
    assert caught.value.code == "missing_required_parameter"


def test_injected_statuses_are_the_sdks_error_classes(provider: FakeProvider) -> None:
    with sdk(provider) as client:
        with pytest.raises(openai.RateLimitError) as limited:
            client.responses.create(model="gpt-4o", input="q", extra_headers={"x-fake-fail": "429"})
        with pytest.raises(openai.InternalServerError):
            client.responses.create(model="gpt-4o", input="q", extra_headers={"x-fake-fail": "500"})
        with pytest.raises(openai.APIConnectionError):
            client.responses.create(model="gpt-4o", input="q", extra_headers={"x-fake-fail": "close"})
    assert limited.value.response.headers["retry-after"] == "1"
    assert limited.value.code == "fake_failure"
