"""Anthropic client → Anthropic backend: the body passes through with only `model` rewritten."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from translator_fixtures import provider

from brightstaff.core.messages import parse_count_tokens, parse_messages
from brightstaff.core.outcome import UpstreamRequest
from brightstaff.providers import anthropic_anthropic

VERSION = (("anthropic-version", "2023-06-01"),)

RICH = {
    "model": "claude-3-haiku",
    "max_tokens": 2048,
    "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
                {"type": "document", "source": {"type": "url", "url": "https://example.test/a.pdf"}},
                {"type": "text", "text": "what is this?", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "EqQB"},
                {"type": "tool_use", "id": "toolu_1", "name": "look", "input": {}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a cat"}]},
    ],
    "tools": [{"type": "web_search_20250305", "name": "web_search"}, {"name": "look", "input_schema": {}}],
    "stream": True,
}

CASES: list[tuple[str, bytes, dict[str, object], str, UpstreamRequest]] = [
    (
        "thinking, cache_control, images, documents, server tools: untouched but for the model",
        orjson.dumps(RICH),
        {},
        "",
        UpstreamRequest(
            path="/v1/messages",
            set_headers=(("x-api-key", "sk-test"),),
            remove_headers=("authorization", "api-key"),
            body=orjson.dumps({**RICH, "model": "claude-sonnet-4-5"}),
            default_headers=VERSION,
        ),
    ),
    (
        "bytes kept, query kept (the SDK's beta=true)",
        b'{"max_tokens":  10,"model":"x","messages":[{"role":"user","content":"caf\\u00e9"}]}',
        {},
        "beta=true",
        UpstreamRequest(
            path="/v1/messages?beta=true",
            set_headers=(("x-api-key", "sk-test"),),
            remove_headers=("authorization", "api-key"),
            body=b'{"max_tokens":10,"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"caf\\u00e9"}]}',
            default_headers=VERSION,
        ),
    ),
    (
        "passthrough_auth: the client's x-api-key goes through",
        b'{"model":"x","max_tokens":1,"messages":[]}',
        {"passthrough_auth": True},
        "",
        UpstreamRequest(
            path="/v1/messages",
            set_headers=(),
            remove_headers=(),
            body=b'{"model":"claude-sonnet-4-5","max_tokens":1,"messages":[]}',
            default_headers=VERSION,
        ),
    ),
    (
        "base URL without a path: the vendor's /v1, as in Plano",
        b'{"model":"x","max_tokens":1,"messages":[]}',
        {"base_url": "http://127.0.0.1:9/"},
        "",
        UpstreamRequest(
            path="/v1/messages",
            set_headers=(("x-api-key", "sk-test"),),
            remove_headers=("authorization", "api-key"),
            body=b'{"model":"claude-sonnet-4-5","max_tokens":1,"messages":[]}',
            default_headers=VERSION,
        ),
    ),
]


@pytest.mark.parametrize(("body", "fields", "query", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_request(body: bytes, fields: dict[str, Any], query: str, expected: UpstreamRequest) -> None:
    assert anthropic_anthropic.request(parse_messages(body), provider(**fields), query) == expected


def test_count_tokens_is_forwarded_to_the_provider() -> None:
    body = b'{"model":"x","messages":[{"role":"user","content":"hi"}]}'
    upstream = anthropic_anthropic.count_tokens(parse_count_tokens(body), provider(), "")
    assert upstream.path == "/v1/messages/count_tokens"
    assert upstream.body == b'{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}'
    assert upstream.default_headers == VERSION
    assert ("x-api-key", "sk-test") in upstream.set_headers
