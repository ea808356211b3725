"""Responses request bodies: what parses, what is refused (a 400 naming the field), the view, the rewrite."""

from __future__ import annotations

from typing import Any, get_args, get_type_hints

import orjson
import pytest

from brightstaff.core.conversation import Conversation, ToolCall, Turn, from_responses_request
from brightstaff.core.errors import ClientError
from brightstaff.core.responses import (
    ITEM_TYPES,
    PART_TYPES,
    item_type,
    parse_responses,
    read_responses,
    with_model,
)


def body(**fields: Any) -> bytes:
    return orjson.dumps({"model": "gpt-5", **fields})


CALL = {"type": "function_call", "call_id": "c1", "name": "run_sql", "arguments": '{"q":"n"}'}
OUTPUT = {"type": "function_call_output", "call_id": "c1", "output": "42"}

ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("no input (a stored prompt or previous response may supply it)", {}),
    ("string input", {"input": "hi"}),
    ("easy message without a type", {"input": [{"role": "user", "content": "hi"}]}),
    (
        "untyped and typed messages (the one-pass check)",
        {
            "input": [
                {"role": "system", "content": "be brief"},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                {"role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
            ]
        },
    ),
    ("untyped messages and a function call", {"input": [{"role": "user", "content": "hi"}, CALL, OUTPUT]}),
    ("an untyped item without a role (an item reference)", {"input": [{"role": "user", "content": "a"}, {"id": "x"}]}),
    (
        "typed message with every input part",
        {
            "input": [
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "look"},
                        {"type": "input_image", "image_url": "https://x/a.png", "detail": "low"},
                        {"type": "input_image", "file_id": "file_1"},
                        {"type": "input_file", "file_data": "data:application/pdf;base64,AA==", "filename": "a.pdf"},
                        {"type": "input_audio", "input_audio": {"data": "AA==", "format": "wav"}},
                    ],
                }
            ],
        },
    ),
    (
        "assistant output message with refusal",
        {
            "input": [
                {
                    "type": "message",
                    "role": "assistant",
                    "id": "msg_1",
                    "status": "completed",
                    "content": [
                        {"type": "output_text", "text": "ok", "annotations": []},
                        {"type": "refusal", "refusal": "no"},
                    ],
                }
            ],
        },
    ),
    (
        "system and developer roles",
        {
            "input": [
                {"role": "system", "content": "s"},
                {"role": "developer", "content": [{"type": "input_text", "text": "d"}]},
            ]
        },
    ),
    ("function call round trip", {"input": [CALL, OUTPUT]}),
    (
        "function_call_output with parts",
        {
            "input": [
                CALL,
                {
                    **OUTPUT,
                    "output": [
                        {"type": "input_text", "text": "a"},
                        {"type": "input_image", "image_url": "https://x/b.png"},
                    ],
                },
            ]
        },
    ),
    (
        "reasoning item",
        {
            "input": [
                {
                    "type": "reasoning",
                    "id": "rs_1",
                    "summary": [{"type": "summary_text", "text": "t"}],
                    "encrypted_content": "opaque",
                }
            ]
        },
    ),
    (
        "stateful and built-in items pass the parser",
        {
            "input": [
                {"id": "msg_0"},
                {"type": "item_reference", "id": "msg_1"},
                {"type": "web_search_call", "id": "ws_1", "status": "completed"},
            ]
        },
    ),
    (
        "instructions, flat function tools, choices, format, limits",
        {
            "instructions": "be brief",
            "tools": [
                {"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}, "strict": True},
                {"type": "web_search"},
            ],
            "tool_choice": {"type": "function", "name": "f"},
            "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}}},
            "max_output_tokens": 64,
            "reasoning": {"effort": "low"},
            "stream": True,
        },
    ),
    ("tool_choice modes and hosted choices", {"tool_choice": "required"}),
    ("allowed_tools choice", {"tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": []}}),
    ("json_object format", {"text": {"format": {"type": "json_object"}}}),
    ("null fields read as absent", {"instructions": None, "tools": None, "max_output_tokens": None}),
]


@pytest.mark.parametrize("fields", [f for _, f in ACCEPTED], ids=[name for name, _ in ACCEPTED])
def test_accepted(fields: dict[str, Any]) -> None:
    parse_responses(body(**fields))


