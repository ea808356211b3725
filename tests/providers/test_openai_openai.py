"""The OpenAI chat → OpenAI-compatible adapter as golden cases: client body and provider in, upstream request out."""

from __future__ import annotations

from typing import Any

import pytest

from brightstaff.config import Provider, parse_config
from brightstaff.core.chat import parse_chat
from brightstaff.core.outcome import UpstreamRequest
from brightstaff.providers import openai_openai


def provider(**fields: Any) -> Provider:
    entry = {"model": "openai/gpt-4o", "base_url": "http://127.0.0.1:9001/v1", **fields}
    return parse_config({"model_providers": [entry]}, env={"KEY": "sk-test"}).providers[0]


CASES: list[tuple[str, bytes, dict[str, Any], str, UpstreamRequest]] = [
    (
        "model rewritten, key as bearer, other client keys removed",
        b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}',
        {"access_key": "$KEY"},
        "",
        UpstreamRequest(
            path="/v1/chat/completions",
            set_headers=(("authorization", "Bearer sk-test"),),
            remove_headers=("x-api-key", "api-key"),
            body=b'{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}',
        ),
    ),
    (
        "other fields byte for byte, in the client's order, query kept",
        b'{"temperature":0.10,"model":"x","stream":true,"messages":[] , "n":1}',
        {"access_key": "$KEY"},
        "api-version=2024-06-01",
        UpstreamRequest(
            path="/v1/chat/completions?api-version=2024-06-01",
            set_headers=(("authorization", "Bearer sk-test"),),
            remove_headers=("x-api-key", "api-key"),
            body=b'{"temperature":0.10,"model":"gpt-4o","stream":true,"messages":[],"n":1}',
        ),
    ),
    (
        "no key: every client credential removed",
        b'{"model":"x","messages":[]}',
        {},
        "",
        UpstreamRequest(
            path="/v1/chat/completions",
            set_headers=(),
            remove_headers=("authorization", "x-api-key", "api-key"),
            body=b'{"model":"gpt-4o","messages":[]}',
        ),
    ),
    (
        "passthrough_auth: the client's credentials go through",
        b'{"model":"x","messages":[]}',
        {"access_key": "$KEY", "passthrough_auth": True},
        "",
        UpstreamRequest(
            path="/v1/chat/completions",
            set_headers=(),
            remove_headers=(),
            body=b'{"model":"gpt-4o","messages":[]}',
        ),
    ),
    (
        "base URL path kept, trailing slash dropped",
        b'{"model":"x","messages":[]}',
        {"base_url": "https://example.test/openai/v1/"},
        "",
        UpstreamRequest(
            path="/openai/v1/chat/completions",
            set_headers=(),
            remove_headers=("authorization", "x-api-key", "api-key"),
            body=b'{"model":"gpt-4o","messages":[]}',
        ),
    ),
    (
        "non-ASCII text untouched",
        '{"model":"x","messages":[{"role":"user","content":"héllo 日本"}]}'.encode(),
        {},
        "",
        UpstreamRequest(
            path="/v1/chat/completions",
            set_headers=(),
            remove_headers=("authorization", "x-api-key", "api-key"),
            body='{"model":"gpt-4o","messages":[{"role":"user","content":"héllo 日本"}]}'.encode(),
        ),
    ),
]


@pytest.mark.parametrize(("body", "fields", "query", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_request(body: bytes, fields: dict[str, Any], query: str, expected: UpstreamRequest) -> None:
    assert openai_openai.request(parse_chat(body), provider(**fields), query) == expected
