"""Responses client → OpenAI-compatible chat backend, the request: Responses body in, chat body out, and
the table of what a translated path refuses (a 400 in the OpenAI shape naming the field)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from translator_fixtures import provider

from brightstaff.core.errors import ClientError
from brightstaff.core.responses import parse_responses
from brightstaff.providers import responses_chat
from brightstaff.providers.responses_events import THINKING_PREFIX
from brightstaff.providers.tool_naming import short_tool_name

VLLM = provider("mistral/llama-3", base_url="http://10.0.0.5:8000/v1")
OPENAI = provider("openai/gpt-5", base_url="https://api.openai.com/v1")
LONG_NAME = "mcp__a_very_long_server_name__and_an_even_longer_tool_name_for_reading"  # 70 characters
USER = {"role": "user", "content": "hi"}
CALL = {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": '{"x":1}'}
OUTPUT = {"type": "function_call_output", "call_id": "call_1", "output": "42"}
CHAT_CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}
TOOL = {"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}, "strict": True}
CHAT_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {"name": "f", "description": "d", "parameters": {"type": "object"}, "strict": True},
}


def translate(backend: Any = VLLM, cache_key: str | None = None, **fields: Any) -> dict[str, Any]:
    request = parse_responses(orjson.dumps({"model": "gpt-5", **fields}))
    translated: dict[str, Any] = orjson.loads(responses_chat.translate_request(request, backend, cache_key))
    return translated


CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "string input; instructions first as system",
        {"instructions": "be brief", "input": "hi"},
        {"model": "llama-3", "messages": [{"role": "system", "content": "be brief"}, USER]},
    ),
    (
        "system and developer stay where they are; a lone text part is a string",
        {
            "input": [
                {
                    "role": "developer",
                    "content": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}],
                },
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                {"role": "system", "content": "late"},
            ]
        },
        {
            "model": "llama-3",
            "messages": [{"role": "system", "content": "a\nb"}, USER, {"role": "system", "content": "late"}],
        },
    ),
    (
        "user parts: text, image (detail kept), file data, audio",
        {
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "see"},
                        {"type": "input_image", "image_url": "data:image/png;base64,AA==", "detail": "low"},
                        {"type": "input_file", "file_data": "data:application/pdf;base64,AA==", "filename": "a.pdf"},
                        {"type": "input_audio", "input_audio": {"data": "AA==", "format": "wav"}},
                    ],
                }
            ]
        },
        {
            "model": "llama-3",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "see"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA==", "detail": "low"}},
                        {
                            "type": "file",
                            "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,AA=="},
                        },
                        {"type": "input_audio", "input_audio": {"data": "AA==", "format": "wav"}},
                    ],
                }
            ],
        },
    ),
    (
        "assistant message texts joined; the call after it joins it; the output is a tool message",
        {
            "input": [
                USER,
                {
                    "type": "message",
                    "role": "assistant",
                    "id": "msg_1",
                    "status": "completed",
                    "content": [
                        {"type": "output_text", "text": "Let me ", "annotations": []},
                        {"type": "output_text", "text": "check."},
                    ],
                },
                CALL,
                OUTPUT,
            ]
        },
        {
            "model": "llama-3",
            "messages": [
                USER,
                {"role": "assistant", "content": "Let me check.", "tool_calls": [CHAT_CALL]},
                {"role": "tool", "tool_call_id": "call_1", "content": "42"},
            ],
        },
    ),
    (
        "parallel calls with no assistant text: one assistant message, content null; reasoning dropped",
        {
            "input": [
                USER,
                {
                    "type": "reasoning",
                    "id": "rs_1",
                    "summary": [{"type": "summary_text", "text": "t"}],
                    "encrypted_content": "opaque",
                },
                CALL,
                {**CALL, "call_id": "call_2"},
                OUTPUT,
                {**OUTPUT, "call_id": "call_2", "output": "7"},
            ]
        },
        {
            "model": "llama-3",
            "messages": [
                USER,
                {"role": "assistant", "content": None, "tool_calls": [CHAT_CALL, {**CHAT_CALL, "id": "call_2"}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "42"},
                {"role": "tool", "tool_call_id": "call_2", "content": "7"},
            ],
        },
    ),
    (
        "tool output parts: texts joined; images move into a user message after the tool messages",
        {
            "input": [
                USER,
                CALL,
                {
                    **OUTPUT,
                    "output": [
                        {"type": "input_text", "text": "a"},
                        {"type": "input_image", "image_url": "https://x/p.png"},
                        {"type": "input_text", "text": "b"},
                    ],
                },
                {"role": "user", "content": "and?"},
            ]
        },
        {
            "model": "llama-3",
            "messages": [
                USER,
                {"role": "assistant", "content": None, "tool_calls": [CHAT_CALL]},
                {"role": "tool", "tool_call_id": "call_1", "content": "a\nb"},
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/p.png"}}]},
                {"role": "user", "content": "and?"},
            ],
        },
    ),
    (
        "function tools flat → nested; long names shortened everywhere; tool_choice function",
        {
            "input": [USER, {**CALL, "name": LONG_NAME}, OUTPUT],
            "tools": [TOOL, {"type": "function", "name": LONG_NAME}],
            "tool_choice": {"type": "function", "name": LONG_NAME},
            "parallel_tool_calls": False,
        },
        {
            "model": "llama-3",
            "messages": [
                USER,
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {**CHAT_CALL, "function": {"name": short_tool_name(LONG_NAME), "arguments": '{"x":1}'}}
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "42"},
            ],
            "tools": [
                CHAT_TOOL,
                {
                    "type": "function",
                    "function": {
                        "name": short_tool_name(LONG_NAME),
                        "parameters": {"type": "object", "properties": {}},
                    },
                },
            ],
            "tool_choice": {"type": "function", "function": {"name": short_tool_name(LONG_NAME)}},
            "parallel_tool_calls": False,
        },
    ),
    (
        "allowed_tools: only those tools, with its mode",
        {
            "input": "hi",
            "tools": [TOOL, {**TOOL, "name": "g"}],
            "tool_choice": {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "g"}]},
        },
        {
            "model": "llama-3",
            "messages": [USER],
            "tool_choice": "required",
            "tools": [{"type": "function", "function": {**CHAT_TOOL["function"], "name": "g"}}],
        },
    ),
    (
        "tool_choice without tools is dropped",
        {"input": "hi", "tool_choice": "none"},
        {"model": "llama-3", "messages": [USER]},
    ),
    (
        "json_schema format → response_format; limits and sampling; user; max_tokens for other hosts",
        {
            "input": "hi",
            "text": {
                "format": {"type": "json_schema", "name": "out", "strict": True, "schema": {"type": "object"}},
                "verbosity": "low",
            },
            "max_output_tokens": 300,
            "temperature": 0.3,
            "top_p": 0.9,
            "user": "u-1",
        },
        {
            "model": "llama-3",
            "messages": [USER],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": True},
            },
            "temperature": 0.3,
            "top_p": 0.9,
            "max_tokens": 300,
            "user": "u-1",
        },
    ),
    (
        "json_object format; safety_identifier as user; text format dropped",
        {"input": "hi", "text": {"format": {"type": "json_object"}}, "safety_identifier": "s-1"},
        {"model": "llama-3", "messages": [USER], "response_format": {"type": "json_object"}, "user": "s-1"},
    ),
    (
        "dropped: reasoning, include, store, truncation, metadata, service_tier, retention, top_logprobs",
        {
            "input": "hi",
            "text": {"format": {"type": "text"}},
            "reasoning": {"effort": "high", "summary": "auto"},
            "include": ["reasoning.encrypted_content"],
            "store": True,
            "truncation": "auto",
            "metadata": {"a": "b"},
            "service_tier": "flex",
            "prompt_cache_retention": "24h",
            "top_logprobs": 2,
            "max_tool_calls": 3,
            "background": False,
            "stream_options": {"include_obfuscation": False},
        },
        {"model": "llama-3", "messages": [USER]},
    ),
    (
        "stream → stream + include_usage; the client's prompt_cache_key kept",
        {"input": "hi", "stream": True, "prompt_cache_key": "k-1"},
        {
            "model": "llama-3",
            "messages": [USER],
            "prompt_cache_key": "k-1",
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ),
]


@pytest.mark.parametrize(("fields", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_request(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    assert translate(**fields) == expected


def test_openai_hosts_get_max_completion_tokens() -> None:
    assert translate(OPENAI, input="hi", max_output_tokens=5)["max_completion_tokens"] == 5


def test_a_derived_cache_key_is_set_only_when_the_client_sent_none() -> None:
    assert translate(cache_key="bs-1", input="hi")["prompt_cache_key"] == "bs-1"
    assert translate(cache_key="bs-1", input="hi", prompt_cache_key="mine")["prompt_cache_key"] == "mine"


def test_reasoning_items_are_dropped_even_when_they_carry_anthropic_thinking() -> None:
    thinking = {
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "t"}],
        "encrypted_content": THINKING_PREFIX + "sig",
    }
    messages = translate(input=[USER, thinking, {"role": "assistant", "content": "ok"}])["messages"]
    assert messages == [USER, {"role": "assistant", "content": "ok"}]


def test_the_upstream_request_path_and_headers() -> None:
    request = parse_responses(b'{"model":"gpt-5","input":"hi"}')
    upstream = responses_chat.request(request, VLLM, "api-version=1")
    assert upstream.path == "/v1/chat/completions"
    assert upstream.set_headers == (("authorization", "Bearer sk-test"), ("accept-encoding", "identity"))
    assert "x-api-key" in upstream.remove_headers


# What a translated path refuses, and why: the field named, in the OpenAI error shape.
REFUSED: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "previous_response_id",
        {"previous_response_id": "resp_1", "input": "hi"},
        "previous_response_id",
        "send the whole conversation in `input`",
    ),
    ("conversation", {"conversation": "conv_1", "input": "hi"}, "conversation", "stored conversations"),
    ("stored prompt", {"prompt": {"id": "pmpt_1"}}, "prompt", "stored prompt templates"),
    ("background mode", {"background": True, "input": "hi"}, "background", "background responses"),
    (
        "built-in tool",
        {"input": "hi", "tools": [TOOL, {"type": "web_search"}]},
        "tools[1].type",
        "'web_search' is a built-in tool",
    ),
    (
        "file search tool",
        {"input": "hi", "tools": [{"type": "file_search", "vector_store_ids": ["v"]}]},
        "tools[0].type",
        "built-in tool",
    ),
    (
        "computer use tool",
        {
            "input": "hi",
            "tools": [
                {"type": "computer_use_preview", "display_width": 1, "display_height": 1, "environment": "linux"}
            ],
        },
        "tools[0].type",
        "built-in tool",
    ),
    (
        "hosted tool choice",
        {"input": "hi", "tools": [TOOL], "tool_choice": {"type": "web_search_preview"}},
        "tool_choice",
        "names a tool only OpenAI runs",
    ),
    (
        "choice of an undeclared function",
        {"input": "hi", "tools": [TOOL], "tool_choice": {"type": "function", "name": "nope"}},
        "tool_choice.name",
        "not a function tool",
    ),
    (
        "item reference",
        {"input": [USER, {"type": "item_reference", "id": "msg_1"}]},
        "input[1].type",
        "names an item stored on OpenAI",
    ),
    ("untyped item reference", {"input": [{"id": "msg_1"}]}, "input[0].type", "stored on OpenAI"),
    (
        "built-in tool record",
        {"input": [USER, {"type": "web_search_call", "id": "ws", "status": "completed"}]},
        "input[1].type",
        "records a tool only OpenAI runs",
    ),
    (
        "image by file id",
        {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]},
        "input[0].content[0].file_id",
        "stored on OpenAI",
    ),
    (
        "file by id",
        {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]},
        "input[0].content[0].file_id",
        "only inline file_data",
    ),
    (
        "file by URL",
        {"input": [{"role": "user", "content": [{"type": "input_file", "file_url": "https://f"}]}]},
        "input[0].content[0].file_url",
        "only inline file_data",
    ),
    ("no input", {"instructions": "x"}, "input", "Missing required parameter"),
    ("empty input", {"input": []}, "input", "must not be empty"),
]


@pytest.mark.parametrize(("fields", "param", "text"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_refused(fields: dict[str, Any], param: str, text: str) -> None:
    with pytest.raises(ClientError) as caught:
        translate(**fields)
    assert caught.value.status == 400
    assert caught.value.param == param
    assert caught.value.message.startswith(param) and text in caught.value.message
    body = orjson.loads(caught.value.render("openai"))
    assert body["error"]["param"] == param and body["error"]["type"] == "invalid_request_error"


def test_store_true_is_served_and_never_honoured() -> None:
    """The API's default: refusing it would break clients that never read a stored response back."""
    assert translate(input="hi", store=True) == {"model": "llama-3", "messages": [USER]}


def test_parallel_tool_calls_without_tools_is_dropped() -> None:
    assert translate(input="hi", parallel_tool_calls=True) == {"model": "llama-3", "messages": [USER]}


def test_a_dropped_reasoning_item_does_not_split_the_assistant_turn() -> None:
    reasoning = {"type": "reasoning", "summary": []}
    messages = translate(input=[USER, {"role": "assistant", "content": "a"}, reasoning, CALL, OUTPUT])["messages"]
    assert messages[1] == {"role": "assistant", "content": "a", "tool_calls": [CHAT_CALL]}
