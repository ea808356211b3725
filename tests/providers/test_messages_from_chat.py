"""Chat completions responses → Anthropic Messages: JSON, SSE and errors (translation notes §4, §5, §7.12-13)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message
from translator_fixtures import JSON_HEADERS, openai_sse, read_sse, run

from brightstaff.core.outcome import ResponseStart
from brightstaff.providers.messages_from_chat import MessagesFromChat
from brightstaff.providers.tool_naming import short_tool_name, tool_id

LONG_NAME = "mcp__a_very_long_server_name__and_an_even_longer_tool_name_for_reading"


def translator() -> MessagesFromChat:
    return MessagesFromChat(tool_names={short_tool_name(LONG_NAME): LONG_NAME})


def completion(message: dict[str, Any], finish: str | None, usage: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "llama-3",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
        "usage": usage or {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def anthropic_message(content: list[dict[str, Any]], stop_reason: str, **usage: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "type": "message",
        "role": "assistant",
        "model": "llama-3",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 5,
            **usage,
        },
    }


def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


JSON_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "text, stop → end_turn; input = prompt − cached",
        completion(
            {"content": "Hi"},
            "stop",
            {"prompt_tokens": 100, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 80}},
        ),
        anthropic_message([{"type": "text", "text": "Hi"}], "end_turn", input_tokens=20, cache_read_input_tokens=80),
    ),
    (
        "reasoning, then text, then tool calls; ids made valid; names restored; bad arguments → {}",
        completion(
            {
                "content": "Running.",
                "reasoning_content": "think",
                "tool_calls": [
                    call("functions.Bash:0", "Bash", '{"cmd":"ls"}'),
                    call("call_2", short_tool_name(LONG_NAME), "{bad"),
                    call("call_3", "g", ""),
                ],
            },
            "tool_calls",
        ),
        anthropic_message(
            [
                {"type": "thinking", "thinking": "think", "signature": ""},
                {"type": "text", "text": "Running."},
                {"type": "tool_use", "id": tool_id("functions.Bash:0"), "name": "Bash", "input": {"cmd": "ls"}},
                {"type": "tool_use", "id": "call_2", "name": LONG_NAME, "input": {}},
                {"type": "tool_use", "id": "call_3", "name": "g", "input": {}},
            ],
            "tool_use",
        ),
    ),
    (
        "tool calls answered with finish stop → tool_use; empty content is no text block",
        completion({"content": "", "tool_calls": [call("c", "f", "{}")]}, "stop"),
        anthropic_message([{"type": "tool_use", "id": "c", "name": "f", "input": {}}], "tool_use"),
    ),
    (
        "length → max_tokens",
        completion({"content": "…"}, "length"),
        anthropic_message([{"type": "text", "text": "…"}], "max_tokens"),
    ),
    (
        "content_filter → refusal; the refusal text kept",
        completion({"content": None, "refusal": "I can't."}, "content_filter"),
        anthropic_message([{"type": "text", "text": "I can't."}], "refusal"),
    ),
    (
        "no usage, no choices",
        {"id": "chatcmpl-1", "model": "llama-3", "choices": []},
        {
            **anthropic_message([], "end_turn"),
            "usage": {
                "input_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 0,
            },
        },
    ),
]


@pytest.mark.parametrize(("answer", "expected"), [c[1:] for c in JSON_CASES], ids=[c[0] for c in JSON_CASES])
def test_json(answer: dict[str, Any], expected: dict[str, Any]) -> None:
    start, out = run(translator(), [orjson.dumps(answer)], headers=JSON_HEADERS)
    assert start == ResponseStart(streamed=False, set_headers=(("content-type", "application/json"),))
    assert orjson.loads(out) == expected
    Message.model_validate(orjson.loads(out))


# -- streams ---------------------------------------------------------------------------------------


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choices: Any = [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "llama-3",
        "choices": choices,
        **extra,
    }


def tool_chunk(index: int, **fields: Any) -> dict[str, Any]:
    return chunk({"tool_calls": [{"index": index, **fields}]})


USAGE_CHUNK = chunk(usage={"prompt_tokens": 30, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 10}})
USAGE_CHUNK["choices"] = []

FULL = openai_sse(
    chunk({"role": "assistant", "content": ""}),
    chunk({"reasoning_content": "hmm"}),
    chunk({"content": "Hé "}),
    chunk({"content": "日本"}),
    tool_chunk(0, id="call_a", type="function", function={"name": "f", "arguments": ""}),
    tool_chunk(0, function={"arguments": '{"x":'}),
    tool_chunk(0, function={"arguments": "1}"}),
    tool_chunk(
        1, id="functions.g:1", type="function", function={"name": short_tool_name(LONG_NAME), "arguments": "{}"}
    ),
    chunk({}, "tool_calls"),
    USAGE_CHUNK,
    "[DONE]",
)


def start_event() -> tuple[str, dict[str, Any]]:
    message: dict[str, Any] = {
        "id": "chatcmpl-1",
        "type": "message",
        "role": "assistant",
        "model": "llama-3",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0},
    }
    return "message_start", {"type": "message_start", "message": message}


def block_start(index: int, block: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}


def delta(index: int, **fields: Any) -> tuple[str, dict[str, Any]]:
    return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": fields}


def block_stop(index: int) -> tuple[str, dict[str, Any]]:
    return "content_block_stop", {"type": "content_block_stop", "index": index}


def finish(
    stop_reason: str, input_tokens: int = 0, output_tokens: int = 0, cached: int = 0
) -> list[tuple[str, dict[str, Any]]]:
    usage = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "output_tokens": output_tokens,
    }
    return [
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None}, "usage": usage},
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


FULL_EVENTS = [
    start_event(),
    block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
    delta(0, type="thinking_delta", thinking="hmm"),
    block_stop(0),
    block_start(1, {"type": "text", "text": ""}),
    delta(1, type="text_delta", text="Hé "),
    delta(1, type="text_delta", text="日本"),
    block_stop(1),
    block_start(2, {"type": "tool_use", "id": "call_a", "name": "f", "input": {}}),
    delta(2, type="input_json_delta", partial_json='{"x":'),
    delta(2, type="input_json_delta", partial_json="1}"),
    block_stop(2),
    block_start(3, {"type": "tool_use", "id": tool_id("functions.g:1"), "name": LONG_NAME, "input": {}}),
    delta(3, type="input_json_delta", partial_json="{}"),
    block_stop(3),
    *finish("tool_use", input_tokens=20, output_tokens=7, cached=10),
]


def test_stream() -> None:
    """§7.12: message_start first, indices 0..n, a stop per block, one message_delta with usage, message_stop last."""
    start, out = run(translator(), [FULL])
    assert start == ResponseStart(streamed=True, remove_headers=("content-length",))
    assert read_sse(out) == FULL_EVENTS


def accumulate(stream: bytes) -> Message:
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for name, payload in read_sse(stream):
        assert name == payload["type"]
        snapshot = accumulate_event(event=payload, current_snapshot=snapshot, json_bufs=json_bufs)
    assert snapshot is not None
    return Message.model_validate(snapshot.to_dict())


def test_the_anthropic_sdk_accumulates_the_translated_stream() -> None:
    message = accumulate(run(translator(), [FULL])[1])
    assert [block.type for block in message.content] == ["thinking", "text", "tool_use", "tool_use"]
    assert message.content[1].type == "text" and message.content[1].text == "Hé 日本"
    tools = [(b.id, b.name, b.input) for b in message.content if b.type == "tool_use"]
    assert tools == [("call_a", "f", {"x": 1}), (tool_id("functions.g:1"), LONG_NAME, {})]
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.output_tokens, message.usage.cache_read_input_tokens) == (
        20,
        7,
        10,
    )


def test_a_combined_content_and_finish_chunk_keeps_its_content() -> None:
    stream = openai_sse(chunk({"role": "assistant", "content": "All"}, "stop"), "[DONE]")
    assert read_sse(run(translator(), [stream])[1]) == [
        start_event(),
        block_start(0, {"type": "text", "text": ""}),
        delta(0, type="text_delta", text="All"),
        block_stop(0),
        *finish("end_turn"),
    ]


def test_usage_with_choices_null_closes_the_stream_and_nothing_follows() -> None:
    """vLLM's usage chunk has `choices: null`; a later [DONE] adds nothing after message_stop."""
    usage = chunk(usage={"prompt_tokens": 4, "completion_tokens": 2})
    usage["choices"] = None
    stream = openai_sse(chunk({"content": "x"}), chunk({}, "length"), usage, chunk({"content": "late"}), "[DONE]")
    events = read_sse(run(translator(), [stream])[1])
    assert events[-2:] == finish("max_tokens", input_tokens=4, output_tokens=2)
    assert accumulate(run(translator(), [stream])[1]).stop_reason == "max_tokens"


