"""HTTP/2 framing of the native ext_proc transport, checked frame by frame with independent client implementations."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.settings
import hpack
import orjson
from ext_proc_client import METHOD, body_message, client_channel, headers_message
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    RstStreamFrame,
    SettingsFrame,
)
from seed_data import SEED_ENV, seed_config_data
from test_native_server import PAYLOAD, full_exchange

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.config import parse_config
from brightstaff.extproc.native_server import NativeServer
from brightstaff.extproc.server import max_message_bytes
from brightstaff.server.app import App, build_app, header_names

TIMEOUT = 10.0  # bounds every network wait: a failing test fails, it never hangs
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
REQUEST_HEADERS = [
    (":method", "POST"),
    (":scheme", "http"),
    (":path", METHOD),
    (":authority", "127.0.0.1"),
    ("content-type", "application/grpc"),
    ("te", "trailers"),
]
# RFC 9113 §7 error codes and §6.5.2 setting identifiers, spelled out rather than taken from brightstaff.
NO_ERROR, PROTOCOL_ERROR, FRAME_SIZE_ERROR, REFUSED_STREAM = 0x0, 0x1, 0x6, 0x7
SETTINGS_MAX_CONCURRENT_STREAMS, SETTINGS_MAX_FRAME_SIZE = 0x3, 0x5


# ---- shared helpers


def grpc_frame(message: pb.ProcessingRequest) -> bytes:
    """gRPC length-prefixed message: uncompressed flag, 4-byte big-endian length, the message."""
    body = message.SerializeToString()
    return b"\x00" + len(body).to_bytes(4, "big") + body


def grpc_replies(data: bytes) -> list[pb.ProcessingResponse]:
    replies = []
    offset = 0
    while offset < len(data):
        assert data[offset] == 0, "a reply message is flagged compressed"
        length = int.from_bytes(data[offset + 1 : offset + 5], "big")
        assert offset + 5 + length <= len(data), "the reply stream ends inside a message"
        replies.append(pb.ProcessingResponse.FromString(data[offset + 5 : offset + 5 + length]))
        offset += 5 + length
    return replies


def kinds(replies: list[pb.ProcessingResponse]) -> list[str | None]:
    return [reply.WhichOneof("response") for reply in replies]


@contextlib.asynccontextmanager
async def native_server(**options: Any) -> AsyncIterator[tuple[App, NativeServer, int]]:
    """A NativeServer on 127.0.0.1:0 in front of a seed-config app's handler."""
    app = build_app(parse_config(seed_config_data(admin_port=0), SEED_ENV))
    limit = max_message_bytes(app.config.server.max_request_body_bytes)
    server = NativeServer(app.handler, header_names(app.config), max_message_bytes=limit, **options)
    port = await server.start("127.0.0.1", 0)
    try:
        yield app, server, port
    finally:
        async with asyncio.timeout(TIMEOUT):
            await server.stop(0)
        await app.store.close()


