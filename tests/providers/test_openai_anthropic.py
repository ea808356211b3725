"""OpenAI chat client → Anthropic backend, the request: chat body in, Messages body out (notes §1, §7.1-6)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from translator_fixtures import provider

from brightstaff.core.chat import parse_chat
from brightstaff.core.errors import ClientError
from brightstaff.providers import openai_anthropic
from brightstaff.providers.chat_from_messages import ChatFromMessages
from brightstaff.providers.tool_naming import tool_id

MODEL = "claude-sonnet-4-5"
USER = {"role": "user", "content": "hi"}
PNG = "iVBORw0KGgoAAAANSUhEUg=="


def translate(**fields: Any) -> dict[str, Any]:
    chat = parse_chat(orjson.dumps({"model": "gpt-4o", **fields}))
    translated: dict[str, Any] = orjson.loads(openai_anthropic.translate_request(chat, MODEL))
    return translated


def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def text(value: str, **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": value, **extra}


def turn(role: str, *blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": role, "content": list(blocks)}


CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "§7.1 system + user: system blocks, default max_tokens, no stream_options",
        {"messages": [{"role": "system", "content": "be brief"}, USER], "stream_options": {"include_usage": True}},
        {"model": MODEL, "max_tokens": 4096, "system": [text("be brief")], "messages": [turn("user", text("hi"))]},
    ),
    (
        "§7.1 two system messages and a mid-conversation developer message → 3 blocks in order",
        {
            "messages": [
                {"role": "system", "content": "s1"},
                {"role": "system", "content": [{"type": "text", "text": "s2"}]},
                USER,
                {"role": "assistant", "content": "hello"},
                {"role": "developer", "content": "d3"},
                {"role": "user", "content": "more"},
            ]
        },
        {
            "model": MODEL,
            "max_tokens": 4096,
            "system": [text("s1"), text("s2"), text("d3")],
            "messages": [turn("user", text("hi")), turn("assistant", text("hello")), turn("user", text("more"))],
        },
    ),
    (
        "§7.2 max_completion_tokens beats max_tokens; stop without whitespace-only entries",
        {"messages": [USER], "max_tokens": 10, "max_completion_tokens": 20, "stop": [" ", "X", "\n"]},
        {"model": MODEL, "max_tokens": 20, "messages": [turn("user", text("hi"))], "stop_sequences": ["X"]},
    ),
    (
        "§7.2 stop as a string, temperature and top_p kept, stream kept",
        {"messages": [USER], "stop": "END", "temperature": 0.3, "top_p": 0.9, "stream": True, "max_tokens": 5},
        {
            "model": MODEL,
            "max_tokens": 5,
            "messages": [turn("user", text("hi"))],
            "temperature": 0.3,
            "top_p": 0.9,
            "stop_sequences": ["END"],
            "stream": True,
        },
    ),
    (
        "§7.3 png data URI, https URL, pdf document; detail dropped",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "see"},
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"}},
                        {"type": "image_url", "image_url": {"url": "https://example.test/cat.jpg"}},
                        {
                            "type": "file",
                            "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBE"},
                        },
                    ],
                }
            ]
        },
        {
            "model": MODEL,
            "max_tokens": 4096,
            "messages": [
                turn(
                    "user",
                    text("see"),
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.test/cat.jpg"}},
                    {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}},
                )
            ],
        },
    ),
    (
        "§7.4 tool-only assistant turn, two tool messages and a user message → ONE user message, results first",
        {
            "messages": [
                USER,
                {"role": "assistant", "content": "", "tool_calls": [call("a", "f", '{"x":1}'), call("b", "g", "{}")]},
                {"role": "tool", "tool_call_id": "a", "content": "ra"},
                {"role": "tool", "tool_call_id": "b", "content": [{"type": "text", "text": "rb"}]},
                {"role": "user", "content": "thanks"},
            ]
        },
        {
            "model": MODEL,
            "max_tokens": 4096,
            "messages": [
                turn("user", text("hi")),
                turn(
                    "assistant",
                    {"type": "tool_use", "id": "a", "name": "f", "input": {"x": 1}},
                    {"type": "tool_use", "id": "b", "name": "g", "input": {}},
                ),
                turn(
                    "user",
                    {"type": "tool_result", "tool_use_id": "a", "content": "ra"},
                    {"type": "tool_result", "tool_use_id": "b", "content": [text("rb")]},
                    text("thanks"),
                ),
            ],
        },
    ),
    (
        "§7.5 arguments '' → {}; id functions.Bash:0 sanitized the same on both sides",
        {
            "messages": [
                USER,
                {"role": "assistant", "content": None, "tool_calls": [call("functions.Bash:0", "Bash", "")]},
                {"role": "tool", "tool_call_id": "functions.Bash:0", "content": "ok"},
            ]
        },
        {
            "model": MODEL,
            "max_tokens": 4096,
            "messages": [
                turn("user", text("hi")),
                turn("assistant", {"type": "tool_use", "id": tool_id("functions.Bash:0"), "name": "Bash", "input": {}}),
                turn("user", {"type": "tool_result", "tool_use_id": tool_id("functions.Bash:0"), "content": "ok"}),
            ],
        },
    ),
    (
        "assistant text first, then tool calls; refusal as text; whitespace-only text dropped",
        {
            "messages": [
                USER,
                {"role": "assistant", "content": [{"type": "text", "text": "  "}, {"type": "text", "text": "ok"}]},
                {"role": "user", "content": "go"},
                {"role": "assistant", "content": "run it", "tool_calls": [call("c", "f", "{}")]},
                {"role": "tool", "tool_call_id": "c", "content": ""},
            ]
        },
        {
            "model": MODEL,
            "max_tokens": 4096,
            "messages": [
                turn("user", text("hi")),
                turn("assistant", text("ok")),
                turn("user", text("go")),
                turn("assistant", text("run it"), {"type": "tool_use", "id": "c", "name": "f", "input": {}}),
                turn("user", {"type": "tool_result", "tool_use_id": "c", "content": ""}),
            ],
        },
    ),
    (
        "assistant refusal parts and the refusal field become text",
        {
            "messages": [
                USER,
                {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}], "refusal": "sorry"},
                {"role": "user", "content": "why?"},
            ]
        },
        {
            "model": MODEL,
            "max_tokens": 4096,
            "messages": [
                turn("user", text("hi")),
                turn("assistant", text("no"), text("sorry")),
                turn("user", text("why?")),
            ],
        },
    ),
    (
        "never an empty text block: empty user and assistant messages dropped, same roles merged",
        {"messages": [USER, {"role": "user", "content": ""}, {"role": "assistant", "content": ""}, USER]},
        {"model": MODEL, "max_tokens": 4096, "messages": [turn("user", text("hi"), text("hi"))]},
    ),
    (
        "a final assistant prefill loses trailing whitespace",
        {"messages": [USER, {"role": "assistant", "content": "The answer is "}]},
        {
            "model": MODEL,
            "max_tokens": 4096,
            "messages": [turn("user", text("hi")), turn("assistant", text("The answer is"))],
        },
    ),
    (
        "§7.6 tools: parameters become input_schema, none → empty object schema; strict kept",
        {
            "messages": [USER],
            "tools": [
                {"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}},
                {"type": "function", "function": {"name": "g", "strict": True}},
            ],
        },
        {
            "model": MODEL,
            "max_tokens": 4096,
            "messages": [turn("user", text("hi"))],
            "tools": [
                {"name": "f", "description": "d", "input_schema": {"type": "object", "properties": {}}},
                {"name": "g", "input_schema": {"type": "object", "properties": {}}, "strict": True},
            ],
        },
    ),
    (
        "§7.6 unknown and ignored fields stripped (allow-list)",
        {
            "messages": [USER],
            "seed": 1,
            "logprobs": True,
            "frequency_penalty": 0.5,
            "service_tier": "auto",
            "store": True,
            "n": 1,
            "some_future_field": {"x": 1},
            "response_format": {"type": "json_object"},
        },
        {"model": MODEL, "max_tokens": 4096, "messages": [turn("user", text("hi"))]},
    ),
    (
        "§7.6 json_schema → output_config.format",
        {
            "messages": [USER],
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
        },
        {
            "model": MODEL,
            "max_tokens": 4096,
            "messages": [turn("user", text("hi"))],
            "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
        },
    ),
    (
        "user → metadata.user_id",
        {"messages": [USER], "user": "user-123"},
        {
            "model": MODEL,
            "max_tokens": 4096,
            "messages": [turn("user", text("hi"))],
            "metadata": {"user_id": "user-123"},
        },
    ),
    (
        "an email as user is not sent",
        {"messages": [USER], "user": "a@b.example"},
        {"model": MODEL, "max_tokens": 4096, "messages": [turn("user", text("hi"))]},
    ),
    (
        "reasoning_effort → adaptive thinking, effort, the larger default max_tokens",
        {"messages": [USER], "reasoning_effort": "minimal"},
        {
            "model": MODEL,
            "max_tokens": 16384,
            "messages": [turn("user", text("hi"))],
            "thinking": {"type": "adaptive"},
            "output_config": {"effort": "low"},
        },
    ),
    (
        "reasoning_effort off while continuing a tool call that carries no thinking blocks",
        {
            "messages": [
                USER,
                {"role": "assistant", "tool_calls": [call("c", "f", "{}")]},
                {"role": "tool", "tool_call_id": "c", "content": "r"},
            ],
            "reasoning_effort": "high",
        },
        {
            "model": MODEL,
            "max_tokens": 4096,
            "messages": [
                turn("user", text("hi")),
                turn("assistant", {"type": "tool_use", "id": "c", "name": "f", "input": {}}),
                turn("user", {"type": "tool_result", "tool_use_id": "c", "content": "r"}),
            ],
        },
    ),
    (
        "thinking_blocks sent back first keep thinking on",
        {
            "messages": [
                USER,
                {
                    "role": "assistant",
                    "tool_calls": [call("c", "f", "{}")],
                    "thinking_blocks": [{"type": "thinking", "thinking": "t", "signature": "s"}],
                },
                {"role": "tool", "tool_call_id": "c", "content": "r"},
            ],
            "reasoning_effort": "high",
        },
        {
            "model": MODEL,
            "max_tokens": 16384,
            "messages": [
                turn("user", text("hi")),
                turn(
                    "assistant",
                    {"type": "thinking", "thinking": "t", "signature": "s"},
                    {"type": "tool_use", "id": "c", "name": "f", "input": {}},
                ),
                turn("user", {"type": "tool_result", "tool_use_id": "c", "content": "r"}),
            ],
            "thinking": {"type": "adaptive"},
            "output_config": {"effort": "high"},
        },
    ),
    (
        "cache_control copied from parts, messages and tools",
        {
            "messages": [
                {"role": "system", "content": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}]},
                {"role": "user", "content": "long", "cache_control": {"type": "ephemeral"}},
            ],
            "tools": [{"type": "function", "function": {"name": "f"}, "cache_control": {"type": "ephemeral"}}],
        },
        {
            "model": MODEL,
            "max_tokens": 4096,
            "system": [text("s", cache_control={"type": "ephemeral"})],
            "messages": [turn("user", text("long", cache_control={"type": "ephemeral"}))],
            "tools": [
                {
                    "name": "f",
                    "input_schema": {"type": "object", "properties": {}},
                    "cache_control": {"type": "ephemeral"},
                }
            ],
        },
    ),
]


@pytest.mark.parametrize(("fields", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_request_body(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    assert translate(**fields) == expected


TOOLS = [{"type": "function", "function": {"name": "f"}}]

CHOICES: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
    ("auto", {"tool_choice": "auto"}, {"type": "auto"}),
    ("required → any", {"tool_choice": "required"}, {"type": "any"}),
    ("none", {"tool_choice": "none"}, {"type": "none"}),
    ("named", {"tool_choice": {"type": "function", "function": {"name": "f"}}}, {"type": "tool", "name": "f"}),
    ("no choice", {}, None),
    (
        "parallel off without a choice",
        {"parallel_tool_calls": False},
        {"type": "auto", "disable_parallel_tool_use": True},
    ),
    (
        "parallel off with required",
        {"parallel_tool_calls": False, "tool_choice": "required"},
        {"type": "any", "disable_parallel_tool_use": True},
    ),
    (
        "parallel off with none: nothing to disable",
        {"parallel_tool_calls": False, "tool_choice": "none"},
        {"type": "none"},
    ),
    ("parallel on: the default", {"parallel_tool_calls": True}, None),
]


@pytest.mark.parametrize(("fields", "expected"), [c[1:] for c in CHOICES], ids=[c[0] for c in CHOICES])
def test_tool_choice(fields: dict[str, Any], expected: dict[str, Any] | None) -> None:
    assert translate(messages=[USER], tools=TOOLS, **fields).get("tool_choice") == expected


def test_a_tool_choice_without_tools_is_dropped() -> None:
    assert "tool_choice" not in translate(messages=[USER], tool_choice="required")


FIVE_CACHED = [{"role": "user", "content": "x", "cache_control": {"type": "ephemeral"}}] * 5

REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("§7.2 n:2", {"messages": [USER], "n": 2}, "n"),
    ("§7.2 temperature 1.5", {"messages": [USER], "temperature": 1.5}, "temperature"),
    ("negative temperature", {"messages": [USER], "temperature": -0.1}, "temperature"),
    ("max_tokens 0", {"messages": [USER], "max_tokens": 0}, "max_tokens"),
    (
        "max_completion_tokens not an integer",
        {"messages": [USER], "max_completion_tokens": "5"},
        "max_completion_tokens",
    ),
    (
        "§7.3 bmp image",
        {
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/bmp;base64,Qk0="}}]}
            ]
        },
        "messages[0].content[0].image_url",
    ),
    (
        "ftp image URL",
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}]},
        "messages[0].content[0].image_url",
    ),
    (
        "audio input",
        {
            "messages": [
                {"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]}
            ]
        },
        "messages[0].content[0]",
    ),
    (
        "file by id",
        {"messages": [{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-1"}}]}]},
        "messages[0].content[0].file",
    ),
    (
        "§7.5 arguments '{bad'",
        {"messages": [USER, {"role": "assistant", "tool_calls": [call("c", "f", "{bad")]}]},
        "messages[1].tool_calls[0].function.arguments",
    ),
    (
        "arguments not an object",
        {"messages": [USER, {"role": "assistant", "tool_calls": [call("c", "f", "[1]")]}]},
        "messages[1].tool_calls[0].function.arguments",
    ),
    ("tool message without tool_call_id", {"messages": [{"role": "tool", "content": "r"}]}, "messages[0].tool_call_id"),
    ("the legacy function role", {"messages": [{"role": "function", "name": "f", "content": "r"}]}, "messages[0].role"),
    ("legacy functions", {"messages": [USER], "functions": [{"name": "f"}]}, "functions"),
    ("web_search_options", {"messages": [USER], "web_search_options": {}}, "web_search_options"),
    ("a custom tool", {"messages": [USER], "tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0].type"),
    (
        "allowed_tools choice",
        {"messages": [USER], "tools": TOOLS, "tool_choice": {"type": "allowed_tools"}},
        "tool_choice",
    ),
    ("§7.6 five cache_control breakpoints", {"messages": FIVE_CACHED}, "cache_control"),
    (
        "response_format of an unknown type",
        {"messages": [USER], "response_format": {"type": "grammar"}},
        "response_format",
    ),
    ("no message with content", {"messages": [{"role": "user", "content": " "}]}, "messages"),
    ("reasoning_effort unknown", {"messages": [USER], "reasoning_effort": "extreme"}, "reasoning_effort"),
]


@pytest.mark.parametrize(("fields", "param"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_what_cannot_be_translated_is_a_400_naming_the_field(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(ClientError) as info:
        translate(**fields)
    error = info.value
    assert (error.status, error.param) == (400, param)
    body = orjson.loads(error.to_json())["error"]
    assert body["param"] == param
    assert param in body["message"]


def test_the_upstream_request() -> None:
    chat = parse_chat(orjson.dumps({"model": "gpt-4o", "messages": [USER]}))
    upstream = openai_anthropic.request(chat, provider(), "api-version=1")
    assert upstream.path == "/v1/messages"
    assert upstream.set_headers == (
        ("x-api-key", "sk-test"),
        ("anthropic-version", "2023-06-01"),
        ("accept-encoding", "identity"),
    )
    assert upstream.remove_headers == ("authorization", "api-key")
    assert orjson.loads(upstream.body)["model"] == "claude-sonnet-4-5"


def test_the_response_translator_remembers_include_usage() -> None:
    asked = parse_chat(
        orjson.dumps({"model": "m", "messages": [USER], "stream": True, "stream_options": {"include_usage": True}})
    )
    translator = openai_anthropic.response(asked, provider())
    assert isinstance(translator, ChatFromMessages)
    assert translator._include_usage is True
    plain = openai_anthropic.response(parse_chat(orjson.dumps({"model": "m", "messages": [USER]})), provider())
    assert isinstance(plain, ChatFromMessages)
    assert plain._include_usage is False


def test_a_pin_derived_cache_key_is_not_sent_to_anthropic() -> None:
    chat = parse_chat(b'{"model":"m","messages":[{"role":"user","content":"hi"}]}')
    assert b"prompt_cache_key" not in openai_anthropic.request(chat, provider(), "", cache_key="bsk_1").body