REFUSED: list[tuple[str, bytes, str, str]] = [
    ("not JSON", b"{", "", "not valid JSON"),
    ("no model", b'{"input":"hi"}', "model", "Missing required parameter"),
    ("input of the wrong type", body(input=5), "input", "a string or an array of input items"),
    ("unknown item type", body(input=[{"type": "bogus"}]), "input[0].type", "unknown input item type 'bogus'"),
    ("unknown role", body(input=[{"role": "bot", "content": "x"}]), "input[0].role", "'user', 'assistant'"),
    (
        "unknown part type",
        body(input=[{"role": "user", "content": [{"type": "text", "text": "x"}]}]),
        "input[0].content[0].type",
        "unknown content part type 'text'",
    ),
    (
        "part text not a string",
        body(input=[{"role": "user", "content": [{"type": "input_text", "text": 1}]}]),
        "input[0].content[0].text",
        "Expected `str`",
    ),
    (
        "message without content",
        body(input=[{"type": "message", "role": "user"}]),
        "input[0]",
        "missing required field `content`",
    ),
    (
        "function_call without arguments",
        body(input=[{**CALL, "arguments": None}]),
        "input[0].arguments",
        "Expected `str`",
    ),
    (
        "function_call_output without call_id",
        body(input=[{"type": "function_call_output", "output": "x"}]),
        "input[0]",
        "missing required field `call_id`",
    ),
    (
        "untyped messages, one with an unknown part",
        body(input=[{"role": "user", "content": "x"}, {"role": "user", "content": [{"type": "nope"}]}]),
        "input[1].content[0].type",
        "unknown content part type 'nope'",
    ),
    (
        "untyped messages, one with a bad role",
        body(input=[{"role": "user", "content": "x"}, {"role": "tool", "content": "y"}]),
        "input[1].role",
        "a message's role is",
    ),
    (
        "an untyped item later in the list, then a bad one",
        body(input=[{"role": "user", "content": "x"}, 7]),
        "input[1]",
        "Expected `object`",
    ),
    ("instructions not a string", body(instructions=["x"]), "instructions", "must be a string"),
    ("tools not an array", body(tools={"type": "function"}), "tools", "must be an array"),
    (
        "chat-shaped function tool",
        body(tools=[{"type": "function", "function": {"name": "f"}}]),
        "tools[0].name",
        "the nested {type: function, function: {...}} shape is chat completions'",
    ),
    ("function tool without a name", body(tools=[{"type": "function"}]), "tools[0].name", "non-empty string"),
    ("tool without a type", body(tools=[{"name": "f"}]), "tools[0]", "must be an array of tools"),
    ("unknown tool_choice mode", body(tool_choice="any"), "tool_choice", "'none', 'auto' or 'required'"),
    ("function choice without a name", body(tool_choice={"type": "function"}), "tool_choice", "names the tool"),
    (
        "json_schema without a name",
        body(text={"format": {"type": "json_schema", "schema": {}}}),
        "text.format.name",
        "required",
    ),
    (
        "json_schema without a schema",
        body(text={"format": {"type": "json_schema", "name": "n"}}),
        "text.format.schema",
        "required",
    ),
    ("unknown format", body(text={"format": {"type": "yaml"}}), "text.format.type", "must be an object"),
    ("max_output_tokens zero", body(max_output_tokens=0), "max_output_tokens", "positive integer"),
    ("max_output_tokens text", body(max_output_tokens="9"), "max_output_tokens", "positive integer"),
    ("reasoning not an object", body(reasoning="high"), "reasoning", "must be an object"),
]


