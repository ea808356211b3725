"""HTTP/2 wire pieces the native ext_proc transport writes and reads (RFC 9113), as bytes and small parsers.

Only what a gRPC server needs: frame headers, SETTINGS, the constant response header block and the
grpc-status trailers. The response side never uses HPACK's dynamic table (every header is a static-table
reference or a literal "without indexing"), so it needs no encoder state and the peer's
SETTINGS_HEADER_TABLE_SIZE cannot affect it. Request header blocks are decoded by `hpack` (stateful).
"""

from __future__ import annotations

import struct

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
FRAME_HEADER_SIZE = 9

# Frame types.
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)

# Flags.
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

# SETTINGS parameters (HEADER_TABLE_SIZE, 0x1, needs nothing: replies never index).
ENABLE_PUSH = 0x2
MAX_CONCURRENT_STREAMS = 0x3
INITIAL_WINDOW_SIZE = 0x4
MAX_FRAME_SIZE = 0x5
MAX_HEADER_LIST_SIZE = 0x6

# Error codes.
NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
FLOW_CONTROL_ERROR = 0x3
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


def strip_padding(payload: memoryview, flags: int) -> memoryview:
    """The frame's content without its padding (DATA, HEADERS)."""
    if not flags & PADDED:
        return payload
    if not payload or payload[0] >= len(payload):
        raise ProtocolViolation(PROTOCOL_ERROR, "padding is as long as the frame")
    return payload[1 : len(payload) - payload[0]]


# ---- HPACK, response side only (RFC 7541): static-table references and literals without indexing.


def _hpack_int(value: int, prefix_bits: int, first: int) -> bytes:
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first | value,))
    out = bytearray((first | limit,))
    value -= limit
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _literal(name: bytes, value: bytes) -> bytes:
    """Literal header field without indexing, new name, no Huffman coding."""
    return b"\x00" + _hpack_int(len(name), 7, 0) + name + _hpack_int(len(value), 7, 0) + value


# ":status: 200" is static entry 8; "content-type" is static entry 31 (name only).
RESPONSE_HEADERS_BLOCK = b"\x88" + _hpack_int(31, 4, 0) + _hpack_int(16, 7, 0) + b"application/grpc"


def trailers_block(status: int, message: bytes = b"") -> bytes:
    block = _literal(b"grpc-status", str(status).encode())
    if message:
        block += _literal(b"grpc-message", message)
    return block


OK_TRAILERS_BLOCK = trailers_block(0)
