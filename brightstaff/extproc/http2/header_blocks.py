"""HPACK (RFC 7541) for this server: request header blocks decoded with reuse, response blocks as constants.

Request side: `RequestBlocks` decodes with `hpack` (which keeps the dynamic table) and hands the field
list to a parse function (validation), whose result it keeps for a block seen before while the dynamic
table is unchanged. Envoy opens every ext_proc stream with the same bytes: table references plus `:path`
as a never-indexed Huffman-coded literal, which costs most of the decoding; the same block decoded against
the same table gives the same fields, so one dictionary look-up replaces decoding and validation. Every
block is still decoded first if it would change the table (even one that is then refused: the table is
shared by the connection), and only blocks that leave it untouched are kept.

Response side: every field is a static-table reference or a literal "without indexing", so no encoder
state is needed and the peer's SETTINGS_HEADER_TABLE_SIZE cannot affect it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar, cast

import hpack

from brightstaff.extproc.http2 import frames
from brightstaff.extproc.http2.frames import ProtocolViolation
from brightstaff.extproc.http2.grpc_messages import encode_status_message

Fields = list[tuple[bytes, bytes]]
T = TypeVar("T")


class RequestBlocks(Generic[T]):
    """Decodes request header blocks into `parse(fields)`, reusing the result while the table is unchanged.

    `parse` may raise (a malformed request): the block has been decoded into the table by then, and a
    refused block is not kept.
    """

    _MAX_KEPT = 64

    def __init__(self, max_header_list_bytes: int, parse: Callable[[Fields], T]) -> None:
        self._decoder = hpack.Decoder()
        self._decoder.max_header_list_size = max_header_list_bytes
        self._table = self._decoder.header_table
        self._parse = parse
        self._generation = 0  # bumped whenever a block changes the dynamic table
        self._kept: dict[bytes, tuple[int, T]] = {}

    def decode(self, block: bytes) -> T:
        kept = self._kept.get(block)
        if kept is not None and kept[0] == self._generation:
            return kept[1]
        fields, unchanged = self._decode(block)
        parsed = self._parse(fields)
        if unchanged:
            if len(self._kept) >= self._MAX_KEPT:
                self._kept.clear()
            self._kept[block] = (self._generation, parsed)
        return parsed

    def decode_fields(self, block: bytes) -> Fields:
        """The field list of a block that is not worth keeping (trailers, a closed stream's late block)."""
        return self._decode(block)[0]

    def _decode(self, block: bytes) -> tuple[Fields, bool]:
        """The block's fields, and whether the dynamic table is as it was before it."""
        entries = self._table.dynamic_entries
        # An insertion puts a new tuple first; a size update changes maxsize (and evicts).
        first, count, size = (entries[0] if entries else None), len(entries), self._table.maxsize
        try:
            fields = cast(Fields, self._decoder.decode(block, raw=True))  # raw: a list of (bytes, bytes)
        except hpack.HPACKError as exc:
            raise ProtocolViolation(frames.COMPRESSION_ERROR, f"cannot decode a header block: {exc}") from None
        if (entries[0] if entries else None) is first and len(entries) == count and self._table.maxsize == size:
            return fields, True
        self._generation += 1
        return fields, False


# ---- response side: static-table references and literals without indexing, no Huffman coding


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


def _string(value: bytes) -> bytes:
    return _hpack_int(len(value), 7, 0) + value


def _literal(name: bytes, value: bytes) -> bytes:
    """Literal field without indexing, new name."""
    return b"\x00" + _string(name) + _string(value)


def _literal_indexed_name(index: int, value: bytes) -> bytes:
    """Literal field without indexing, its name from the static table."""
    return _hpack_int(index, 4, 0) + _string(value)


# Static table (RFC 7541 Appendix A): 8 is ":status: 200"; names only: 8 ":status", 22 "allow",
# 28 "content-length", 31 "content-type".
_STATUS_200 = b"\x88"
_STATUS, _ALLOW, _CONTENT_LENGTH, _CONTENT_TYPE = 8, 22, 28, 31

RESPONSE_HEADERS_BLOCK = _STATUS_200 + _literal_indexed_name(_CONTENT_TYPE, b"application/grpc")
"""`:status: 200` and `content-type: application/grpc`: every gRPC reply's headers."""


def trailers_block(status: int, message: str = "") -> bytes:
    block = _literal(b"grpc-status", str(status).encode())
    if message:
        block += _literal(b"grpc-message", encode_status_message(message))
    return block


OK_TRAILERS_BLOCK = trailers_block(0)


def plain_response_block(status: int, content_length: int, *, allow: bytes | None = None) -> bytes:
    """Headers of a plain-text HTTP answer (not gRPC): status, content-type, content-length, maybe allow."""
    block = (
        _literal_indexed_name(_STATUS, str(status).encode())
        + _literal_indexed_name(_CONTENT_TYPE, b"text/plain; charset=utf-8")
        + _literal_indexed_name(_CONTENT_LENGTH, str(content_length).encode())
    )
    if allow is not None:
        block += _literal_indexed_name(_ALLOW, allow)
    return block
