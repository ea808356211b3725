"""gRPC's framing on top of HTTP/2 (gRPC's PROTOCOL-HTTP2): message prefixes, status codes, grpc-message.

Guarantees: pure functions. A message on the wire is a 5-byte prefix (compressed flag, 4-byte big-endian
length) and the message; `message_prefix` writes an uncompressed one (connection.py reads them).
`encode_status_message` percent-encodes text as the grpc-message trailer requires and bounds its length.
"""

from __future__ import annotations

import struct

PREFIX_SIZE = 5

# gRPC status codes this server sends.
OK, UNKNOWN, RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL = 0, 2, 8, 12, 13

CONTENT_TYPE = b"application/grpc"  # a request's content-type starts with it ("application/grpc+proto", ...)

_MAX_STATUS_MESSAGE = 512  # grpc-message is for people; keep the trailers block far below any frame size


# message_prefix(length): the prefix of an uncompressed message of `length` bytes (a zero byte, then the
# length as 4 big-endian bytes), one C call: it runs for every reply.
message_prefix = struct.Struct(">xI").pack


def encode_status_message(message: str) -> bytes:
    """grpc-message: percent-encoded UTF-8 (printable ASCII other than % goes as is), at most 512 characters."""
    out = bytearray()
    for byte in message[:_MAX_STATUS_MESSAGE].encode("utf-8"):
        if 0x20 <= byte <= 0x7E and byte != 0x25:
            out.append(byte)
        else:
            out += f"%{byte:02X}".encode()
    return bytes(out)
