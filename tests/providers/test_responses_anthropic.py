"""Responses client → Anthropic backend: the request (through the chat translation, errors naming the
Responses field) and the answer (JSON, SSE, errors), each event checked against openai-python's types."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest
from responses_checks import START, item_kinds, kinds, response_object, stream_events
from test_chat_from_messages import FULL, MESSAGE_START, STOP, block_start, block_stop, delta, message, message_delta
from translator_fixtures import JSON_HEADERS, anthropic_sse, provider, run

from brightstaff.core.errors import ClientError
from brightstaff.core.responses import parse_responses
from brightstaff.providers import responses_anthropic
from brightstaff.providers.responses_events import REDACTED_PREFIX, THINKING_PREFIX, ResponseFrame, response_echo
from brightstaff.providers.responses_from_messages import ResponsesFromMessages

CLAUDE = dataclasses.replace(provider(), api="anthropic")
USER = {"role": "user", "content": "hi"}
CALL = {"type": "function_call", "call_id": "toolu_1", "name": "f", "arguments": '{"x":1}'}
OUTPUT = {"type": "function_call_output", "call_id": "toolu_1", "output": "42"}
TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"x": 1}}
THINKING = {
    "type": "reasoning",
    "id": "rs_1",
    "summary": [{"type": "summary_text", "text": "hmm"}],
    "encrypted_content": THINKING_PREFIX + "sig",
}


def translate(**fields: Any) -> dict[str, Any]:
    request = parse_responses(orjson.dumps({"model": "gpt-5", **fields}))
    translated: dict[str, Any] = orjson.loads(responses_anthropic.translate_request(request, "claude-sonnet-4-5"))
    return translated


def user(*content: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(content)}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "instructions → system; default max_tokens",
        {"instructions": "be brief", "input": "hi"},
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 4096,
            "system": [text("be brief")],
            "messages": [user(text("hi"))],
        },
    ),
    (
        "a tool round trip: tool_use after the text, the result in the next user turn",
        {
            "input": [USER, {"role": "assistant", "content": "Let me check."}, CALL, OUTPUT],
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
            "max_output_tokens": 50,
        },
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 50,
            "messages": [
                user(text("hi")),
                {"role": "assistant", "content": [text("Let me check."), TOOL_USE]},
                user({"type": "tool_result", "tool_use_id": "toolu_1", "content": "42"}),
            ],
            "tools": [{"name": "f", "input_schema": {"type": "object", "properties": {}}}],
        },
    ),
    (
        "reasoning effort → adaptive thinking; thinking brightstaff wrote comes back first in its turn",
        {"input": [USER, THINKING, CALL, OUTPUT], "reasoning": {"effort": "medium", "summary": "auto"}},
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 16384,
            "messages": [
                user(text("hi")),
                {
                    "role": "assistant",
                    "content": [{"type": "thinking", "thinking": "hmm", "signature": "sig"}, TOOL_USE],
                },
                user({"type": "tool_result", "tool_use_id": "toolu_1", "content": "42"}),
            ],
            "thinking": {"type": "adaptive"},
            "output_config": {"effort": "medium"},
        },
    ),
    (
        "redacted thinking comes back; foreign encrypted content does not",
        {
            "input": [
                USER,
                {"type": "reasoning", "summary": [], "encrypted_content": REDACTED_PREFIX + "data"},
                {"type": "reasoning", "summary": [], "encrypted_content": "gAAAA-openai"},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": "more"},
            ]
        },
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 4096,
            "messages": [
                user(text("hi")),
                {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "data"}, text("ok")]},
                user(text("more")),
            ],
        },
    ),
    (
        "tool output images stay in the tool result",
        {
            "input": [
                USER,
                CALL,
                {
                    **OUTPUT,
                    "output": [
                        {"type": "input_text", "text": "a"},
                        {"type": "input_image", "image_url": "https://x/p.png"},
                    ],
                },
            ]
        },
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 4096,
            "messages": [
                user(text("hi")),
                {"role": "assistant", "content": [TOOL_USE]},
                user(
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [text("a"), {"type": "image", "source": {"type": "url", "url": "https://x/p.png"}}],
                    }
                ),
            ],
        },
    ),
    (
        "json_schema format → output_config.format; user → metadata; prompt_cache_key dropped",
        {
            "input": "hi",
            "text": {"format": {"type": "json_schema", "name": "o", "schema": {"type": "object"}}},
            "user": "u-1",
            "prompt_cache_key": "k",
            "stream": True,
            "temperature": 0.5,
        },
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 4096,
            "messages": [user(text("hi"))],
            "temperature": 0.5,
            "metadata": {"user_id": "u-1"},
            "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
            "stream": True,
        },
    ),
]


@pytest.mark.parametrize(("fields", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_request(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    assert translate(**fields) == expected


def test_the_upstream_request_path_and_headers() -> None:
    upstream = responses_anthropic.request(parse_responses(b'{"model":"m","input":"hi"}'), CLAUDE, "", cache_key="k")
    assert upstream.path == "/v1/messages"
    assert upstream.set_headers == (
        ("x-api-key", "sk-test"),
        ("anthropic-version", "2023-06-01"),
        ("accept-encoding", "identity"),
    )
    assert b"prompt_cache_key" not in upstream.body


# Errors raised by the Messages translation, renamed to the Responses field the client sent.
REMAPPED: list[tuple[str, dict[str, Any], str]] = [
    ("arguments not a JSON object", {"input": [USER, {**CALL, "arguments": "[1]"}, OUTPUT]}, "input[1].arguments"),
    (
        "an image type Anthropic refuses",
        {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "data:image/bmp;base64,AA=="}]}]},
        "input[0].content[0].image_url",
    ),
    (
        "audio in a message",
        {
            "input": [
                {"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "AA==", "format": "wav"}}]}
            ]
        },
        "input[0].content[0]",
    ),
    ("temperature above 1", {"input": "hi", "temperature": 1.5}, "temperature"),
    ("an effort Anthropic has not", {"input": "hi", "reasoning": {"effort": "extreme"}}, "reasoning.effort"),
    ("only blank text", {"input": [{"role": "user", "content": " "}]}, "input"),
]


@pytest.mark.parametrize(("fields", "param"), [r[1:] for r in REMAPPED], ids=[r[0] for r in REMAPPED])
def test_errors_name_the_responses_field(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(ClientError) as caught:
        translate(**fields)
    assert caught.value.param == param
    assert caught.value.message.startswith(param)
    assert "messages" not in caught.value.message.split(":")[0]


def test_stateful_features_are_refused_as_on_the_chat_path() -> None:
    with pytest.raises(ClientError) as caught:
        translate(previous_response_id="resp_1", input="hi")
    assert caught.value.param == "previous_response_id"


# -- the answer ------------------------------------------------------------------------------------

REQUEST = parse_responses(b'{"model":"gpt-5","input":"hi","tools":[{"type":"function","name":"f"}]}')


def translator() -> ResponsesFromMessages:
    return ResponsesFromMessages(ResponseFrame(response_echo(REQUEST), "claude", lambda: 7.0, lambda: "T"))


def answer(body: dict[str, Any]) -> dict[str, Any]:
    return response_object(run(translator(), [orjson.dumps(body)], headers=JSON_HEADERS)[1])


def test_json_blocks_become_items_in_order() -> None:
    got = answer(
        message(
            [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "redacted_thinking", "data": "xyz"},
                text("Hi"),
                text(""),
                TOOL_USE,
                {"type": "server_tool_use", "id": "srv", "name": "web_search", "input": {}},
            ],
            "tool_use",
            cache_read_input_tokens=100,
            cache_creation_input_tokens=20,
        )
    )
    assert got["output"] == [
        {
            "id": "rs_msg01_0",
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "hmm"}],
            "encrypted_content": THINKING_PREFIX + "sig",
        },
        {"id": "rs_msg01_1", "type": "reasoning", "summary": [], "encrypted_content": REDACTED_PREFIX + "xyz"},
        {
            "id": "msg_msg01_2",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hi", "annotations": [], "logprobs": []}],
        },
        {
            "id": "fc_msg01_3",
            "type": "function_call",
            "status": "completed",
            "arguments": '{"x":1}',
            "call_id": "toolu_1",
            "name": "f",
        },
    ]
    assert got["usage"] == {
        "input_tokens": 130,
        "input_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 20},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 135,
    }
    assert (got["status"], got["model"], got["id"]) == ("completed", "claude-sonnet-4-5", "resp_msg01")


@pytest.mark.parametrize(
    ("stop_reason", "status", "reason"),
    [
        ("end_turn", "completed", None),
        ("tool_use", "completed", None),
        ("pause_turn", "completed", None),
        ("max_tokens", "incomplete", "max_output_tokens"),
        ("model_context_window_exceeded", "incomplete", "max_output_tokens"),
        ("refusal", "incomplete", "content_filter"),
        (None, "completed", None),
    ],
)
def test_every_stop_reason(stop_reason: Any, status: str, reason: Any) -> None:
    got = answer(message([text("x")], stop_reason))
    assert got["status"] == status
    assert got["incomplete_details"] == (None if reason is None else {"reason": reason})


def test_stream() -> None:
    _, out = run(translator(), [FULL])
    assert b": ping\n\n" in out
    events = stream_events(out)
    assert kinds(events) == [
        *START,
        *item_kinds("reasoning", 1),
        *item_kinds("message", 2),
        *item_kinds("function_call", 2),
        *item_kinds("function_call", 1),
        "response.completed",
    ]
    final = events[-1]["response"]
    assert final["output"][0]["encrypted_content"] == THINKING_PREFIX + "sig"
    assert final["output"][1]["content"][0]["text"] == "Hé 日本"
    assert [(i["call_id"], i["arguments"]) for i in final["output"][2:]] == [("toolu_a", '{"x":1}'), ("toolu_b", "{}")]
    # message_delta usage sent twice is cumulative: replaced, not added
    assert final["usage"]["output_tokens"] == 25 and final["usage"]["input_tokens"] == 130


def test_max_tokens_ends_with_response_incomplete() -> None:
    stream = anthropic_sse(
        MESSAGE_START,
        block_start(0, text("")),
        delta(0, type="text_delta", text="cut"),
        block_stop(0),
        message_delta("max_tokens", 5),
        STOP,
    )
    events = stream_events(run(translator(), [stream])[1])
    assert events[-1]["type"] == "response.incomplete"


@pytest.mark.parametrize(
    ("error_type", "code"), [("overloaded_error", "server_error"), ("rate_limit_error", "rate_limit_exceeded")]
)
def test_a_mid_stream_error_ends_with_error_and_response_failed(error_type: str, code: str) -> None:
    stream = anthropic_sse(
        MESSAGE_START,
        block_start(0, text("")),
        delta(0, type="text_delta", text="x"),
        {"type": "error", "error": {"type": error_type, "message": "Overloaded"}},
        message_delta("end_turn", 1),
    )
    translated = run(translator(), [stream])[1]
    events = stream_events(translated)
    assert kinds(events)[-2:] == ["error", "response.failed"]
    assert events[-2]["code"] == code and events[-1]["response"]["error"]["message"] == "Overloaded"
    assert b"message_delta" not in translated


def test_a_stream_cut_before_message_stop_fails() -> None:
    events = stream_events(run(translator(), [anthropic_sse(MESSAGE_START, block_start(0, text("")))])[1])
    assert kinds(events) == ["response.created", "response.in_progress", "error", "response.failed"]


def test_an_error_status_keeps_its_status_in_the_openai_shape() -> None:
    body = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    _, out = run(translator(), [body], status=529, headers=JSON_HEADERS)
    assert orjson.loads(out)["error"]["message"] == "Overloaded"
