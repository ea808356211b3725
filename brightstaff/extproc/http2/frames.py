"""HTTP/2 frames as bytes (RFC 9113 §4, §6): the constants, the 9-byte header, and the small payloads.

Guarantees: pure functions of their arguments (no state, no I/O). Encoders produce exactly the RFC's
layout; parsers raise `ProtocolViolation` (a connection error) with the error code RFC 9113 names for a
malformed payload, so a caller turns it into GOAWAY without interpreting it.
"""

from __future__ import annotations

import struct

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
FRAME_HEADER_SIZE = 9

# Frame types (§6).
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)

# Flags.
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

# SETTINGS parameters (§6.5.2). HEADER_TABLE_SIZE (0x1) needs nothing: replies never index.
ENABLE_PUSH = 0x2
MAX_CONCURRENT_STREAMS = 0x3
INITIAL_WINDOW_SIZE = 0x4
MAX_FRAME_SIZE = 0x5
MAX_HEADER_LIST_SIZE = 0x6

# Error codes (§7).
NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
FLOW_CONTROL_ERROR = 0x3
STREAM_CLOSED = 0x5
FRAME_SIZE_ERROR = 0x6
REFUSED_STREAM = 0x7
COMPRESSION_ERROR = 0x9

DEFAULT_WINDOW = 65_535
DEFAULT_MAX_FRAME = 16_384
MAX_FRAME_LIMIT = (1 << 24) - 1
MAX_WINDOW = (1 << 31) - 1

Bytes = bytes | bytearray | memoryview

_HEAD = struct.Struct(">HBBBI")  # length as 16 + 8 bits, type, flags, stream id
_SETTING = struct.Struct(">HI")
_U32 = struct.Struct(">I")
_GOAWAY = struct.Struct(">II")


class ProtocolViolation(Exception):
    """A connection error (RFC 9113 §5.4.1): GOAWAY with `code`, then close."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_frame_header(buffer: Bytes, offset: int) -> tuple[int, int, int, int]:
    """(length, type, flags, stream id) of the frame header at `offset`."""
    high, low, frame_type, flags, stream_id = _HEAD.unpack_from(buffer, offset)
    return high << 8 | low, frame_type, flags, stream_id & 0x7FFFFFFF


def frame(frame_type: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    length = len(payload)
    return _HEAD.pack(length >> 8, length & 0xFF, frame_type, flags, stream_id) + payload


def frame_head(frame_type: int, flags: int, stream_id: int, length: int) -> bytes:
    """The 9-byte header alone, for a payload written separately."""
    return _HEAD.pack(length >> 8, length & 0xFF, frame_type, flags, stream_id)


def settings_frame(values: dict[int, int]) -> bytes:
    return frame(SETTINGS, 0, 0, b"".join(_SETTING.pack(key, value) for key, value in values.items()))


SETTINGS_ACK = frame(SETTINGS, ACK, 0)


def parse_settings(payload: Bytes) -> list[tuple[int, int]]:
    if len(payload) % 6:
        raise ProtocolViolation(FRAME_SIZE_ERROR, "SETTINGS payload is not a multiple of 6 bytes")
    return [_SETTING.unpack_from(payload, offset) for offset in range(0, len(payload), 6)]


def window_update(stream_id: int, increment: int) -> bytes:
    return frame(WINDOW_UPDATE, 0, stream_id, _U32.pack(increment))


def rst_stream(stream_id: int, code: int) -> bytes:
    return frame(RST_STREAM, 0, stream_id, _U32.pack(code))


def goaway(last_stream_id: int, code: int) -> bytes:
    return frame(GOAWAY, 0, 0, _GOAWAY.pack(last_stream_id, code))


def read_u32(payload: Bytes) -> int:
    value: int = _U32.unpack_from(payload)[0]
    return value


def read_stream_id(payload: Bytes) -> int:
    """A 31-bit stream id (the reserved or exclusive bit cleared), as in PRIORITY, HEADERS and GOAWAY."""
    return read_u32(payload) & 0x7FFFFFFF


def strip_padding(payload: memoryview, flags: int) -> memoryview:
    """The frame's content without its padding (DATA, HEADERS)."""
    if not flags & PADDED:
        return payload
    if not payload or payload[0] >= len(payload):
        raise ProtocolViolation(PROTOCOL_ERROR, "padding is as long as the frame")
    return payload[1 : len(payload) - payload[0]]
