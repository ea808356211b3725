"""Chat body parsing, the model rewrite and message text extraction."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from brightstaff.core.chat import ChatRequest, parse_chat, with_model
from brightstaff.core.errors import ClientError


def test_parse_keeps_everything_and_reads_model_and_stream() -> None:
    body = b'{"model":" gpt-4o-mini ","messages":[{"role":"user","content":"hi"}],"stream":true,"temperature":0.2}'
    chat = parse_chat(body)
    assert chat.model == "gpt-4o-mini"
    assert chat.stream is True
    assert chat.messages == [{"role": "user", "content": "hi"}]
    assert orjson.loads(with_model(chat, "m"))["temperature"] == 0.2


def test_rewrite_replaces_only_the_model() -> None:
    chat = parse_chat(b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"model: keep me"}],"n":1}')
    out = orjson.loads(with_model(chat, "claude-sonnet-4-20250514"))
    assert out == {
        "model": "claude-sonnet-4-20250514",
        "messages": [{"role": "user", "content": "model: keep me"}],
        "n": 1,
    }


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        (b"", "invalid_request_body", 400),
        (b"   ", "invalid_request_body", 400),
        (b"{bad json", "invalid_json", 400),
        (b"[1,2]", "invalid_request_body", 400),
        (b'{"messages":[]}', "missing_required_parameter", 400),
        (b'{"model":42,"messages":[]}', "invalid_request_body", 400),
        (b'{"model":"","messages":[]}', "invalid_request_body", 400),
        (b'{"model":"m","messages":"hi"}', "invalid_request_body", 400),
        (b"\xff\xfe", "invalid_json", 400),
        (b'{"model":"m","messages":[{"role":"user","content":"\xff"}]}', "invalid_json", 400),
        (b'{"model":"m","messages":[' + b"[" * 5000 + b"]" * 5000 + b"]}", "invalid_json", 400),
        (b'{"model":"m","messages":[],}', "invalid_json", 400),
        (b'{"model":"m"} trailing', "invalid_json", 400),
    ],
)
def test_bad_bodies_are_client_errors(body: bytes, code: str, status: int) -> None:
    with pytest.raises(ClientError) as info:
        parse_chat(body)
    assert info.value.code == code
    assert info.value.status == status
    payload = orjson.loads(info.value.to_json())
    assert payload["error"]["code"] == code
    assert payload["error"]["type"] == "invalid_request_error"


def test_rewrite_keeps_every_other_field_byte_for_byte() -> None:
    body = '{"messages":[{"role":"user","content":"caf\u00e9 \\u00e9 \\"model\\""}],"temperature":0.50,"model":"x"}'
    out = with_model(parse_chat(body.encode()), "gpt-4o")
    assert out == body.replace('"model":"x"', '"model":"gpt-4o"').encode()


def test_null_messages_are_no_messages() -> None:
    assert parse_chat(b'{"model":"m","messages":null}').messages == []


def test_missing_model_names_the_param() -> None:
    with pytest.raises(ClientError) as info:
        parse_chat(b'{"messages":[]}')
    assert info.value.param == "model"


def test_a_request_built_from_decoded_fields_reads_as_its_encoded_body_parses() -> None:
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "temperature": 0.5,
        "stream": True,
    }
    built = ChatRequest.from_fields(" gpt-4o ", body)
    parsed = parse_chat(orjson.dumps({"model": " gpt-4o ", **body}))
    assert (built.model, built.stream, built.messages) == (parsed.model, parsed.stream, parsed.messages)
    assert built.messages is body["messages"]  # kept, not encoded and decoded again
    assert {k: bytes(v) for k, v in built.fields.items()} == {
        k: bytes(v) for k, v in parsed.fields.items() if k != "messages"
    }