@pytest.mark.parametrize(("raw", "param", "text"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_refused(raw: bytes, param: str, text: str) -> None:
    with pytest.raises(ClientError) as caught:
        parse_responses(raw)
    error = caught.value
    assert error.status == 400
    assert (error.param or "") == param
    assert text in error.message
    assert param in error.message


def test_every_item_and_part_type_the_sdk_knows_is_known() -> None:
    """openai-python's input item and content part types are the parser's (a new one fails this test)."""
    from openai.types.responses import ResponseInputContentParam, ResponseInputItemParam
    from openai.types.responses.response_output_message_param import Content

    def strings(annotation: Any) -> set[str]:
        return {a for a in get_args(annotation) if isinstance(a, str)} | {
            s for a in get_args(annotation) if not isinstance(a, str) for s in strings(a)
        }

    def tags(union: Any) -> set[str]:
        return {tag for member in get_args(union) for tag in strings(get_type_hints(member)["type"])}

    assert tags(ResponseInputItemParam) == ITEM_TYPES
    assert tags(ResponseInputContentParam) | tags(Content) | {"input_audio"} == PART_TYPES


def test_model_and_stream_are_read_and_the_rewrite_keeps_every_other_byte() -> None:
    raw = b'{"model" : "gpt-5","input":"hi",  "stream":true,"store":false,"x":[1, 2]}'
    request = parse_responses(raw)
    assert (request.model, request.stream) == ("gpt-5", True)
    assert with_model(request, "o4") == b'{"model":"o4","input":"hi","stream":true,"store":false,"x":[1, 2]}'
    assert parse_responses(body(stream="true")).stream is False


def test_items_read_a_string_as_one_user_message() -> None:
    assert parse_responses(body(input="hi")).items == [{"type": "message", "role": "user", "content": "hi"}]
    assert parse_responses(body()).items == []


@pytest.mark.parametrize(
    ("item", "kind"),
    [({"type": "reasoning"}, "reasoning"), ({"role": "user"}, "message"), ({"id": "x"}, "item_reference")],
)
def test_item_type_reads_untyped_items_as_the_api_does(item: dict[str, Any], kind: str) -> None:
    assert item_type(item) == kind


VIEW_CASES: list[tuple[str, Any, list[Any], list[Turn]]] = [
    (
        "instructions are a system turn",
        "be brief",
        [{"role": "user", "content": "hi"}],
        [Turn("system", "be brief"), Turn("user", "hi")],
    ),
    (
        "developer is system, parts joined, media skipped",
        None,
        [
            {
                "role": "developer",
                "content": [
                    {"type": "input_text", "text": "a"},
                    {"type": "input_image", "image_url": "u"},
                    {"type": "input_text", "text": "b"},
                ],
            }
        ],
        [Turn("system", "a\nb")],
    ),
    (
        "a function call joins the assistant turn it follows",
        None,
        [{"role": "assistant", "content": [{"type": "output_text", "text": "checking"}]}, CALL, OUTPUT],
        [Turn("assistant", "checking", (ToolCall("run_sql", '{"q":"n"}'),)), Turn("tool", "42")],
    ),
    (
        "a function call with no assistant turn before it opens one",
        None,
        [CALL],
        [Turn("assistant", "", (ToolCall("run_sql", '{"q":"n"}'),))],
    ),
    (
        "reasoning and references carry no text",
        None,
        [{"type": "reasoning", "summary": [{"type": "summary_text", "text": "hmm"}]}, {"id": "msg_1"}],
        [],
    ),
    (
        "tool output parts read as text",
        None,
        [{**OUTPUT, "output": [{"type": "input_text", "text": "7"}]}],
        [Turn("tool", "7")],
    ),
    ("junk is skipped, not refused", 5, [7, {"type": "message", "role": 3, "content": 1}], [Turn("user", "")]),
]


@pytest.mark.parametrize(
    ("instructions", "items", "turns"), [c[1:] for c in VIEW_CASES], ids=[c[0] for c in VIEW_CASES]
)
def test_responses_requests_become_turns(instructions: Any, items: list[Any], turns: list[Turn]) -> None:
    assert from_responses_request(instructions, items) == Conversation(tuple(turns))


def test_a_responses_request_builds_its_view_once_on_first_use() -> None:
    request = parse_responses(body(input="hi"))
    assert request.conversation is request.conversation


def test_the_handlers_reader_checks_every_field_but_model_on_first_read() -> None:
    bad = body(input=[{"type": "message", "role": "tool", "content": "x"}], tools=[{"type": "function"}])
    with pytest.raises(ClientError) as eager:
        parse_responses(bad)
    request = read_responses(bad)
    assert request.model == "gpt-5"
    assert orjson.loads(with_model(request, "gpt-4o"))["input"][0]["role"] == "tool"  # forwarded unread
    for read in (lambda: request.items, lambda: request.decoded("tools")):
        with pytest.raises(ClientError) as deferred:
            read()
        assert deferred.value.message == eager.value.message
    with pytest.raises(ClientError, match="model"):
        read_responses(orjson.dumps({"input": "hi"}))