def test_a_done_only_stream_gets_a_minimal_envelope() -> None:
    for stream in (openai_sse("[DONE]"), b""):
        events = read_sse(run(translator(), [stream])[1])
        assert events[0][0] == "message_start"
        assert events[1:] == finish("end_turn")
        assert accumulate(run(translator(), [stream])[1]).content == []


def test_a_stream_ending_without_done_is_closed() -> None:
    stream = openai_sse(chunk({"content": "x"}), chunk({}, "stop"))
    events = read_sse(run(translator(), [stream])[1])
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_text_after_a_tool_call_opens_a_new_block() -> None:
    stream = openai_sse(
        tool_chunk(0, id="c", function={"name": "f", "arguments": "{}"}), chunk({"content": "done"}), "[DONE]"
    )
    names = [(n, p.get("index")) for n, p in read_sse(run(translator(), [stream])[1])]
    assert names[1:6] == [
        ("content_block_start", 0),
        ("content_block_delta", 0),
        ("content_block_stop", 0),
        ("content_block_start", 1),
        ("content_block_delta", 1),
    ]


@pytest.mark.parametrize(
    ("error", "status_type"),
    [
        ({"message": "context too long", "type": "BadRequestError", "code": 400}, "invalid_request_error"),
        ({"message": "boom"}, "api_error"),
        ("plain text error", "api_error"),
    ],
)
def test_mid_stream_error_becomes_an_error_event(error: Any, status_type: str) -> None:
    stream = openai_sse(chunk({"content": "x"}), {"error": error}, chunk({"content": "late"}), "[DONE]")
    events = read_sse(run(translator(), [stream])[1])
    name, payload = events[-1]
    assert name == "error"
    assert payload["type"] == "error"
    assert payload["error"]["type"] == status_type
    assert [n for n, _ in events].count("message_stop") == 0