@contextlib.asynccontextmanager
async def tcp_connection(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    async with asyncio.timeout(TIMEOUT):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            async with asyncio.timeout(TIMEOUT):
                await writer.wait_closed()


async def read_until(
    reader: asyncio.StreamReader, feed: Callable[[bytes], object], done: Callable[[], bool], timeout: float = TIMEOUT
) -> bool:
    """Feed what the server sends until `done()` or EOF, within `timeout` (TimeoutError otherwise)."""
    async with asyncio.timeout(timeout):
        while not done():
            data = await reader.read(65536)
            if not data:
                break
            feed(data)
    return done()


async def grpc_still_serves(port: int) -> None:
    """A fresh grpcio channel (a new connection) gets a full ext_proc exchange."""
    channel = client_channel(port)
    async with asyncio.timeout(TIMEOUT):
        try:
            replies = await full_exchange(channel)
        finally:
            await channel.close()
    assert kinds(replies) == ["request_headers", "request_body"]


# ---- a hand-driven client: hyperframe frames out, hyperframe + hpack in


class RawPeer:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.inbound = bytearray()
        self.frames: list[Frame] = []
        self.settings: dict[int, int] = {}  # the server's SETTINGS
        self.data: dict[int, bytearray] = defaultdict(bytearray)
        self.headers: dict[int, list[dict[str, str]]] = defaultdict(list)
        self.ended: set[int] = set()

    def send(self, *frames: Frame | bytes) -> None:
        self.writer.write(b"".join(f if isinstance(f, bytes) else f.serialize() for f in frames))

    def feed(self, data: bytes) -> None:
        self.inbound += data
        while len(self.inbound) >= 9:
            frame, length = Frame.parse_frame_header(memoryview(bytes(self.inbound[:9])))
            if len(self.inbound) < 9 + length:
                return
            frame.parse_body(memoryview(bytes(self.inbound[9 : 9 + length])))
            del self.inbound[: 9 + length]
            self.frames.append(frame)
            if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
                self.settings.update(frame.settings)
            elif isinstance(frame, HeadersFrame):
                assert "END_HEADERS" in frame.flags, "the server split a header block"
                block = self.decoder.decode(frame.data)
                self.headers[frame.stream_id].append({str(k): str(v) for k, v in block})
            elif isinstance(frame, DataFrame):
                self.data[frame.stream_id] += frame.data
            if isinstance(frame, HeadersFrame | DataFrame) and "END_STREAM" in frame.flags:
                self.ended.add(frame.stream_id)

    async def until(self, done: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
        return await read_until(self.reader, self.feed, done, timeout)

    def of(self, kind: type[Frame], stream_id: int | None = None) -> list[Any]:
        return [f for f in self.frames if isinstance(f, kind) and (stream_id is None or f.stream_id == stream_id)]

    def request(self, stream_id: int, *messages: pb.ProcessingRequest, end_stream: bool) -> list[Frame]:
        """A gRPC call's HEADERS (one block) and one DATA frame with `messages`."""
        headers = HeadersFrame(stream_id, self.encoder.encode(REQUEST_HEADERS), flags=["END_HEADERS"])
        data = DataFrame(
            stream_id, b"".join(grpc_frame(m) for m in messages), flags=["END_STREAM"] if end_stream else []
        )
        return [headers, data]

    def replies(self, stream_id: int) -> list[pb.ProcessingResponse]:
        return grpc_replies(bytes(self.data[stream_id]))

    def assert_ok(self, stream_id: int) -> None:
        """The stream ended with response headers (:status 200, gRPC) and trailers grpc-status 0."""
        assert stream_id in self.ended
        first, *_, last = self.headers[stream_id]
        assert first[":status"] == "200"
        assert first["content-type"] == "application/grpc"
        assert last["grpc-status"] == "0"


@contextlib.asynccontextmanager
async def raw_connection(port: int) -> AsyncIterator[RawPeer]:
    """Preface and an empty SETTINGS; the server's SETTINGS read and acknowledged."""
    async with tcp_connection(port) as (reader, writer):
        peer = RawPeer(reader, writer)
        peer.send(PREFACE, SettingsFrame(0))
        assert await peer.until(lambda: bool(peer.settings))
        peer.send(SettingsFrame(0, flags=["ACK"]))
        yield peer


# ---- a well-behaved client: h2's H2Connection


class H2Peer:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, window: int) -> None:
        self.reader, self.writer = reader, writer
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        # Set before initiate_connection, so h2 enforces this receive window from the first frame on.
        self.conn.local_settings = h2.settings.Settings(
            client=True,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window,
            },
        )
        self.conn.initiate_connection()
        if window > 65535:
            self.conn.increment_flow_control_window(window - 65535)  # the connection window, likewise
        self.auto_ack = True  # hand received DATA back to the server's window at once
        self.events: list[h2.events.Event] = []
        self.data: dict[int, bytearray] = defaultdict(bytearray)
        self.trailers: dict[int, dict[str, str]] = {}
        self.ended: set[int] = set()
        self.sent = 0  # flow-controlled request bytes sent
        self.flush()

    def flush(self) -> None:
        if out := self.conn.data_to_send():
            self.writer.write(out)

    def feed(self, data: bytes) -> None:
        events = self.conn.receive_data(data)  # raises h2's ProtocolError (e.g. FlowControlError) on a bad frame
        for event in events:
            if isinstance(event, h2.events.DataReceived):
                assert event.stream_id is not None and event.data is not None
                self.data[event.stream_id] += event.data
                if self.auto_ack:
                    self.conn.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id)
            elif isinstance(event, h2.events.TrailersReceived):
                assert event.stream_id is not None and event.headers is not None
                self.trailers[event.stream_id] = {str(k): str(v) for k, v in event.headers}
            elif isinstance(event, h2.events.StreamEnded):
                assert event.stream_id is not None
                self.ended.add(event.stream_id)
        self.events += events
        self.flush()

    async def until(self, done: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
        return await read_until(self.reader, self.feed, done, timeout)

    def of(self, kind: type[h2.events.Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def call(self, *messages: pb.ProcessingRequest) -> int:
        """Open a gRPC call and send `messages`, then END_STREAM, within the server's windows and frame size."""
        stream_id = self.conn.get_next_available_stream_id()
        self.conn.send_headers(stream_id, REQUEST_HEADERS)
        payload = memoryview(b"".join(grpc_frame(m) for m in messages))
        while payload:
            room = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
            if room <= 0:  # stalled until the server sends WINDOW_UPDATE
                assert await self.until(lambda: self.conn.local_flow_control_window(stream_id) > 0)
                continue
            self.conn.send_data(stream_id, payload[:room].tobytes())
            payload = payload[room:]
            self.sent += room
            self.flush()
            async with asyncio.timeout(TIMEOUT):
                await self.writer.drain()
        self.conn.end_stream(stream_id)
        self.flush()
        return stream_id

    def replies(self, stream_id: int) -> list[pb.ProcessingResponse]:
        return grpc_replies(bytes(self.data[stream_id]))


@contextlib.asynccontextmanager
async def h2_connection(port: int, window: int = 1 << 24) -> AsyncIterator[H2Peer]:
    """An h2 client whose SETTINGS exchange with the server is complete."""
    async with tcp_connection(port) as (reader, writer):
        peer = H2Peer(reader, writer, window)
        assert await peer.until(
            lambda: bool(peer.of(h2.events.RemoteSettingsChanged)) and bool(peer.of(h2.events.SettingsAcknowledged))
        )
        yield peer


# ---- tests


def test_ping_is_answered_with_the_same_opaque_data() -> None:
    async def main() -> None:
        async with native_server() as (_, _, port), h2_connection(port) as peer:
            opaque = b"\x01\x02brsf\xfe\xff"
            peer.conn.ping(opaque)
            peer.flush()
            assert await peer.until(lambda: bool(peer.of(h2.events.PingAckReceived)))
            assert [e.ping_data for e in peer.of(h2.events.PingAckReceived)] == [opaque]

    asyncio.run(main())


def test_client_settings_are_acknowledged_and_server_settings_received() -> None:
    async def main() -> None:
        async with native_server() as (_, _, port), h2_connection(port) as peer:
            assert len(peer.of(h2.events.SettingsAcknowledged)) == 1  # the initial SETTINGS
            changed = peer.of(h2.events.RemoteSettingsChanged)[0].changed_settings
            assert changed[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS].new_value == 1024
            assert changed[h2.settings.SettingCodes.INITIAL_WINDOW_SIZE].new_value == 16 * 1024 * 1024
            assert changed[h2.settings.SettingCodes.MAX_FRAME_SIZE].new_value == 1024 * 1024
            # The server's connection window is opened to match its streams' (RFC 9113 §6.9.2).
            opened = [e.delta for e in peer.of(h2.events.WindowUpdated) if e.stream_id == 0]
            assert opened == [16 * 1024 * 1024 - 65535]
            peer.conn.update_settings({h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 8192})  # a later SETTINGS
            peer.flush()
            assert await peer.until(lambda: len(peer.of(h2.events.SettingsAcknowledged)) == 2)
            assert peer.conn.local_settings.max_header_list_size == 8192  # h2 applies it only on the ACK

    asyncio.run(main())


def test_replies_respect_the_clients_small_stream_window() -> None:
    window = 1000
    content = "x" * 200_000
    body = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]})

    async def main() -> None:
        async with native_server() as (_, _, port), h2_connection(port, window=window) as peer:
            peer.auto_ack = False  # no WINDOW_UPDATE from the client yet
            stream_id = await peer.call(headers_message("/v1/chat/completions"), body_message(body))

            def received() -> int:
                return sum(e.flow_controlled_length for e in peer.of(h2.events.DataReceived))

            # h2 raises FlowControlError if one DATA byte goes past the window; the server fills it exactly.
            assert await peer.until(lambda: received() >= window)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.3):
                    while data := await peer.reader.read(65536):  # anything more now would overrun the window
                        peer.feed(data)
            assert received() == window
            assert stream_id not in peer.ended

            peer.auto_ack = True
            peer.conn.acknowledge_received_data(received(), stream_id)
            peer.flush()
            assert await peer.until(lambda: stream_id in peer.ended)
            assert received() > 200_000
            replies = peer.replies(stream_id)
            assert kinds(replies) == ["request_headers", "request_body"]
            new_body = orjson.loads(replies[1].request_body.response.body_mutation.body)
            assert new_body["messages"][0]["content"] == content
            assert peer.trailers[stream_id]["grpc-status"] == "0"

    asyncio.run(main())


