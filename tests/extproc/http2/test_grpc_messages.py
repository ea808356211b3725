"""gRPC's message prefix and grpc-message encoding (gRPC's PROTOCOL-HTTP2)."""

from __future__ import annotations

import pytest

from brightstaff.extproc.http2.grpc_messages import encode_status_message, message_prefix


@pytest.mark.parametrize(
    ("length", "prefix"), [(0, b"\0\0\0\0\0"), (300, b"\0\0\0\x01\x2c"), ((1 << 32) - 1, b"\0\xff\xff\xff\xff")]
)
def test_message_prefix_is_uncompressed_and_big_endian(length: int, prefix: bytes) -> None:
    assert message_prefix(length) == prefix


STATUS_MESSAGES = {
    "printable ASCII as is": ("unknown method /a.B/C", b"unknown method /a.B/C"),
    "percent sign encoded": ("100%", b"100%25"),
    "UTF-8 percent-encoded": ("caf\u00e9", b"caf%C3%A9"),
    "control characters encoded": ("a\nb\x7f", b"a%0Ab%7F"),
}


@pytest.mark.parametrize(("text", "encoded"), STATUS_MESSAGES.values(), ids=STATUS_MESSAGES.keys())
def test_status_message_is_percent_encoded(text: str, encoded: bytes) -> None:
    assert encode_status_message(text) == encoded


def test_status_message_is_bounded() -> None:
    assert encode_status_message("x" * 10_000) == b"x" * 512
