"""Anthropic client → OpenAI-compatible backend, the request: Messages body in, chat body out (notes §4, §7.11)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from translator_fixtures import provider

from brightstaff.core.errors import ClientError
from brightstaff.core.messages import parse_messages
from brightstaff.providers import anthropic_openai
from brightstaff.providers.messages_from_chat import MessagesFromChat
from brightstaff.providers.tool_naming import short_tool_name

VLLM = provider("openai/llama-3", base_url="http://10.0.0.5:8000/v1")
OPENAI = provider("openai/gpt-5", base_url="https://api.openai.com/v1")
USER = {"role": "user", "content": "hi"}
LONG_NAME = "mcp__a_very_long_server_name__and_an_even_longer_tool_name_for_reading"  # 70 characters


def translate(backend: Any = VLLM, **fields: Any) -> dict[str, Any]:
    request = parse_messages(orjson.dumps({"model": "claude-sonnet-4-5", "max_tokens": 100, **fields}))
    translated: dict[str, Any] = orjson.loads(anthropic_openai.translate_request(request, backend))
    return translated


def blocks(role: str, *content: dict[str, Any]) -> dict[str, Any]:
    return {"role": role, "content": list(content)}


TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"x": 1}}
CALL: dict[str, Any] = {"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}

CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "system string first; max_tokens for vLLM; temperature, top_p kept; top_k dropped",
        {"system": "be brief", "messages": [USER], "temperature": 0.2, "top_p": 0.9, "top_k": 5},
        {
            "model": "llama-3",
            "messages": [{"role": "system", "content": "be brief"}, USER],
            "max_tokens": 100,
            "temperature": 0.2,
            "top_p": 0.9,
        },
    ),
    (
        "system blocks joined; cache_control and thinking dropped",
        {
            "system": [
                {"type": "text", "text": "a"},
                {"type": "text", "text": "b", "cache_control": {"type": "ephemeral"}},
            ],
            "messages": [blocks("user", {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}})],
            "thinking": {"type": "enabled", "budget_tokens": 2048},
        },
        {"model": "llama-3", "messages": [{"role": "system", "content": "a\nb"}, USER], "max_tokens": 100},
    ),
    (
        "§7.11 tool_result + text → the tool messages, then the user message",
        {
            "messages": [
                USER,
                blocks(
                    "assistant",
                    {"type": "thinking", "thinking": "t", "signature": "s"},
                    {"type": "text", "text": "ok"},
                    TOOL_USE,
                ),
                blocks(
                    "user",
                    {"type": "text", "text": "and?"},
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "r1"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "is_error": True,
                        "content": [{"type": "text", "text": "boom"}, {"type": "text", "text": "trace"}],
                    },
                ),
            ]
        },
        {
            "model": "llama-3",
            "messages": [
                USER,
                {"role": "assistant", "content": "ok", "tool_calls": [CALL]},
                {"role": "tool", "tool_call_id": "toolu_1", "content": "r1"},
                {"role": "tool", "tool_call_id": "toolu_2", "content": "boom\ntrace"},
                {"role": "user", "content": "and?"},
            ],
            "max_tokens": 100,
        },
    ),
    (
        "a tool-only assistant turn has content null; an image in a tool result moves to the user message",
        {
            "messages": [
                USER,
                blocks("assistant", TOOL_USE),
                blocks(
                    "user",
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [
                            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}
                        ],
                    },
                ),
            ]
        },
        {
            "model": "llama-3",
            "messages": [
                USER,
                {"role": "assistant", "content": None, "tool_calls": [CALL]},
                {"role": "tool", "tool_call_id": "toolu_1", "content": ""},
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}],
                },
            ],
            "max_tokens": 100,
        },
    ),
    (
        "images and documents as parts; a thinking-only assistant turn is dropped",
        {
            "messages": [
                blocks(
                    "user",
                    {"type": "text", "text": "look"},
                    {"type": "image", "source": {"type": "url", "url": "https://example.test/a.png"}},
                    {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}},
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes"}},
                ),
                blocks("assistant", {"type": "redacted_thinking", "data": "x"}),
            ]
        },
        {
            "model": "llama-3",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "look"},
                        {"type": "image_url", "image_url": {"url": "https://example.test/a.png"}},
                        {
                            "type": "file",
                            "file": {"filename": "document.pdf", "file_data": "data:application/pdf;base64,JVBE"},
                        },
                        {"type": "text", "text": "notes"},
                    ],
                }
            ],
            "max_tokens": 100,
        },
    ),
    (
        "§7.11 any + disable_parallel_tool_use → required + parallel_tool_calls false; server tools dropped",
        {
            "messages": [USER],
            "tools": [
                {
                    "name": "f",
                    "description": "d",
                    "input_schema": {"type": "object", "properties": {"x": {"type": "integer"}}},
                },
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
                {"type": "bash_20250124", "name": "bash"},
                {
                    "type": "custom",
                    "name": "g",
                    "input_schema": {"type": "object"},
                    "cache_control": {"type": "ephemeral"},
                },
            ],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        },
        {
            "model": "llama-3",
            "messages": [USER],
            "max_tokens": 100,
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "f",
                        "description": "d",
                        "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}},
                    },
                },
                {"type": "function", "function": {"name": "g", "parameters": {"type": "object"}}},
            ],
            "tool_choice": "required",
            "parallel_tool_calls": False,
        },
    ),
    (
        "§7.11 a 70-character tool name is shortened everywhere it appears",
        {
            "messages": [USER, blocks("assistant", {**TOOL_USE, "name": LONG_NAME})],
            "tools": [{"name": LONG_NAME, "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "tool", "name": LONG_NAME},
        },
        {
            "model": "llama-3",
            "messages": [
                USER,
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{**CALL, "function": {**CALL["function"], "name": short_tool_name(LONG_NAME)}}],
                },
            ],
            "max_tokens": 100,
            "tools": [
                {"type": "function", "function": {"name": short_tool_name(LONG_NAME), "parameters": {"type": "object"}}}
            ],
            "tool_choice": {"type": "function", "function": {"name": short_tool_name(LONG_NAME)}},
        },
    ),
    (
        "§7.11 stream adds include_usage; stop_sequences → stop; metadata.user_id → user",
        {"messages": [USER], "stream": True, "stop_sequences": ["END"], "metadata": {"user_id": "u-1"}},
        {
            "model": "llama-3",
            "messages": [USER],
            "max_tokens": 100,
            "stop": ["END"],
            "user": "u-1",
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ),
    (
        "structured output → response_format json_schema",
        {
            "messages": [USER],
            "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}, "effort": "high"},
        },
        {
            "model": "llama-3",
            "messages": [USER],
            "max_tokens": 100,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "structured_output", "schema": {"type": "object"}},
            },
        },
    ),
    (
        "tool_choice auto and none; none drops the parallel flag",
        {
            "messages": [USER],
            "tools": [{"name": "f", "input_schema": {}}],
            "tool_choice": {"type": "none", "disable_parallel_tool_use": True},
        },
        {
            "model": "llama-3",
            "messages": [USER],
            "max_tokens": 100,
            "tools": [
                {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
            ],
            "tool_choice": "none",
        },
    ),
]


@pytest.mark.parametrize(("fields", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_request_body(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    assert translate(**fields) == expected


def test_openai_itself_gets_max_completion_tokens() -> None:
    body = translate(OPENAI, messages=[USER])
    assert body["max_completion_tokens"] == 100
    assert "max_tokens" not in body
    azure = provider("openai/gpt-5", base_url="https://team.openai.azure.com/openai/v1")
    assert "max_completion_tokens" in translate(azure, messages=[USER])


REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("max_tokens 0 (a cache pre-warm)", {"messages": [USER], "max_tokens": 0}, "max_tokens"),
    (
        "a search result",
        {"messages": [blocks("user", {"type": "search_result", "source": "s", "title": "t", "content": []})]},
        "messages.0.content.0",
    ),
    (
        "a URL PDF",
        {"messages": [blocks("user", {"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}})]},
        "messages.0.content.0",
    ),
    (
        "an image by file id",
        {"messages": [blocks("user", {"type": "image", "source": {"type": "file", "file_id": "file_1"}})]},
        "messages.0.content.0",
    ),
    (
        "a document inside a tool result",
        {
            "messages": [
                blocks(
                    "user",
                    {
                        "type": "tool_result",
                        "tool_use_id": "t",
                        "content": [{"type": "document", "source": {"type": "text", "data": "x"}}],
                    },
                )
            ]
        },
        "messages.0.content.0.content.0",
    ),
    (
        "tool_choice naming a dropped server tool",
        {
            "messages": [USER],
            "tools": [{"name": "f", "input_schema": {}}, {"type": "web_search_20250305", "name": "web_search"}],
            "tool_choice": {"type": "tool", "name": "web_search"},
        },
        "tool_choice.name",
    ),
    (
        "a format that is not json_schema",
        {"messages": [USER], "output_config": {"format": {"type": "xml"}}},
        "output_config.format",
    ),
]


@pytest.mark.parametrize(("fields", "param"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_what_cannot_be_translated_is_a_400_naming_the_field(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(ClientError) as info:
        translate(**fields)
    error = info.value
    assert (error.status, error.param) == (400, param)
    body = orjson.loads(error.render("anthropic"))
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith(param)


def test_the_upstream_request() -> None:
    request = parse_messages(orjson.dumps({"model": "claude", "max_tokens": 5, "messages": [USER]}))
    upstream = anthropic_openai.request(request, VLLM, "beta=true")
    assert upstream.path == "/v1/chat/completions"
    assert upstream.set_headers == (("authorization", "Bearer sk-test"), ("accept-encoding", "identity"))
    assert upstream.remove_headers == (
        "x-api-key",
        "api-key",
        "anthropic-version",
        "anthropic-beta",
        "anthropic-dangerous-direct-browser-access",
    )
    assert upstream.default_headers == ()


def test_the_response_translator_knows_the_shortened_names() -> None:
    request = parse_messages(
        orjson.dumps(
            {"model": "c", "max_tokens": 5, "messages": [USER], "tools": [{"name": LONG_NAME, "input_schema": {}}]}
        )
    )
    translator = anthropic_openai.response(request, VLLM)
    assert isinstance(translator, MessagesFromChat)
    assert translator._names == {short_tool_name(LONG_NAME): LONG_NAME}


def test_a_pin_derived_cache_key_becomes_prompt_cache_key() -> None:
    request = parse_messages(orjson.dumps({"model": "c", "max_tokens": 5, "messages": [USER]}))
    assert orjson.loads(anthropic_openai.request(request, VLLM, "", cache_key="bsk_1").body)["prompt_cache_key"] == (
        "bsk_1"
    )
    assert "prompt_cache_key" not in orjson.loads(anthropic_openai.request(request, VLLM, "").body)