def test_request_windows_are_replenished_past_16_mib_on_one_connection() -> None:
    content = "x" * (6 * 1024 * 1024)
    body = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]})

    async def main() -> None:
        async with native_server() as (_, _, port), h2_connection(port) as peer:
            for _ in range(3):  # 3 x 6 MiB > the server's 16 MiB connection window
                stream_id = await peer.call(headers_message("/v1/chat/completions"), body_message(body))
                assert await peer.until(lambda s=stream_id: s in peer.ended)
                assert kinds(peer.replies(stream_id)) == ["request_headers", "request_body"]
                assert peer.trailers[stream_id]["grpc-status"] == "0"
            assert peer.sent > 16 * 1024 * 1024  # without WINDOW_UPDATEs, call() would have stalled (TimeoutError)
            connection_updates = [e for e in peer.of(h2.events.WindowUpdated) if e.stream_id == 0]
            assert len(connection_updates) >= 2  # the opening one and at least one replenishment

    asyncio.run(main())


def test_padded_prioritised_headers_split_over_continuation() -> None:
    async def main() -> None:
        async with native_server() as (_, _, port), raw_connection(port) as peer:
            block = peer.encoder.encode(REQUEST_HEADERS)
            assert len(block) > 20
            message = grpc_frame(headers_message("/v1/models", method="GET", end_of_stream=True))
            peer.send(
                HeadersFrame(
                    1, block[:7], flags=["PADDED", "PRIORITY"], pad_length=13, depends_on=0, stream_weight=200
                ),
                ContinuationFrame(1, block[7:15]),
                ContinuationFrame(1, block[15:], flags=["END_HEADERS"]),
                DataFrame(1, message, flags=["PADDED", "END_STREAM"], pad_length=31),
            )
            assert await peer.until(lambda: 1 in peer.ended)
            assert peer.of(SettingsFrame) and any("ACK" in f.flags for f in peer.of(SettingsFrame))
            peer.assert_ok(1)
            (reply,) = peer.replies(1)
            assert reply.immediate_response.status.code == 200
            assert len(orjson.loads(reply.immediate_response.body)["data"]) == 3
            assert not peer.of(RstStreamFrame) and not peer.of(GoAwayFrame)

    asyncio.run(main())


