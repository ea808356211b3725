"""Any provider error body, read: its message and the provider's own type when it named one."""

from __future__ import annotations

import pytest

from brightstaff.providers.upstream_errors import MAX_MESSAGE, read_error


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
            ("Overloaded", "overloaded_error"),
        ),
        (
            b'{"error":{"message":"bad key","type":"invalid_request_error","code":"invalid_api_key"}}',
            ("bad key", "invalid_request_error"),
        ),
        (b'{"error":"model not found"}', ("model not found", None)),
        (b'{"message":"unavailable"}', ("unavailable", None)),
        (b'{"detail":"too long"}', ("too long", None)),
        (b'{"object":"error","message":"vllm says no","type":"BadRequestError","code":400}', ("vllm says no", None)),
        (b"  upstream connect error  ", ("upstream connect error", None)),
        (b"[1,2]", ("[1,2]", None)),
        (b"\xff\xfe", ("\ufffd\ufffd", None)),
        (b"", ("The provider answered 502 Bad Gateway with no body.", None)),
    ],
)
def test_read_error(body: bytes, expected: tuple[str, str | None]) -> None:
    assert read_error(body, 502) == expected


def test_long_messages_are_cut() -> None:
    message, _ = read_error(b"x" * 5000, 500)
    assert len(message) == MAX_MESSAGE
    assert read_error(b"", 599)[0] == "The provider answered 599 with no body."
