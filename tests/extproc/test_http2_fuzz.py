"""The native transport against random and mutated HTTP/2 input: no exception escapes, other connections serve on."""

from __future__ import annotations

import asyncio
import logging
import random
import struct
from typing import Any

import hpack
import pytest
from ext_proc_client import body_message, headers_message
from test_http2_framing import PREFACE, REQUEST_HEADERS, grpc_frame, grpc_still_serves, native_server, tcp_connection

CASES = 400
BATCH = 50
SEED = 20261130
_FRAME_TYPES = range(12)  # the ten defined types plus two unknown ones


def frame(frame_type: int, flags: int, stream_id: int, payload: bytes, length: int | None = None) -> bytes:
    size = len(payload) if length is None else length
    return struct.pack(">I", size)[1:] + bytes((frame_type, flags)) + struct.pack(">I", stream_id) + payload


def valid_exchange(stream_id: int) -> list[bytes]:
    """One well-formed ext_proc call: HEADERS, then the headers and body messages in DATA frames."""
    block = hpack.Encoder().encode(REQUEST_HEADERS)
    return [
        frame(0x4, 0, 0, b""),
        frame(0x1, 0x4, stream_id, block),
        frame(0x0, 0, stream_id, grpc_frame(headers_message("/v1/chat/completions"))),
        frame(0x0, 0x1, stream_id, grpc_frame(body_message(b'{"model":"gpt-4o-mini","messages":[]}'))),
    ]


def random_frame(rng: random.Random) -> bytes:
    payload = rng.randbytes(rng.choice((0, 1, 4, 5, 6, 8, 9, 30, 300)))
    length = None if rng.random() < 0.8 else rng.randrange(0, 1 << 24)  # sometimes the length lies
    stream_id = rng.choice((0, 1, 2, 3, 5, 0x7FFFFFFF, rng.randrange(1 << 32)))
    return frame(rng.choice(_FRAME_TYPES), rng.randrange(256), stream_id, payload, length)


def case(rng: random.Random) -> bytes:
    """Random frames, a mutated valid exchange, or a valid exchange cut short, after the preface."""
    kind = rng.randrange(3)
    if kind == 0:
        frames = [frame(0x4, 0, 0, b"")] + [random_frame(rng) for _ in range(rng.randrange(1, 8))]
        return PREFACE + b"".join(frames)
    data = bytearray(b"".join(valid_exchange(rng.choice((1, 3, 5)))))
    if kind == 1:
        for _ in range(rng.randrange(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return PREFACE + bytes(data)
    return PREFACE + bytes(data[: rng.randrange(len(data))])


async def send_and_drain(port: int, data: bytes) -> None:
    async with tcp_connection(port) as (reader, writer):
        writer.write(data)
        try:
            async with asyncio.timeout(0.5):
                while await reader.read(65536):
                    pass  # the server answers, closes, or waits for more: all are fine here
        except (TimeoutError, ConnectionError):
            pass


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_random_and_mutated_input_never_escapes_the_connection(caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(SEED)
    inputs = [case(rng) for _ in range(CASES)]
    errors = _Errors()
    logging.getLogger("brightstaff").addHandler(errors)
    unhandled: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, context: unhandled.append(context))
        async with native_server() as (_, _server, port):
            for start in range(0, CASES, BATCH):
                await asyncio.gather(*(send_and_drain(port, data) for data in inputs[start : start + BATCH]))
            await grpc_still_serves(port)

    try:
        with caplog.at_level(logging.WARNING):
            asyncio.run(main())
    finally:
        logging.getLogger("brightstaff").removeHandler(errors)
    assert unhandled == [], unhandled[:3]  # e.g. "Fatal error: protocol.data_received() call failed"
    # A traceback in the log is an exception the transport or the stream logic did not expect.
    assert [r.getMessage() for r in errors.records if r.exc_info] == []
    # The random input really reached the protocol checks, not just the preface.
    assert any("HTTP/2 protocol error" in r.getMessage() for r in caplog.records)
