"""Request bodies as JSON objects: what is accepted, and the exact error for each way a body can be wrong."""

from __future__ import annotations

import pytest

from brightstaff.core.errors import ClientError
from brightstaff.core.json_body import split_object, with_field


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (b"", "invalid_request_body", "The request body is empty; expected a JSON object."),
        (b"  \n", "invalid_request_body", "The request body is empty; expected a JSON object."),
        (b"[1]", "invalid_request_body", "The request body must be a JSON object."),
        (b'"x"', "invalid_request_body", "The request body must be a JSON object."),
        (b'{"a":1,}', "invalid_json", "The request body is not valid JSON: trailing comma in object (byte 7)"),
        (b'{"a":"\\x"}', "invalid_json", "The request body is not valid JSON: invalid escaped character (byte 7)"),
        (
            b'{"a":"\\u12"}',
            "invalid_json",
            "The request body is not valid JSON: invalid character in unicode escape (byte 11)",
        ),
        (
            b'{"model":"\\ud800"}',
            "invalid_json",
            "The request body is not valid JSON: a \\u escape of a lone UTF-16 high surrogate (byte 10); "
            "JSON needs the pair",
        ),
        (
            b'{"a":"\\udc00"}',
            "invalid_json",
            "The request body is not valid JSON: invalid utf-16 surrogate pair (byte 12)",
        ),
        (
            b'{"a":',
            "invalid_json",
            "The request body is not valid JSON: the body ends before the JSON value is complete",
        ),
        (b'{"a":"\xff"}', "invalid_json", "The request body is not valid JSON: the body is not valid UTF-8 (byte 6)"),
        (b'{"a":1} {}', "invalid_json", "The request body is not valid JSON: trailing characters (byte 9)"),
        (b"[" * 10_000 + b"]" * 10_000, "invalid_request_body", "The request body must be a JSON object."),
    ],
    ids=[
        "empty",
        "blank",
        "array",
        "string",
        "trailing comma",
        "bad escape",
        "short unicode escape",
        "lone high surrogate",
        "lone low surrogate",
        "truncated",
        "invalid utf-8",
        "trailing data",
        "deep nesting",
    ],
)
def test_refused(body: bytes, code: str, message: str) -> None:
    with pytest.raises(ClientError) as caught:
        split_object(body)
    assert (caught.value.status, caught.value.code, caught.value.message) == (400, code, message)


def test_a_surrogate_pair_is_accepted() -> None:
    assert bytes(split_object(b'{"a":"\\ud83d\\ude00"}')["a"]) == b'"\\ud83d\\ude00"'


def test_with_field_replaces_one_field_and_keeps_the_rest_byte_for_byte() -> None:
    fields = split_object(b'{"b": 1.50, "model": "x", "c": [ 1 ]}')
    assert with_field(fields, "model", "gpt-4o") == b'{"b":1.50,"model":"gpt-4o","c":[ 1 ]}'


def test_errors_quote_client_input_cut_short() -> None:
    from brightstaff.core.errors import ECHO_LIMIT, not_found, unknown_model

    error = unknown_model("x" * 1_000_000, ["openai/gpt-4o"])
    assert len(error.to_json()) < 400
    assert "(1000000 characters)" in error.message
    assert len(not_found("POST", "/" + "p" * 5000).message) < 3 * ECHO_LIMIT