# -- errors (§5, §7.13) -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (
            401,
            b'{"error":{"message":"Incorrect API key","type":"invalid_request_error","code":"invalid_api_key"}}',
            "authentication_error",
            "Incorrect API key",
        ),
        (413, b"Request Entity Too Large", "request_too_large", "Request Entity Too Large"),
        (
            429,
            b'{"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded"}}',
            "rate_limit_error",
            "Rate limit",
        ),
        (400, b'{"detail":"max_tokens too large"}', "invalid_request_error", "max_tokens too large"),
        (
            422,
            b'{"detail":[{"loc":["body","x"],"msg":"bad"}]}',
            "invalid_request_error",
            '[{"loc":["body","x"],"msg":"bad"}]',
        ),
        (404, b'{"error":"model not found"}', "not_found_error", "model not found"),
        (503, b'{"message":"unavailable"}', "api_error", "unavailable"),
        (529, b"", "overloaded_error", "The provider answered 529 with no body."),
    ],
)
def test_errors_keep_their_status_in_the_anthropic_shape(status: int, body: bytes, kind: str, message: str) -> None:
    start, out = run(translator(), [body], status=status, headers={"content-type": "text/plain", "retry-after": "1"})
    assert start == ResponseStart(streamed=False, set_headers=(("content-type", "application/json"),))
    assert orjson.loads(out) == {"type": "error", "error": {"type": kind, "message": message}}
