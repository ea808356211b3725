"""Anthropic Messages bodies: what parses (valid Anthropic features untouched), what is a 400 naming the field."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from brightstaff.core.errors import ClientError
from brightstaff.core.messages import (
    BLOCK_TYPES,
    parse_count_tokens,
    parse_messages,
    read_count_tokens,
    read_messages,
    with_model,
)


def body(**fields: Any) -> bytes:
    return orjson.dumps({"model": "claude-sonnet-4-5", "max_tokens": 1024, **fields})


def user(*blocks: Any) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


def assistant(*blocks: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks)}


TEXT = {"type": "text", "text": "hi"}
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
DOCUMENT = {"type": "document", "source": {"type": "url", "url": "https://example.test/a.pdf"}}
THINKING = {"type": "thinking", "thinking": "let me see", "signature": "sig"}
TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "run", "input": {"q": 1}}
TOOL_RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok", "is_error": False}
CACHED = {"type": "text", "text": "long context", "cache_control": {"type": "ephemeral", "ttl": "1h"}}

VALID: list[tuple[str, bytes]] = [
    ("a string message", body(messages=[{"role": "user", "content": "hi"}])),
    ("no messages yet (count_tokens-like)", body(messages=[])),
    ("text, image, document and cache_control", body(messages=[user(TEXT, IMAGE, DOCUMENT, CACHED)])),
    ("thinking and tool use from the assistant", body(messages=[user(TEXT), assistant(THINKING, TEXT, TOOL_USE)])),
    ("redacted thinking", body(messages=[assistant({"type": "redacted_thinking", "data": "xx"})])),
    ("tool results from the user, text after them", body(messages=[user(TOOL_RESULT, TEXT)])),
    (
        "server tool blocks on the assistant side",
        body(
            messages=[
                assistant(
                    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
                    {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                )
            ]
        ),
    ),
    (
        "system as text blocks with cache_control",
        body(system=[{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}], messages=[]),
    ),
    (
        "thinking config, metadata, tools, unknown top-level fields",
        body(
            messages=[user(TEXT)],
            thinking={"type": "enabled", "budget_tokens": 2048},
            metadata={"user_id": "u-1"},
            tools=[{"type": "web_search_20250305", "name": "web_search"}],
            some_future_field={"x": 1},
        ),
    ),
    ("max_tokens 0 pre-warms the prompt cache", orjson.dumps({"model": "m", "max_tokens": 0, "messages": []})),
    ("every known block type in a role that allows it", body(messages=[user({"type": "search_result"})])),
]


@pytest.mark.parametrize("raw", [c[1] for c in VALID], ids=[c[0] for c in VALID])
def test_valid_bodies_parse_and_rewrite_only_the_model(raw: bytes) -> None:
    request = parse_messages(raw)
    rewritten = orjson.loads(with_model(request, "claude-opus-4-1"))
    assert rewritten == {**orjson.loads(raw), "model": "claude-opus-4-1"}


def test_the_rewrite_keeps_every_other_byte() -> None:
    raw = (
        '{"max_tokens":  1024,"messages":[{"role":"user","content":"caf\u00e9 \\u00e9 \\"model\\""}],'
        '"model":"x","thinking":{"type":"adaptive"}}'
    ).encode()
    out = with_model(parse_messages(raw), "claude-sonnet-4-5")
    assert out == raw.replace(b'"model":"x"', b'"model":"claude-sonnet-4-5"').replace(b":  1024", b":1024")


def test_model_stream_and_max_tokens_are_read() -> None:
    request = parse_messages(orjson.dumps({"model": " m ", "max_tokens": 9, "messages": [], "stream": True}))
    assert (request.model, request.stream, request.max_tokens) == ("m", True, 9)
    assert parse_messages(body(messages=[], stream="yes")).stream is False


def test_count_tokens_needs_no_max_tokens() -> None:
    request = parse_count_tokens(orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
    assert request.max_tokens is None
    with pytest.raises(ClientError) as info:
        parse_count_tokens(orjson.dumps({"model": "m", "messages": [{"role": "system", "content": "x"}]}))
    assert info.value.param == "messages.0.role"


BAD: list[tuple[str, bytes, str | None, str]] = [
    ("malformed JSON", b'{"model": "m",', None, "not valid JSON"),
    ("not an object", b"[1]", None, "JSON object"),
    ("empty body", b"", None, "empty"),
    ("missing model", orjson.dumps({"max_tokens": 1, "messages": []}), "model", "model"),
    ("empty model", body(model=" ", messages=[]), "model", "model"),
    ("missing max_tokens", orjson.dumps({"model": "m", "messages": []}), "max_tokens", "max_tokens: Field required"),
    ("negative max_tokens", body(max_tokens=-1, messages=[]), "max_tokens", "integer >= 0"),
    ("fractional max_tokens", body(max_tokens=1.5, messages=[]), "max_tokens", "integer >= 0"),
    ("string max_tokens", body(max_tokens="100", messages=[]), "max_tokens", "integer >= 0"),
    ("boolean max_tokens", body(max_tokens=True, messages=[]), "max_tokens", "integer >= 0"),
    ("missing messages", body(), "messages", "messages: Field required"),
    ("messages not an array", body(messages={"role": "user"}), "messages", "must be an array"),
    ("a message not an object", body(messages=["hi"]), "messages.0", "Expected `object`"),
    ("system role in messages", body(messages=[{"role": "system", "content": "x"}]), "messages.0.role", "'user' or"),
    ("no role", body(messages=[{"content": "x"}]), "messages.0", "missing required field `role`"),
    ("no content", body(messages=[{"role": "user"}]), "messages.0", "missing required field `content`"),
    ("content a number", body(messages=[{"role": "user", "content": 5}]), "messages.0.content", "Expected"),
    (
        "unknown block type",
        body(messages=[user(TEXT, {"type": "video"})]),
        "messages.0.content.1.type",
        "unknown content block type 'video'",
    ),
    (
        "block without a type",
        body(messages=[user({"text": "x"})]),
        "messages.0.content.0",
        "missing required field `type`",
    ),
    (
        "tool_use from the user",
        body(messages=[user(TOOL_USE)]),
        "messages.0.content.0.type",
        "a 'tool_use' block is not allowed in user messages",
    ),
    (
        "thinking from the user",
        body(messages=[user(TEXT), user(THINKING)]),
        "messages.1.content.0.type",
        "a 'thinking' block is not allowed in user messages",
    ),
    (
        "tool_result from the assistant",
        body(messages=[user(TEXT), assistant(TOOL_RESULT)]),
        "messages.1.content.0.type",
        "a 'tool_result' block is not allowed in assistant messages",
    ),
    ("text block without text", body(messages=[user({"type": "text"})]), "messages.0.content.0", "`text`"),
    (
        "text block with a number",
        body(messages=[user({"type": "text", "text": 1})]),
        "messages.0.content.0.text",
        "Expected `str`",
    ),
    (
        "tool_use without an id",
        body(messages=[assistant({"type": "tool_use", "name": "f", "input": {}})]),
        "messages.0.content.0",
        "`id`",
    ),
    (
        "tool_result without tool_use_id",
        body(messages=[user({"type": "tool_result", "content": "x"})]),
        "messages.0.content.0",
        "`tool_use_id`",
    ),
    ("system a number", body(system=5, messages=[]), "system", "Expected `str | array`"),
    ("system with an image", body(system=[IMAGE], messages=[]), "system.0.type", "string or an array of text"),
]


@pytest.mark.parametrize(("raw", "param", "says"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_bodies_are_400s_naming_the_field(raw: bytes, param: str | None, says: str) -> None:
    with pytest.raises(ClientError) as info:
        parse_messages(raw)
    error = info.value
    assert error.status == 400
    assert says in error.message
    if param is not None:
        assert error.param == param
        assert error.message.startswith(param) or param == "model"
    rendered = orjson.loads(error.render("anthropic"))
    assert rendered == {"type": "error", "error": {"type": "invalid_request_error", "message": error.message}}


def test_block_type_table_holds_the_roles_exclusions() -> None:
    assert {"tool_use", "tool_result", "thinking", "redacted_thinking", "text", "image", "document"} <= BLOCK_TYPES


def test_the_conversation_is_built_once_on_first_use() -> None:
    request = parse_messages(body(system="s", messages=[{"role": "user", "content": "hi"}]))
    assert request.conversation is request.conversation
    assert [t.role for t in request.conversation.turns] == ["system", "user"]


def test_a_huge_client_value_is_not_echoed_whole() -> None:
    for message in ({"role": "x" * 5000, "content": "a"}, user({"type": "y" * 5000})):
        with pytest.raises(ClientError) as info:
            parse_messages(body(messages=[message]))
        assert len(info.value.message) < 300
        assert "(5002 characters)" in info.value.message


def test_the_handlers_reader_checks_the_content_on_first_read_and_on_every_read_after() -> None:
    bad = orjson.dumps(
        {"model": "m", "max_tokens": 5, "system": [{"type": "image"}], "messages": [{"role": "user", "content": "x"}]}
    )
    with pytest.raises(ClientError) as eager:
        parse_messages(bad)
    request = read_messages(bad)
    assert request.model == "m" and request.max_tokens == 5
    assert orjson.loads(with_model(request, "n"))["system"] == [{"type": "image"}]  # forwarded unread
    for _ in range(2):
        with pytest.raises(ClientError) as deferred:
            _ = request.messages
        assert deferred.value.message == eager.value.message
    with pytest.raises(ClientError, match="max_tokens: Field required"):
        read_messages(orjson.dumps({"model": "m", "messages": []}))  # the cheap checks stay at parse time
    assert read_count_tokens(orjson.dumps({"model": "m", "messages": []})).messages == []
