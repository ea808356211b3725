"""The native transport over real sockets: grpcio's client channel, h2 and raw frames against `NativeServer`.

The HTTP/2 rules themselves are tested in memory (tests/extproc/http2); this suite covers what needs a
socket and an event loop: interoperability with grpcio, cancellation, decision tasks, the idle timeout,
the drain's grace, partial reads of big bodies, and that the native path never loads grpcio.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import h2.config
import h2.connection
import h2.events
import hpack
import orjson
import pytest
from ext_proc_client import (
    GRPC_REQUEST_HEADERS,
    ServerFrames,
    body_message,
    client_channel,
    grpc_frame,
    grpc_replies,
    headers_message,
    kinds,
    process_call,
)
from hyperframe.frame import DataFrame, GoAwayFrame, HeadersFrame, RstStreamFrame, SettingsFrame
from seed_data import SEED_ENV, seed_config_data

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.config import parse_config
from brightstaff.extproc.http2.connection import Limits
from brightstaff.extproc.native_server import NativeServer
from brightstaff.extproc.server import max_message_bytes
from brightstaff.server.app import App, build_app, header_names

# grpcio's C core in this process: `./dev test` runs this module in a pytest process of its own.
pytestmark = pytest.mark.grpc_in_process

TIMEOUT = 10.0  # bounds every network wait: a failing test fails, it never hangs
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
NO_ERROR = 0x0
PAYLOAD = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]})


def test_the_native_path_never_imports_grpcio() -> None:
    code = (
        "import sys\n"
        "import brightstaff.cli, brightstaff.server.app\n"
        "import brightstaff.extproc.server, brightstaff.extproc.native_server\n"
        "loaded = sorted(m for m in sys.modules if m == 'grpc' or m.startswith('grpc.'))\n"
        "print(loaded)\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# ---- grpcio's client channel against a native-transport app


async def native_app(**server: Any) -> App:
    app = build_app(parse_config(seed_config_data(admin_port=0, transport="native", **server), SEED_ENV))
    await app.start(grpc_port=0, admin_port=0)
    return app


@contextlib.asynccontextmanager
async def native_channel(**server: Any) -> AsyncIterator[tuple[App, grpc.aio.Channel]]:
    """A native-transport app and one client channel (one HTTP/2 connection) to it, both closed after."""
    app = await native_app(**server)
    channel = client_channel(app.grpc_port)
    try:
        yield app, channel
    finally:
        await channel.close(None)
        await app.stop(0)


async def messages(*items: pb.ProcessingRequest) -> AsyncIterator[pb.ProcessingRequest]:
    for item in items:
        yield item


async def full_exchange(channel: grpc.aio.Channel) -> list[pb.ProcessingResponse]:
    call = process_call(channel)(messages(headers_message("/v1/chat/completions"), body_message(PAYLOAD)))
    return [reply async for reply in call]


async def failed_status(
    call: grpc.aio.StreamStreamCall[pb.ProcessingRequest, pb.ProcessingResponse],
) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        _ = [reply async for reply in call]
    code: grpc.StatusCode = error.value.code()
    return code


@pytest.mark.anyio
async def test_unknown_method_is_unimplemented() -> None:
    async with native_channel() as (_, channel):
        call = process_call(channel, "/envoy.service.ext_proc.v3.ExternalProcessor/Nope")(messages())
        assert await failed_status(call) == grpc.StatusCode.UNIMPLEMENTED
        assert len(await full_exchange(channel)) == 2  # the connection still serves


@pytest.mark.anyio
async def test_oversized_message_is_resource_exhausted_and_other_streams_go_on() -> None:
    # The message limit: 1 KiB + 64 KiB headroom.
    async with native_channel(max_request_body_bytes=1024) as (_, channel):
        big = body_message(b"x" * (200 * 1024))
        call = process_call(channel)(messages(headers_message("/v1/chat/completions"), big))
        assert await failed_status(call) == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert len(await full_exchange(channel)) == 2


@pytest.mark.anyio
async def test_compressed_message_is_unimplemented() -> None:
    async with native_channel() as (_, channel):
        compressible = body_message(b"x" * 10_000)  # grpc sends a message uncompressed when gzip does not shrink it
        requests = messages(headers_message("/v1/chat/completions"), compressible)
        call = process_call(channel)(requests, compression=grpc.Compression.Gzip)
        assert await failed_status(call) == grpc.StatusCode.UNIMPLEMENTED
        assert len(await full_exchange(channel)) == 2


@pytest.mark.anyio
async def test_many_concurrent_streams_on_one_connection() -> None:
    async with native_channel() as (_, channel):  # one channel: one HTTP/2 connection
        results = await asyncio.gather(*(full_exchange(channel) for _ in range(300)))
        assert {tuple(kinds(replies)) for replies in results} == {("request_headers", "request_body")}


@pytest.mark.anyio
async def test_client_cancellation_mid_stream_leaves_the_connection_serving() -> None:
    async with native_channel() as (app, channel):
        hold = asyncio.Event()

        async def headers_then_wait() -> AsyncIterator[pb.ProcessingRequest]:
            yield headers_message("/v1/chat/completions")
            await hold.wait()

        call = process_call(channel)(headers_then_wait())
        first = await call.read()
        assert isinstance(first, pb.ProcessingResponse)
        assert first.WhichOneof("response") == "request_headers"
        call.cancel()
        hold.set()
        assert await call.code() == grpc.StatusCode.CANCELLED
        assert len(await full_exchange(channel)) == 2
        server = app.grpc_server
        assert isinstance(server, NativeServer)
        for _ in range(100):  # the RST_STREAM reaches the server asynchronously
            if not server.busy:
                break
            await asyncio.sleep(0.01)
        assert not server.busy


@pytest.mark.anyio
async def test_a_cancelled_call_cancels_its_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    async with native_channel() as (app, channel):
        deciding, cancelled = asyncio.Event(), asyncio.Event()

        async def endless(*args: Any) -> Any:
            deciding.set()
            try:
                await asyncio.sleep(TIMEOUT * 10)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        handle = app.handler.handle
        monkeypatch.setattr(app.handler, "handle", endless)
        hold = asyncio.Event()

        async def body_then_wait() -> AsyncIterator[pb.ProcessingRequest]:
            yield headers_message("/v1/chat/completions")
            yield body_message(PAYLOAD)
            await hold.wait()

        call = process_call(channel)(body_then_wait())
        async with asyncio.timeout(TIMEOUT):
            await deciding.wait()
            call.cancel()
            await cancelled.wait()
        hold.set()
        monkeypatch.setattr(app.handler, "handle", handle)
        assert len(await full_exchange(channel)) == 2


@pytest.mark.anyio
async def test_a_failing_decision_fails_only_its_own_call(monkeypatch: pytest.MonkeyPatch) -> None:
    async with native_channel() as (app, channel):
        handle = app.handler.handle

        async def broken(*args: Any) -> Any:
            raise RuntimeError("boom")

        monkeypatch.setattr(app.handler, "handle", broken)
        call = process_call(channel)(messages(headers_message("/v1/chat/completions"), body_message(PAYLOAD)))
        assert await failed_status(call) == grpc.StatusCode.UNKNOWN
        monkeypatch.setattr(app.handler, "handle", handle)
        assert len(await full_exchange(channel)) == 2


@pytest.mark.anyio
async def test_graceful_shutdown_finishes_the_stream_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    app = await native_app()
    handle = app.handler.handle
    deciding = asyncio.Event()

    async def slow_handle(*args: Any) -> Any:
        deciding.set()
        await asyncio.sleep(0.3)
        return await handle(*args)

    monkeypatch.setattr(app.handler, "handle", slow_handle)
    channel = client_channel(app.grpc_port)
    try:
        in_flight = asyncio.create_task(full_exchange(channel))
        await deciding.wait()
        await app.stop(5)  # returns once the stream in flight has its decision
        assert kinds(await in_flight) == ["request_headers", "request_body"]
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", app.grpc_port)
    finally:
        await channel.close(None)


def test_bad_config_transport_names_the_field() -> None:
    from brightstaff.config import ConfigError

    with pytest.raises(ConfigError, match=r"brightstaff\.transport"):
        parse_config(seed_config_data(transport="h3"), SEED_ENV)


# ---- raw sockets against a NativeServer


@contextlib.asynccontextmanager
async def native_server(**options: Any) -> AsyncIterator[tuple[App, NativeServer, int]]:
    """A NativeServer on 127.0.0.1:0 in front of a seed-config app's handler."""
    app = build_app(parse_config(seed_config_data(admin_port=0), SEED_ENV))
    limits = Limits(max_message_bytes=max_message_bytes(app.config.server.max_request_body_bytes))
    server = NativeServer(app.handler, header_names(app.config), limits, **options)
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


