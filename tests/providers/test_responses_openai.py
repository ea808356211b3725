"""Responses client → a backend that serves the Responses API: the body passes through, `model` rewritten,
stateful features included (the provider keeps that state; the pin keeps the session there)."""

from __future__ import annotations

import pytest
from translator_fixtures import provider

from brightstaff.core.chat import parse_chat
from brightstaff.core.responses import parse_responses
from brightstaff.providers import openai_openai, responses_openai

OPENAI = provider("openai/gpt-5", base_url="https://api.openai.com/v1")

STATEFUL = (
    b'{"model":"gpt-4o","previous_response_id":"resp_1","store":true,"background":true,"conversation":"c",'
    b'"input":[{"type":"item_reference","id":"msg_1"},{"type":"web_search_call","id":"ws","status":"completed"}],'
    b'"tools":[{"type":"web_search"},{"type":"file_search","vector_store_ids":["v"]}],"include":["x"] }'
)


@pytest.mark.parametrize(
    ("body", "query", "path", "expected"),
    [
        (b'{"model":"gpt-4o","input":"hi"}', "", "/v1/responses", b'{"model":"gpt-5","input":"hi"}'),
        (STATEFUL, "api-version=1", "/v1/responses?api-version=1", STATEFUL.replace(b"gpt-4o", b"gpt-5")[:-2] + b"}"),
        (
            b'{"input" : [ ],"model":"x","stream":true}',
            "",
            "/v1/responses",
            b'{"input":[ ],"model":"gpt-5","stream":true}',
        ),
    ],
    ids=["model rewritten", "stateful fields and built-in tools pass, query kept", "other fields byte for byte"],
)
def test_passthrough(body: bytes, query: str, path: str, expected: bytes) -> None:
    upstream = responses_openai.request(parse_responses(body), OPENAI, query)
    assert upstream.path == path
    assert upstream.body == expected
    assert upstream.set_headers == (("authorization", "Bearer sk-test"),)
    assert upstream.remove_headers == ("x-api-key", "api-key")


def test_a_derived_cache_key_is_added_only_when_the_client_sent_none() -> None:
    plain = parse_responses(b'{"model":"m","input":"hi"}')
    mine = parse_responses(b'{"model":"m","prompt_cache_key":"mine","input":"hi"}')
    assert responses_openai.request(plain, OPENAI, "", cache_key="bs-1").body == (
        b'{"model":"gpt-5","input":"hi","prompt_cache_key":"bs-1"}'
    )
    assert responses_openai.request(mine, OPENAI, "", cache_key="bs-1").body == (
        b'{"model":"gpt-5","prompt_cache_key":"mine","input":"hi"}'
    )


def test_chat_passthrough_takes_the_derived_cache_key_the_same_way() -> None:
    chat = parse_chat(b'{"model":"m","messages":[]}')
    assert openai_openai.request(chat, OPENAI, "", cache_key="bs-1").body == (
        b'{"model":"gpt-5","messages":[],"prompt_cache_key":"bs-1"}'
    )
    assert openai_openai.request(chat, OPENAI, "").body == b'{"model":"gpt-5","messages":[]}'