def test_a_frame_inside_a_header_block_is_a_protocol_error() -> None:
    async def main() -> None:
        async with native_server() as (_, _, port):
            async with raw_connection(port) as peer:
                block = peer.encoder.encode(REQUEST_HEADERS)
                peer.send(HeadersFrame(1, block[:10]), PingFrame(0, b"12345678"))
                assert await peer.until(lambda: peer.reader.at_eof())  # GOAWAY, then the server closes
                (goaway,) = peer.of(GoAwayFrame)
                assert goaway.error_code == PROTOCOL_ERROR
                assert not [f for f in peer.of(PingFrame) if "ACK" in f.flags]  # the PING was not served
            await grpc_still_serves(port)

    asyncio.run(main())


def test_a_frame_over_the_advertised_max_frame_size_is_a_frame_size_error() -> None:
    async def main() -> None:
        async with native_server() as (_, _, port):
            async with raw_connection(port) as peer:
                limit = peer.settings[SETTINGS_MAX_FRAME_SIZE]
                oversized = HeadersFrame(1, b"\x00" * (limit + 1), flags=["END_HEADERS"]).serialize()
                assert int.from_bytes(oversized[:3], "big") == limit + 1
                # The length field alone is the error (RFC 9113 §4.2); a HEADERS frame makes it a connection error.
                peer.send(oversized[:64])
                assert await peer.until(lambda: peer.reader.at_eof())
                (goaway,) = peer.of(GoAwayFrame)
                assert goaway.error_code == FRAME_SIZE_ERROR
            await grpc_still_serves(port)

    asyncio.run(main())