async def read_until(reader: asyncio.StreamReader, feed: Callable[[bytes], object], done: Callable[[], bool]) -> bool:
    """Feed what the server sends until `done()` or EOF, within TIMEOUT (TimeoutError otherwise)."""
    async with asyncio.timeout(TIMEOUT):
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
            await channel.close(None)
    assert kinds(replies) == ["request_headers", "request_body"]


@pytest.mark.anyio
async def test_a_protocol_error_closes_only_its_own_connection() -> None:
    async with native_server() as (_, _, port):
        async with tcp_connection(port) as (reader, writer):
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # not the HTTP/2 preface
            server = ServerFrames()
            assert not await read_until(reader, server.feed, lambda: False)  # GOAWAY, then EOF
            assert [f.error_code for f in server.of(GoAwayFrame)] == [0x1]
        await grpc_still_serves(port)


@pytest.mark.anyio
async def test_idle_connections_are_closed_with_goaway() -> None:
    async with native_server(idle_timeout=0.2) as (_, _, port), tcp_connection(port) as (reader, writer):
        writer.write(PREFACE + SettingsFrame(0).serialize())
        server = ServerFrames()
        started = time.monotonic()
        assert not await read_until(reader, server.feed, lambda: False)  # until the server closes
        assert time.monotonic() - started >= 0.2
        assert [f.error_code for f in server.of(GoAwayFrame)] == [NO_ERROR]


