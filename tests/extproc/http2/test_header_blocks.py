"""HPACK for the server: request blocks decoded (and validated) once while the table is unchanged;
response blocks read back with hpack's own decoder."""

from __future__ import annotations

import hpack
import pytest

from brightstaff.extproc.http2.frames import COMPRESSION_ERROR, ProtocolViolation
from brightstaff.extproc.http2.header_blocks import (
    OK_TRAILERS_BLOCK,
    RESPONSE_HEADERS_BLOCK,
    Fields,
    RequestBlocks,
    plain_response_block,
    trailers_block,
)


class CountingParse:
    """A parse function that counts its calls and refuses fields named b"bad"."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, fields: Fields) -> dict[bytes, bytes]:
        self.calls += 1
        if any(name == b"bad" for name, _ in fields):
            raise ValueError("refused")
        return dict(fields)


def test_blocks_are_reused_only_while_the_dynamic_table_is_unchanged() -> None:
    parse = CountingParse()
    blocks = RequestBlocks(16 * 1024, parse)
    inserts_x = hpack.Encoder().encode([(b"x", b"1")])  # literal with incremental indexing: x -> index 62
    refers_62 = b"\xbe"  # indexed field 62: the newest dynamic entry, whatever it is now
    never_indexed_path = hpack.Encoder().encode([(b":path", b"/a", True)])  # sensitive: never indexed

    assert blocks.decode(never_indexed_path) == {b":path": b"/a"}
    assert blocks.decode(never_indexed_path) == {b":path": b"/a"}
    assert parse.calls == 1  # kept: it did not touch the table
    assert blocks.decode(inserts_x) == {b"x": b"1"}
    assert blocks.decode(refers_62) == {b"x": b"1"}
    assert blocks.decode(refers_62) == {b"x": b"1"}
    assert parse.calls == 3
    inserts_y = hpack.Encoder().encode([(b"y", b"2")])
    assert blocks.decode(inserts_y) == {b"y": b"2"}
    # The same bytes now name another entry: a result kept from before the insertion must not be reused.
    assert blocks.decode(refers_62) == {b"y": b"2"}


def test_a_refused_block_still_updates_the_table_and_is_not_kept() -> None:
    parse = CountingParse()
    blocks = RequestBlocks(16 * 1024, parse)
    encoder = hpack.Encoder()
    with pytest.raises(ValueError, match="refused"):
        blocks.decode(encoder.encode([(b"bad", b"1"), (b"z", b"9")]))  # both indexed into the table
    assert blocks.decode(encoder.encode([(b"z", b"9")])) == {b"z": b"9"}  # the encoder refers to its entry
    with pytest.raises(ValueError, match="refused"):
        blocks.decode(encoder.encode([(b"bad", b"1")]))
    assert parse.calls == 3


def test_fields_of_a_block_not_worth_keeping() -> None:
    blocks = RequestBlocks(16 * 1024, CountingParse())
    encoder = hpack.Encoder()
    assert blocks.decode_fields(encoder.encode([(b"grpc-status", b"0")])) == [(b"grpc-status", b"0")]
    assert blocks.decode(encoder.encode([(b"grpc-status", b"0")])) == {b"grpc-status": b"0"}  # same table


@pytest.mark.parametrize(
    "block",
    [b"\xff\xff\xff\xff\x0f", b"\x00\x81\xff\x00", b"\x3f\xe1\xff\x03"],
    ids=["index past both tables", "bad Huffman string", "table size above the limit"],
)
def test_a_block_that_cannot_be_decoded_is_a_compression_error(block: bytes) -> None:
    with pytest.raises(ProtocolViolation) as error:
        RequestBlocks(16 * 1024, CountingParse()).decode(block)
    assert error.value.code == COMPRESSION_ERROR


def test_a_header_list_over_the_limit_is_a_compression_error() -> None:
    with pytest.raises(ProtocolViolation) as error:
        RequestBlocks(100, CountingParse()).decode(hpack.Encoder().encode([(b"x", b"y" * 200)]))
    assert error.value.code == COMPRESSION_ERROR


RESPONSE_BLOCKS = {
    "gRPC response headers": (RESPONSE_HEADERS_BLOCK, [(":status", "200"), ("content-type", "application/grpc")]),
    "OK trailers": (OK_TRAILERS_BLOCK, [("grpc-status", "0")]),
    "status with message": (
        trailers_block(13, "100% caf\u00e9"),
        [("grpc-status", "13"), ("grpc-message", "100%25 caf%C3%A9")],
    ),
    "405 plain answer": (
        plain_response_block(405, 12, allow=b"POST"),
        [
            (":status", "405"),
            ("content-type", "text/plain; charset=utf-8"),
            ("content-length", "12"),
            ("allow", "POST"),
        ],
    ),
    "415 plain answer": (
        plain_response_block(415, 1234567),
        [(":status", "415"), ("content-type", "text/plain; charset=utf-8"), ("content-length", "1234567")],
    ),
}


@pytest.mark.parametrize(("block", "fields"), RESPONSE_BLOCKS.values(), ids=RESPONSE_BLOCKS.keys())
def test_response_blocks_decode_with_an_independent_decoder(block: bytes, fields: list[tuple[str, str]]) -> None:
    decoder = hpack.Decoder()
    assert [(str(name), str(value)) for name, value in decoder.decode(block)] == fields
    assert decoder.header_table.dynamic_entries == type(decoder.header_table.dynamic_entries)()  # nothing indexed
