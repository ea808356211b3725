"""Anthropic responses → chat completions: JSON, SSE and errors (translation notes §2, §3, §5, §7.7-10, §7.13)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openai._streaming import SSEDecoder
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from translator_fixtures import JSON_HEADERS, anthropic_sse, read_sse, run

from brightstaff.core.outcome import ResponseStart
from brightstaff.providers.chat_from_messages import ChatFromMessages


def translator(include_usage: bool = False) -> ChatFromMessages:
    return ChatFromMessages(include_usage=include_usage, clock=lambda: 1700000000.5)


def message(content: list[dict[str, Any]], stop_reason: str | None = "end_turn", **usage: int) -> dict[str, Any]:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5, **usage},
    }


def completion(reply: dict[str, Any], finish: str, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "msg_01",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "claude-sonnet-4-5",
        "choices": [{"index": 0, "message": reply, "finish_reason": finish, "logprobs": None}],
        "usage": usage,
    }


USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "prompt_tokens_details": {"cached_tokens": 0}}
TOOL_A = {"type": "tool_use", "id": "toolu_a", "name": "f", "input": {"x": 1}}
TOOL_B = {"type": "tool_use", "id": "toolu_b", "name": "g", "input": {}}
CALL_A = {"id": "toolu_a", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}
CALL_B = {"id": "toolu_b", "type": "function", "function": {"name": "g", "arguments": "{}"}}

JSON_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "§7.7 text end_turn → stop; prompt = input + cache read + cache creation",
        message([{"type": "text", "text": "Hi"}], cache_read_input_tokens=100, cache_creation_input_tokens=20),
        completion(
            {"role": "assistant", "content": "Hi"},
            "stop",
            {
                "prompt_tokens": 130,
                "completion_tokens": 5,
                "total_tokens": 135,
                "prompt_tokens_details": {"cached_tokens": 100, "cache_creation_tokens": 20},
            },
        ),
    ),
    (
        "§7.7 every text block concatenated; [text, tool_use x2] → tool_calls with string arguments",
        message([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}, TOOL_A, TOOL_B], "tool_use"),
        completion({"role": "assistant", "content": "ab", "tool_calls": [CALL_A, CALL_B]}, "tool_calls", USAGE),
    ),
    (
        "§7.7 tool-only → content null",
        message([TOOL_A], "tool_use"),
        completion({"role": "assistant", "content": None, "tool_calls": [CALL_A]}, "tool_calls", USAGE),
    ),
    (
        "thinking → reasoning_content, thinking_blocks with the signature; reasoning tokens",
        {
            **message(
                [
                    {"type": "thinking", "thinking": "let me", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "xx"},
                    {"type": "text", "text": "42"},
                ]
            ),
            "usage": {"input_tokens": 10, "output_tokens": 5, "output_tokens_details": {"thinking_tokens": 3}},
        },
        completion(
            {
                "role": "assistant",
                "content": "42",
                "reasoning_content": "let me",
                "thinking_blocks": [
                    {"type": "thinking", "thinking": "let me", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "xx"},
                ],
            },
            "stop",
            {**USAGE, "completion_tokens_details": {"reasoning_tokens": 3}},
        ),
    ),
    (
        "server tool blocks and citations are not conversation text",
        message(
            [
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                {"type": "text", "text": "found", "citations": [{"type": "web_search_result_location"}]},
            ]
        ),
        completion({"role": "assistant", "content": "found"}, "stop", USAGE),
    ),
]


@pytest.mark.parametrize(("answer", "expected"), [c[1:] for c in JSON_CASES], ids=[c[0] for c in JSON_CASES])
def test_json(answer: dict[str, Any], expected: dict[str, Any]) -> None:
    start, out = run(translator(), [orjson.dumps(answer)], headers=JSON_HEADERS)
    assert start == ResponseStart(streamed=False, set_headers=(("content-type", "application/json"),))
    assert orjson.loads(out) == expected
    ChatCompletion.model_validate(orjson.loads(out))


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("model_context_window_exceeded", "length"),
        ("a_reason_added_later", "stop"),
        (None, "stop"),
    ],
)
def test_every_stop_reason(stop_reason: str | None, finish: str) -> None:
    _, out = run(translator(), [orjson.dumps(message([], stop_reason))], headers=JSON_HEADERS)
    assert orjson.loads(out)["choices"][0]["finish_reason"] == finish


def test_a_body_in_pieces_is_held_until_the_end() -> None:
    body = orjson.dumps(message([{"type": "text", "text": "Hi"}]))
    _, out = run(translator(), [body[:7], body[7:20], body[20:]], headers=JSON_HEADERS)
    assert orjson.loads(out)["choices"][0]["message"]["content"] == "Hi"


# -- streams ---------------------------------------------------------------------------------------

MESSAGE_START = {
    "type": "message_start",
    "message": {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 20,
            "output_tokens": 1,
        },
    },
}


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def delta(index: int, **fields: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": fields}


def block_stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def message_delta(stop_reason: str, output_tokens: int, **usage: int) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        "usage": {"output_tokens": output_tokens, **usage},
    }


STOP = {"type": "message_stop"}
PING = {"type": "ping"}

# thinking at block 0, text at 1, tools at blocks 2 and 3 (tool indices 0 and 1), usage sent twice.
FULL = anthropic_sse(
    MESSAGE_START,
    PING,
    block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
    delta(0, type="thinking_delta", thinking="hmm"),
    delta(0, type="signature_delta", signature="sig"),
    block_stop(0),
    block_start(1, {"type": "text", "text": ""}),
    delta(1, type="text_delta", text="Hé "),
    delta(1, type="citations_delta", citation={"type": "char_location"}),
    delta(1, type="text_delta", text="日本"),
    block_stop(1),
    block_start(2, {"type": "tool_use", "id": "toolu_a", "name": "f", "input": {}}),
    delta(2, type="input_json_delta", partial_json=""),
    delta(2, type="input_json_delta", partial_json='{"x":'),
    delta(2, type="input_json_delta", partial_json="1}"),
    block_stop(2),
    block_start(3, {"type": "tool_use", "id": "toolu_b", "name": "g", "input": {}}),
    delta(3, type="input_json_delta", partial_json=""),
    block_stop(3),
    message_delta("tool_use", 20),
    message_delta("tool_use", 25, input_tokens=10),
    STOP,
)

HEAD = {"id": "msg_01", "object": "chat.completion.chunk", "created": 1700000000, "model": "claude-sonnet-4-5"}


def chunk(delta: dict[str, Any], finish: str | None = None) -> tuple[None, dict[str, Any]]:
    return None, {**HEAD, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def tool(index: int, **fields: Any) -> dict[str, Any]:
    return {"tool_calls": [{"index": index, **fields}]}


FULL_CHUNKS = [
    chunk({"role": "assistant", "content": ""}),
    (None, "ping"),  # the SSE comment is not an event: listed here only to keep the order readable
    chunk({"reasoning_content": "hmm"}),
    chunk({"content": "Hé "}),
    chunk({"content": "日本"}),
    chunk(tool(0, id="toolu_a", type="function", function={"name": "f", "arguments": ""})),
    chunk(tool(0, function={"arguments": '{"x":'})),
    chunk(tool(0, function={"arguments": "1}"})),
    chunk(tool(1, id="toolu_b", type="function", function={"name": "g", "arguments": ""})),
    chunk(tool(1, function={"arguments": "{}"})),
    chunk({}, "tool_calls"),
]
FINAL_USAGE = {
    "prompt_tokens": 130,
    "completion_tokens": 25,
    "total_tokens": 155,
    "prompt_tokens_details": {"cached_tokens": 100, "cache_creation_tokens": 20},
}


def test_stream_without_include_usage() -> None:
    """§7.8: role once, one id throughout, tools 0 and 1 from blocks 2 and 3, "{}" for an empty tool, one finish."""
    start, out = run(translator(), [FULL])
    assert start == ResponseStart(streamed=True, remove_headers=("content-length",))
    expected = [e for e in FULL_CHUNKS if e[1] != "ping"] + [(None, "[DONE]")]
    assert read_sse(out) == expected
    assert b": ping\n\n" in out


def test_stream_with_include_usage_not_double_counted() -> None:
    """§7.8 usage chunk only when asked; §7.10 message_delta usage sent twice is not added up."""
    _, out = run(translator(include_usage=True), [FULL])
    translated = read_sse(out)
    assert translated[-2] == (None, {**HEAD, "choices": [], "usage": FINAL_USAGE})
    assert translated[-1] == (None, "[DONE]")
    assert [
        e for e in translated if isinstance(e[1], dict) and e[1]["choices"] and e[1]["choices"][0]["finish_reason"]
    ] == [chunk({}, "tool_calls")]


def test_the_openai_sdk_accumulates_the_translated_stream() -> None:
    _, out = run(translator(include_usage=True), [FULL])
    state = ChatCompletionStreamState()
    for sse in SSEDecoder().iter_bytes(iter([out])):
        if sse.data.startswith("[DONE]"):
            break
        state.handle_chunk(ChatCompletionChunk.model_validate(sse.json()))
    final = state.get_final_completion()
    choice = final.choices[0]
    assert choice.message.content == "Hé 日本"
    assert choice.finish_reason == "tool_calls"
    assert [(c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls or []] == [
        ("toolu_a", "f", '{"x":1}'),
        ("toolu_b", "g", "{}"),
    ]
    assert final.usage is not None and final.usage.prompt_tokens == 130


def test_mid_stream_error_ends_with_an_error_object_and_done() -> None:
    """§7.10: an `error` event after the 200 → data: {"error": ...} (openai raises APIError), then [DONE]."""
    stream = anthropic_sse(
        MESSAGE_START,
        block_start(0, {"type": "text", "text": ""}),
        delta(0, type="text_delta", text="Hi"),
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        STOP,
    )
    translated = read_sse(run(translator(include_usage=True), [stream])[1])
    assert translated[-2:] == [
        (None, {"error": {"message": "Overloaded", "type": "overloaded_error", "param": None, "code": None}}),
        (None, "[DONE]"),
    ]
    assert translated[:2] == [chunk({"role": "assistant", "content": ""}), chunk({"content": "Hi"})]


def test_a_stream_cut_before_message_stop_is_an_error() -> None:
    stream = anthropic_sse(
        MESSAGE_START, block_start(0, {"type": "text", "text": ""}), delta(0, type="text_delta", text="Hi")
    )
    translated = read_sse(run(translator(), [stream])[1])
    assert translated[-2][1]["error"]["type"] == "api_error"
    assert translated[-1] == (None, "[DONE]")


def test_a_ping_only_gap_and_unknown_events_send_nothing_but_the_comment() -> None:
    stream = anthropic_sse(MESSAGE_START, {"type": "some_future_event", "x": 1}, message_delta("end_turn", 1), STOP)
    translated = read_sse(run(translator(), [stream])[1])
    assert translated == [chunk({"role": "assistant", "content": ""}), chunk({}, "stop"), (None, "[DONE]")]


def test_nothing_is_sent_after_done() -> None:
    stream = anthropic_sse(MESSAGE_START, STOP)
    t = translator()
    t.start(200, {"content-type": "text/event-stream"})
    assert t.body(stream, False).endswith(b"data: [DONE]\n\n")
    assert t.body(anthropic_sse(delta(0, type="text_delta", text="late")), True) == b""


def test_a_malformed_event_ends_the_stream_with_an_error() -> None:
    out = run(translator(), [anthropic_sse(MESSAGE_START) + b"event: content_block_delta\ndata: {bad\n\n"])[1]
    translated = read_sse(out)
    assert translated[-2][1]["error"]["message"] == "brightstaff could not translate the provider's stream."
    assert translated[-1] == (None, "[DONE]")


# -- errors (§5, §7.13) -----------------------------------------------------------------------------


def anthropic_error(kind: str, text: str) -> bytes:
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": text}, "request_id": "req_1"})


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (429, anthropic_error("rate_limit_error", "slow"), ("slow", "rate_limit_error", "rate_limit_error")),
        (529, anthropic_error("overloaded_error", "Overloaded"), ("Overloaded", "server_error", "overloaded_error")),
        (
            400,
            anthropic_error("invalid_request_error", "bad"),
            ("bad", "invalid_request_error", "invalid_request_error"),
        ),
        (401, anthropic_error("authentication_error", "key"), ("key", "authentication_error", "authentication_error")),
        (
            413,
            b"<html>413 Request Entity Too Large</html>",
            ("<html>413 Request Entity Too Large</html>", "invalid_request_error", None),
        ),
        (503, b"upstream connect error", ("upstream connect error", "server_error", None)),
        (500, b"", ("The provider answered 500 Internal Server Error with no body.", "server_error", None)),
    ],
)
def test_errors_keep_their_status_in_the_openai_shape(
    status: int, body: bytes, expected: tuple[str, str, str | None]
) -> None:
    start, out = run(
        translator(), [body], status=status, headers={"content-type": "application/json", "retry-after": "3"}
    )
    assert start == ResponseStart(streamed=False, set_headers=(("content-type", "application/json"),))
    message, kind, code = expected
    assert orjson.loads(out) == {"error": {"message": message, "type": kind, "param": None, "code": code}}


def test_a_compressed_response_becomes_an_openai_error() -> None:
    t = translator()
    start = t.start(200, {"content-type": "application/json", "content-encoding": "gzip"})
    assert start.remove_headers == ("content-encoding",)
    assert orjson.loads(t.body(b"\x1f\x8b", True))["error"]["type"] == "server_error"