@pytest.mark.anyio
async def test_drain_announces_goaway_and_finishes_the_stream_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    # Raw frames, not h2: h2's connection state machine closes on any GOAWAY and then rejects the frames of
    # the stream in flight, which RFC 9113 §6.8 says the server still sends.
    async with native_server() as (app, server, port), tcp_connection(port) as (reader, writer):
        handle = app.handler.handle
        deciding, release = asyncio.Event(), asyncio.Event()

        async def slow_handle(*args: Any) -> Any:
            deciding.set()
            await release.wait()
            return await handle(*args)

        monkeypatch.setattr(app.handler, "handle", slow_handle)
        block = hpack.Encoder().encode(GRPC_REQUEST_HEADERS)
        request = grpc_frame(headers_message("/v1/chat/completions")) + grpc_frame(body_message(PAYLOAD))
        writer.write(
            PREFACE
            + SettingsFrame(0).serialize()
            + HeadersFrame(1, block, flags=["END_HEADERS"]).serialize()
            + DataFrame(1, request, flags=["END_STREAM"]).serialize()
        )
        async with asyncio.timeout(TIMEOUT):
            await deciding.wait()
        frames = ServerFrames()
        started = time.monotonic()
        stopping = asyncio.create_task(server.stop(TIMEOUT))
        assert await read_until(reader, frames.feed, lambda: bool(frames.of(GoAwayFrame)))
        (goaway,) = frames.of(GoAwayFrame)
        assert (goaway.last_stream_id, goaway.error_code) == (1, NO_ERROR)
        assert kinds(grpc_replies(bytes(frames.data[1]))) == ["request_headers"]  # the decision waits
        assert not stopping.done()

        release.set()
        assert not await read_until(reader, frames.feed, lambda: False)  # the reply, then the server closes
        assert kinds(grpc_replies(bytes(frames.data[1]))) == ["request_headers", "request_body"]
        assert all(f.error_code == NO_ERROR for f in frames.of(GoAwayFrame))
        assert not frames.of(RstStreamFrame)
        async with asyncio.timeout(TIMEOUT):
            await stopping
        assert time.monotonic() - started < TIMEOUT / 2  # stop returned once the stream was done, not at grace


@pytest.mark.anyio
async def test_request_windows_are_replenished_past_16_mib_on_one_connection() -> None:
    """Three 6 MiB bodies (over the 16 MiB windows) arrive in many partial reads and get their replies."""
    content = "x" * (6 * 1024 * 1024)
    body = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]})
    wire = grpc_frame(headers_message("/v1/chat/completions")) + grpc_frame(body_message(body))

    async with native_server() as (_, _, port), tcp_connection(port) as (reader, writer):
        client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        client.initiate_connection()
        writer.write(client.data_to_send())
        data: dict[int, bytearray] = defaultdict(bytearray)
        ended: set[int] = set()
        sent = 0

        def feed(chunk: bytes) -> None:
            for event in client.receive_data(chunk):
                if isinstance(event, h2.events.DataReceived):
                    assert event.stream_id is not None and event.data is not None
                    data[event.stream_id] += event.data
                    client.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    assert event.stream_id is not None
                    ended.add(event.stream_id)
            writer.write(client.data_to_send())

        assert await read_until(reader, feed, lambda: client.remote_settings.initial_window_size > 65535)
        for _ in range(3):
            stream_id = client.get_next_available_stream_id()
            client.send_headers(stream_id, GRPC_REQUEST_HEADERS)
            payload = memoryview(wire)
            while payload:
                room = min(client.local_flow_control_window(stream_id), client.max_outbound_frame_size)
                if room <= 0:  # stalled until the server sends WINDOW_UPDATE

                    def window_open(s: int = stream_id) -> bool:
                        return client.local_flow_control_window(s) > 0

                    assert await read_until(reader, feed, window_open)
                    continue
                client.send_data(stream_id, payload[:room].tobytes())
                payload = payload[room:]
                sent += room
                writer.write(client.data_to_send())
                async with asyncio.timeout(TIMEOUT):
                    await writer.drain()
            client.end_stream(stream_id)
            writer.write(client.data_to_send())

            def stream_ended(s: int = stream_id) -> bool:
                return s in ended

            assert await read_until(reader, feed, stream_ended)
            assert kinds(grpc_replies(bytes(data[stream_id]))) == ["request_headers", "request_body"]
        assert sent > 16 * 1024 * 1024  # past the windows: the server replenished them