def test_streams_over_max_concurrent_streams_are_refused() -> None:
    async def main() -> None:
        async with native_server(max_concurrent_streams=2) as (_, _, port), raw_connection(port) as peer:
            assert peer.settings[SETTINGS_MAX_CONCURRENT_STREAMS] == 2
            first = headers_message("/v1/chat/completions")  # no end_of_stream: the server waits for the body
            for stream_id in (1, 3, 5):
                peer.send(*peer.request(stream_id, first, end_stream=False))
            assert await peer.until(lambda: bool(peer.of(RstStreamFrame, 5)) and bool(peer.data[1] and peer.data[3]))
            assert [f.error_code for f in peer.of(RstStreamFrame)] == [REFUSED_STREAM]
            assert kinds(peer.replies(1)) == kinds(peer.replies(3)) == ["request_headers"]
            assert 5 not in peer.headers and 5 not in peer.data

            for stream_id in (1, 3):
                peer.send(DataFrame(stream_id, grpc_frame(body_message(PAYLOAD)), flags=["END_STREAM"]))
            assert await peer.until(lambda: {1, 3} <= peer.ended)
            for stream_id in (1, 3):
                peer.assert_ok(stream_id)
                assert kinds(peer.replies(stream_id)) == ["request_headers", "request_body"]

            # The two slots are free again: a new stream is served.
            peer.send(*peer.request(7, first, body_message(PAYLOAD), end_stream=True))
            assert await peer.until(lambda: 7 in peer.ended)
            peer.assert_ok(7)
            assert kinds(peer.replies(7)) == ["request_headers", "request_body"]
            assert [f.stream_id for f in peer.of(RstStreamFrame)] == [5]
            assert not peer.of(GoAwayFrame)

    asyncio.run(main())


def test_drain_announces_goaway_and_finishes_the_stream_in_flight() -> None:
    # Raw frames, not h2: h2's connection state machine closes on any GOAWAY and then rejects the frames of
    # the stream in flight, which RFC 9113 §6.8 says the server still sends.
    async def main() -> None:
        async with native_server() as (app, server, port), raw_connection(port) as peer:
            handle = app.handler.handle
            deciding, release = asyncio.Event(), asyncio.Event()

            async def slow_handle(*args: Any) -> Any:
                deciding.set()
                await release.wait()
                return await handle(*args)

            app.handler.handle = slow_handle  # type: ignore[method-assign]
            peer.send(*peer.request(1, headers_message("/v1/chat/completions"), body_message(PAYLOAD), end_stream=True))
            async with asyncio.timeout(TIMEOUT):
                await deciding.wait()
            started = time.monotonic()
            stopping = asyncio.create_task(server.stop(TIMEOUT))
            assert await peer.until(lambda: bool(peer.of(GoAwayFrame)))
            goaway = peer.of(GoAwayFrame)[0]
            assert goaway.error_code == NO_ERROR
            assert goaway.last_stream_id == 1
            assert 1 not in peer.ended and not stopping.done()

            release.set()
            assert await peer.until(lambda: peer.reader.at_eof())  # the reply, then the connection closes
            peer.assert_ok(1)
            assert kinds(peer.replies(1)) == ["request_headers", "request_body"]
            assert all(f.error_code == NO_ERROR for f in peer.of(GoAwayFrame))
            assert not peer.of(RstStreamFrame)
            async with asyncio.timeout(TIMEOUT):
                await stopping
            assert time.monotonic() - started < TIMEOUT / 2  # stop returned once the stream was done, not at grace

    asyncio.run(main())
