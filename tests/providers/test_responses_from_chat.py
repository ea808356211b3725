"""A chat completions answer as a Responses answer: JSON, SSE and errors, each event and object checked
against openai-python's types (`responses_checks`)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from responses_checks import START, item_closing, item_kinds, kinds, response_object, stream_events
from test_messages_from_chat import FULL, LONG_NAME, USAGE_CHUNK, chunk, completion, tool_chunk
from translator_fixtures import JSON_HEADERS, SSE_HEADERS, openai_sse, run

from brightstaff.core.responses import parse_responses
from brightstaff.providers.responses_events import ResponseFrame, response_echo
from brightstaff.providers.responses_from_chat import ResponsesFromChat
from brightstaff.providers.tool_naming import short_tool_name

REQUEST = parse_responses(
    orjson.dumps(
        {
            "model": "gpt-5",
            "instructions": "be brief",
            "input": "hi",
            "tools": [{"type": "function", "name": "f"}, {"type": "function", "name": LONG_NAME}],
            "max_output_tokens": 500,
            "prompt_cache_key": "k",
        }
    )
)


def translator() -> ResponsesFromChat:
    return ResponsesFromChat(
        ResponseFrame(response_echo(REQUEST), "llama-3", lambda: 7.0, lambda: "T"),
        tool_names={short_tool_name(LONG_NAME): LONG_NAME},
    )


def answer(body: dict[str, Any]) -> dict[str, Any]:
    _, out = run(translator(), [orjson.dumps(body)], headers=JSON_HEADERS)
    return response_object(out)


USAGE = {
    "prompt_tokens": 30,
    "completion_tokens": 7,
    "total_tokens": 37,
    "prompt_tokens_details": {"cached_tokens": 10},
    "completion_tokens_details": {"reasoning_tokens": 3},
}
RESPONSES_USAGE = {
    "input_tokens": 30,
    "input_tokens_details": {"cached_tokens": 10, "cache_write_tokens": 0},
    "output_tokens": 7,
    "output_tokens_details": {"reasoning_tokens": 3},
    "total_tokens": 37,
}


def message_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": [part]}


def call_item(item_id: str, call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": "completed",
        "arguments": arguments,
        "call_id": call_id,
        "name": name,
    }


JSON_CASES: list[tuple[str, dict[str, Any], str, list[dict[str, Any]], Any]] = [
    (
        "text, stop → completed; usage mapped",
        completion({"content": "Hi"}, "stop", USAGE),
        "completed",
        [message_item("msg_chatcmpl1_0", "Hi")],
        RESPONSES_USAGE,
    ),
    (
        "reasoning, text, tools (long name restored, malformed id kept)",
        completion(
            {
                "reasoning_content": "hmm",
                "content": "Let me look.",
                "tool_calls": [
                    {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}},
                    {
                        "id": "functions.g:1",
                        "type": "function",
                        "function": {"name": short_tool_name(LONG_NAME), "arguments": "{}"},
                    },
                ],
            },
            "tool_calls",
            USAGE,
        ),
        "completed",
        [
            {"id": "rs_chatcmpl1_0", "type": "reasoning", "summary": [{"type": "summary_text", "text": "hmm"}]},
            message_item("msg_chatcmpl1_1", "Let me look."),
            call_item("fc_chatcmpl1_2", "call_a", "f", '{"x":1}'),
            call_item("fc_chatcmpl1_3", "functions.g:1", LONG_NAME, "{}"),
        ],
        RESPONSES_USAGE,
    ),
    (
        "length → incomplete (max_output_tokens); no usage → null",
        {**completion({"content": "cut"}, "length"), "usage": None},
        "incomplete",
        [message_item("msg_chatcmpl1_0", "cut", "incomplete")],
        None,
    ),
    (
        "a refusal is the text when there is none",
        completion({"content": None, "refusal": "no"}, "stop", USAGE),
        "completed",
        [message_item("msg_chatcmpl1_0", "no")],
        RESPONSES_USAGE,
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "output", "usage"), [c[1:] for c in JSON_CASES], ids=[c[0] for c in JSON_CASES]
)
def test_json(body: dict[str, Any], status: str, output: list[dict[str, Any]], usage: Any) -> None:
    got = answer(body)
    assert got["status"] == status
    assert got["output"] == output
    assert got["usage"] == usage
    assert got["id"] == "resp_chatcmpl1" and got["model"] == "llama-3" and got["created_at"] == 1
    assert got["incomplete_details"] == ({"reason": "max_output_tokens"} if status == "incomplete" else None)


def test_the_response_echoes_the_request() -> None:
    got = answer(completion({"content": "Hi"}, "stop", USAGE))
    assert got["instructions"] == "be brief" and got["max_output_tokens"] == 500
    assert got["prompt_cache_key"] == "k" and got["store"] is False
    assert got["tools"][0] == {"type": "function", "name": "f", "description": None, "parameters": None, "strict": None}
    assert (got["tool_choice"], got["parallel_tool_calls"], got["text"]) == ("auto", True, {"format": {"type": "text"}})


def stream(*chunks: dict[str, Any] | str) -> list[dict[str, Any]]:
    _, out = run(translator(), [openai_sse(*chunks)])
    return stream_events(out)


def test_stream() -> None:
    _, out = run(translator(), [FULL])
    events = stream_events(out)
    assert kinds(events) == [
        *START,
        *item_kinds("reasoning", 1),
        *item_kinds("message", 2),
        *item_kinds("function_call", 2, closed=False),  # calls close at the finish: fragments may interleave
        *item_kinds("function_call", 1),
        *item_closing("function_call"),
        "response.completed",
    ]
    final = events[-1]["response"]
    assert final["status"] == "completed"
    assert [item["type"] for item in final["output"]] == ["reasoning", "message", "function_call", "function_call"]
    assert final["output"][1]["content"][0]["text"] == "Hé 日本"
    assert final["output"][2] == call_item("fc_chatcmpl1_2", "call_a", "f", '{"x":1}')
    assert final["output"][3]["name"] == LONG_NAME
    assert final["usage"] == {**RESPONSES_USAGE, "output_tokens_details": {"reasoning_tokens": 0}}
    deltas = [e for e in events if e["type"] == "response.output_text.delta"]
    assert deltas[0] == {
        "type": "response.output_text.delta",
        "sequence_number": 10,
        "item_id": "msg_chatcmpl1_1",
        "output_index": 1,
        "content_index": 0,
        "logprobs": [],
        "delta": "Hé ",
    }


def test_a_combined_content_and_finish_chunk_keeps_its_content() -> None:
    events = stream(chunk({"content": "all"}, "stop"), USAGE_CHUNK)
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "all"


def test_a_done_only_stream_gets_a_complete_empty_response() -> None:
    events = stream("[DONE]")
    assert kinds(events) == ["response.created", "response.in_progress", "response.completed"]
    assert events[-1]["response"]["output"] == [] and events[-1]["response"]["id"].startswith("resp_T")


def test_length_ends_with_response_incomplete() -> None:
    events = stream(chunk({"content": "cut"}), chunk({}, "length"), USAGE_CHUNK)
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert events[-1]["response"]["output"][0]["status"] == "incomplete"


def test_interleaved_parallel_calls_keep_their_own_fragments() -> None:
    events = stream(
        tool_chunk(0, id="call_a", function={"name": "f", "arguments": '{"a":'}),
        tool_chunk(1, id="call_b", function={"name": "f", "arguments": '{"b":'}),
        tool_chunk(0, function={"arguments": "1}"}),
        tool_chunk(1, function={"arguments": "2}"}),
        chunk({}, "tool_calls"),
        "[DONE]",
    )
    output = events[-1]["response"]["output"]
    assert [(i["call_id"], i["arguments"]) for i in output] == [("call_a", '{"a":1}'), ("call_b", '{"b":2}')]


def test_text_after_a_call_opens_a_new_message() -> None:
    events = stream(
        chunk({"content": "a"}),
        tool_chunk(0, id="c", function={"name": "f", "arguments": "{}"}),
        chunk({"content": "b"}),
        chunk({}, "stop"),
        USAGE_CHUNK,
    )
    assert [i["type"] for i in events[-1]["response"]["output"]] == ["message", "function_call", "message"]


def test_usage_with_choices_null_closes_the_stream_and_nothing_follows() -> None:
    usage = chunk(usage={"prompt_tokens": 1, "completion_tokens": 1})
    usage["choices"] = None
    translated = run(translator(), [openai_sse(chunk({"content": "x"}, "stop"), usage, chunk({"content": "late"}))])[1]
    assert stream_events(translated)[-1]["type"] == "response.completed"
    assert b"late" not in translated


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ({"message": "engine died", "code": 500}, "server_error"),
        ({"message": "slow down", "code": 429}, "rate_limit_exceeded"),
    ],
)
def test_a_mid_stream_error_ends_with_error_and_response_failed(error: dict[str, Any], code: str) -> None:
    events = stream(chunk({"content": "x"}), {"error": error})
    assert kinds(events)[-2:] == ["error", "response.failed"]
    assert events[-2]["code"] == code and events[-2]["message"] == error["message"]
    assert events[-1]["response"]["error"] == {"code": code, "message": error["message"]}
    assert events[-1]["response"]["output"][0]["status"] == "incomplete"


def test_a_stream_cut_before_its_finish_fails() -> None:
    events = stream(chunk({"content": "x"}))
    assert events[-1]["type"] == "response.failed"
    assert "ended before" in events[-1]["response"]["error"]["message"]


def test_an_unreadable_event_fails_even_before_any_chunk() -> None:
    _, out = run(translator(), [b"data: {not json\n\n"])
    events = stream_events(out)
    assert kinds(events) == ["response.created", "response.in_progress", "error", "response.failed"]


def test_a_stream_ending_after_its_finish_but_without_usage_or_done_completes() -> None:
    assert stream(chunk({"content": "x"}, "stop"))[-1]["type"] == "response.completed"


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (429, b'{"error":{"message":"slow down","type":"rate_limit_error"}}', "rate_limit_error"),
        (500, b"upstream exploded", "server_error"),
        (400, b'{"detail":"bad"}', "invalid_request_error"),
    ],
)
def test_errors_keep_their_status_in_the_openai_shape(status: int, body: bytes, kind: str) -> None:
    start, out = run(translator(), [body], status=status, headers={"content-type": "text/plain"})
    error = orjson.loads(out)["error"]
    assert error["type"] == kind and error["message"] and start.set_headers == (("content-type", "application/json"),)


def test_sse_headers_drop_content_length() -> None:
    start, _ = run(translator(), [b"data: [DONE]\n\n"], headers={**SSE_HEADERS, "content-length": "9"})
    assert start.streamed and start.remove_headers == ("content-length",)


def test_a_text_stream_golden() -> None:
    """Every event of a short answer, whole: the shapes the Responses API streams."""
    events = stream(chunk({"role": "assistant", "content": "Hi"}), chunk({}, "stop"), USAGE_CHUNK, "[DONE]")
    item_id, at = "msg_chatcmpl1_0", {"item_id": "msg_chatcmpl1_0", "output_index": 0, "content_index": 0}
    empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    done_item = message_item(item_id, "Hi")
    bodies = [{k: v for k, v in e.items() if k not in ("type", "sequence_number")} for e in events[2:-1]]
    assert bodies == [
        {"output_index": 0, "item": {"id": item_id, "type": "message", "status": "in_progress",
                                     "role": "assistant", "content": []}},
        {**at, "part": empty},
        {**at, "logprobs": [], "delta": "Hi"},
        {**at, "text": "Hi", "logprobs": []},
        {**at, "part": {**empty, "text": "Hi"}},
        {"output_index": 0, "item": done_item},
    ]  # fmt: skip
    created = events[0]["response"]
    assert {k: created[k] for k in ("id", "object", "created_at", "status", "completed_at", "output", "usage")} == {
        "id": "resp_chatcmpl1",
        "object": "response",
        "created_at": 1,
        "status": "in_progress",
        "completed_at": None,
        "output": [],
        "usage": None,
    }
    completed = events[-1]["response"]
    assert (completed["status"], completed["completed_at"], completed["output"]) == ("completed", 7, [done_item])
