"""The native transport against random and mutated HTTP/2 input, in memory: no exception escapes, nothing
unexpected is logged, and a fresh connection serves on (an injected IndexError fails this test).

Each input goes to a connection protocol from `NativeServer.protocol()` over a fake transport, so both
layers (the sans-IO `ServerConnection` and the asyncio layer with its decision tasks) see it, without
sockets. The sans-IO connection alone gets more of the same inputs: a connection error is reported alone.
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
from typing import Any

import hpack
import pytest
from ext_proc_client import (
    GRPC_REQUEST_HEADERS,
    ServerFrames,
    body_message,
    grpc_frame,
    grpc_replies,
    headers_message,
    kinds,
)
from hyperframe.frame import DataFrame, GoAwayFrame, HeadersFrame, SettingsFrame
from seed_data import SEED_ENV, seed_config_data

from brightstaff.config import parse_config
from brightstaff.extproc.http2.connection import Limits, ServerConnection
from brightstaff.extproc.http2.events import ConnectionTerminated
from brightstaff.extproc.native_server import NativeServer
from brightstaff.server.app import build_app, header_names

CASES = 400
SEED = 20261130
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_FRAME_TYPES = range(12)  # the ten defined types plus two unknown ones


def frame(frame_type: int, flags: int, stream_id: int, payload: bytes, length: int | None = None) -> bytes:
    size = len(payload) if length is None else length
    return struct.pack(">I", size)[1:] + bytes((frame_type, flags)) + struct.pack(">I", stream_id) + payload


def valid_exchange(stream_id: int) -> list[bytes]:
    """One well-formed ext_proc call: HEADERS, then the headers and body messages in DATA frames."""
    block = hpack.Encoder().encode(GRPC_REQUEST_HEADERS)
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


class FakeTransport(asyncio.Transport):
    """What the protocol writes, kept; `close` reports the connection lost, as a real transport does."""

    def __init__(self, protocol: asyncio.Protocol) -> None:
        super().__init__()
        self.protocol = protocol
        self.written = bytearray()
        self.closing = False

    def write(self, data: Any) -> None:
        self.written += data

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.written += data

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def connect(server: NativeServer) -> tuple[asyncio.Protocol, FakeTransport]:
    protocol = server.protocol()
    transport = FakeTransport(protocol)
    protocol.connection_made(transport)
    return protocol, transport


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.anyio
async def test_random_and_mutated_input_never_escapes_the_connection(caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(SEED)
    inputs = [case(rng) for _ in range(CASES)]
    errors = _Errors()
    logging.getLogger("brightstaff").addHandler(errors)
    unhandled: list[dict[str, Any]] = []

    try:
        with caplog.at_level(logging.WARNING):
            asyncio.get_running_loop().set_exception_handler(lambda _, context: unhandled.append(context))
            app = build_app(parse_config(seed_config_data(admin_port=0), SEED_ENV))
            server = NativeServer(app.handler, header_names(app.config), Limits(max_message_bytes=1 << 20))
            for data in inputs:
                protocol, _ = connect(server)
                protocol.data_received(data)
                await asyncio.sleep(0)  # decisions started by valid calls run
            for _ in range(100):  # every decision task has finished
                if not server.busy:
                    break
                await asyncio.sleep(0.01)
            protocol, transport = connect(server)
            block = hpack.Encoder().encode(GRPC_REQUEST_HEADERS)
            request = grpc_frame(headers_message("/v1/chat/completions")) + grpc_frame(
                body_message(b'{"model":"gpt-4o-mini","messages":[]}')
            )
            protocol.data_received(
                PREFACE
                + SettingsFrame(0).serialize()
                + HeadersFrame(1, block, flags=["END_HEADERS"]).serialize()
                + DataFrame(1, request, flags=["END_STREAM"]).serialize()
            )
            for _ in range(100):
                if not server.busy:
                    break
                await asyncio.sleep(0.01)
            frames = ServerFrames()
            frames.feed(bytes(transport.written))
            assert kinds(grpc_replies(bytes(frames.data[1]))) == ["request_headers", "request_body"]
            await server.stop(0)
            await app.store.close()
    finally:
        logging.getLogger("brightstaff").removeHandler(errors)
    assert unhandled == [], unhandled[:3]  # e.g. an exception in a decision task nobody awaited
    # A traceback in the log is an exception the transport or the stream logic did not expect.
    assert [r.getMessage() for r in errors.records if r.exc_info] == []
    # The random input really reached the protocol checks, not just the preface.
    assert any("HTTP/2 protocol error" in r.getMessage() for r in caplog.records)
    assert any("HTTP/2 stream error" in r.getMessage() for r in caplog.records)


def test_no_input_raises_out_of_the_sans_io_connection() -> None:
    rng = random.Random(SEED + 1)
    closed = 0
    for _ in range(CASES * 5):
        connection = ServerConnection(Limits(max_message_bytes=1 << 20))
        events = connection.receive_data(case(rng))
        if connection.closed:  # a connection error: reported alone, GOAWAY queued
            closed += 1
            assert len(events) == 1 and isinstance(events[0], ConnectionTerminated)
            frames = ServerFrames()
            frames.feed(connection.data_to_send())
            assert frames.of(GoAwayFrame)
    assert 0 < closed < CASES * 5
