"""The native transport's own protocol edges, against a real grpcio client channel.

The ext_proc behaviours (continue, rewrite, pin, 400, bodiless, passthrough, 6 MB body through flow
control) run on both transports in test_servicer.py; this file covers what only a transport can get wrong.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import h2.config
import h2.connection
import h2.events
import hpack
import orjson
import pytest
from ext_proc_client import body_message, client_channel, headers_message, process_call
from seed_data import SEED_ENV, seed_config_data

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.config import parse_config
from brightstaff.extproc.native_server import NativeServer
from brightstaff.server.app import App, build_app, header_names

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


async def native_app(**server: Any) -> App:
    app = build_app(parse_config(seed_config_data(admin_port=0, transport="native", **server), SEED_ENV))
    await app.start(grpc_port=0, admin_port=0)
    return app


def run_native(scenario: Callable[[App, grpc.aio.Channel], Awaitable[None]], **server: Any) -> None:
    """Run a scenario with a native-transport app and one client channel (one HTTP/2 connection) to it."""

    async def main() -> None:
        app = await native_app(**server)
        channel = client_channel(app.grpc_port)
        try:
            await scenario(app, channel)
        finally:
            await channel.close()
            await app.stop(0)

    asyncio.run(main())


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


def test_unknown_method_is_unimplemented() -> None:
    async def scenario(app: App, channel: grpc.aio.Channel) -> None:
        call = process_call(channel, "/envoy.service.ext_proc.v3.ExternalProcessor/Nope")(messages())
        assert await failed_status(call) == grpc.StatusCode.UNIMPLEMENTED
        assert len(await full_exchange(channel)) == 2  # the connection still serves

    run_native(scenario)


def test_oversized_message_is_resource_exhausted_and_other_streams_go_on() -> None:
    async def scenario(app: App, channel: grpc.aio.Channel) -> None:
        big = body_message(b"x" * (200 * 1024))
        call = process_call(channel)(messages(headers_message("/v1/chat/completions"), big))
        assert await failed_status(call) == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert len(await full_exchange(channel)) == 2

    run_native(scenario, max_request_body_bytes=1024)  # message limit: 1 KiB + 64 KiB headroom


def test_many_concurrent_streams_on_one_connection() -> None:
    async def scenario(app: App, channel: grpc.aio.Channel) -> None:
        results = await asyncio.gather(*(full_exchange(channel) for _ in range(300)))
        kinds = {tuple(r.WhichOneof("response") for r in replies) for replies in results}
        assert kinds == {("request_headers", "request_body")}

    run_native(scenario)  # one channel: one HTTP/2 connection


def test_client_cancellation_mid_stream_leaves_the_connection_serving() -> None:
    async def scenario(app: App, channel: grpc.aio.Channel) -> None:
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

    run_native(scenario)


def test_graceful_shutdown_finishes_the_stream_in_flight() -> None:
    async def main() -> None:
        app = await native_app()
        handle = app.handler.handle
        deciding = asyncio.Event()

        async def slow_handle(*args: Any) -> Any:
            deciding.set()
            await asyncio.sleep(0.3)
            return await handle(*args)

        app.handler.handle = slow_handle  # type: ignore[method-assign]
        channel = client_channel(app.grpc_port)
        try:
            in_flight = asyncio.create_task(full_exchange(channel))
            await deciding.wait()
            await app.stop(5)  # returns once the stream in flight has its decision
            replies = await in_flight
            assert [r.WhichOneof("response") for r in replies] == ["request_headers", "request_body"]
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", app.grpc_port)
        finally:
            await channel.close()

    asyncio.run(main())


def test_bad_config_transport_names_the_field() -> None:
    from brightstaff.config import ConfigError

    with pytest.raises(ConfigError, match=r"brightstaff\.transport"):
        parse_config(seed_config_data(transport="h3"), SEED_ENV)


def test_compressed_message_is_unimplemented() -> None:
    async def scenario(app: App, channel: grpc.aio.Channel) -> None:
        compressible = body_message(b"x" * 10_000)  # grpc sends a message uncompressed when gzip does not shrink it
        requests = messages(headers_message("/v1/chat/completions"), compressible)
        call = process_call(channel)(requests, compression=grpc.Compression.Gzip)
        assert await failed_status(call) == grpc.StatusCode.UNIMPLEMENTED
        assert len(await full_exchange(channel)) == 2

    run_native(scenario)


def test_a_protocol_error_closes_only_its_own_connection() -> None:
    async def scenario(app: App, channel: grpc.aio.Channel) -> None:
        assert len(await full_exchange(channel)) == 2  # the channel's connection is up before the bad one
        reader, writer = await asyncio.open_connection("127.0.0.1", app.grpc_port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # not the HTTP/2 preface
        try:
            async with asyncio.timeout(5):
                while await reader.read(65536):
                    pass  # the server's SETTINGS and GOAWAY, then EOF
        finally:
            writer.close()
            await writer.wait_closed()
        assert len(await full_exchange(channel)) == 2

    run_native(scenario)


def test_idle_connections_are_closed_with_goaway() -> None:
    async def main() -> None:
        app = build_app(parse_config(seed_config_data(admin_port=0), SEED_ENV))
        server = NativeServer(app.handler, header_names(app.config), max_message_bytes=1 << 20, idle_timeout=0.2)
        port = await server.start("127.0.0.1", 0)
        client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        client.initiate_connection()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(client.data_to_send())
        events: list[h2.events.Event] = []
        try:
            async with asyncio.timeout(5):
                while data := await reader.read(65536):
                    events += client.receive_data(data)
        finally:
            writer.close()
            await writer.wait_closed()
            await server.stop(0)
            await app.store.close()
        assert any(isinstance(event, h2.events.ConnectionTerminated) for event in events)

    asyncio.run(main())


def test_a_failing_decision_fails_only_its_own_call() -> None:
    async def scenario(app: App, channel: grpc.aio.Channel) -> None:
        handle = app.handler.handle

        async def broken(*args: Any) -> Any:
            raise RuntimeError("boom")

        app.handler.handle = broken  # type: ignore[method-assign]
        call = process_call(channel)(messages(headers_message("/v1/chat/completions"), body_message(PAYLOAD)))
        assert await failed_status(call) == grpc.StatusCode.UNKNOWN
        app.handler.handle = handle  # type: ignore[method-assign]
        assert len(await full_exchange(channel)) == 2

    run_native(scenario)


def test_header_blocks_are_reused_only_while_the_dynamic_table_is_unchanged() -> None:
    from brightstaff.extproc.native_server import _HeaderBlocks

    blocks = _HeaderBlocks(16 * 1024)
    inserts_x = hpack.Encoder().encode([(b"x", b"1")])  # literal with incremental indexing: x -> index 62
    refers_62 = b"\xbe"  # indexed field 62: the newest dynamic entry, whatever it is now
    never_indexed_path = hpack.Encoder().encode([(b":path", b"/a", True)])  # sensitive: never indexed

    assert blocks.decode(never_indexed_path) == {b":path": b"/a"}
    assert blocks.decode(never_indexed_path) == {b":path": b"/a"}  # kept: it did not touch the table
    assert blocks.decode(inserts_x) == {b"x": b"1"}
    assert blocks.decode(refers_62) == {b"x": b"1"}
    inserts_y = hpack.Encoder().encode([(b"y", b"2")])
    assert blocks.decode(inserts_y) == {b"y": b"2"}
    # The same bytes now name another entry: a kept result from before the insertion must not be reused.
    assert blocks.decode(refers_62) == {b"y": b"2"}


def test_a_header_block_that_cannot_be_decoded_is_a_compression_error() -> None:
    from brightstaff.extproc.http2 import COMPRESSION_ERROR, ProtocolViolation
    from brightstaff.extproc.native_server import _HeaderBlocks

    with pytest.raises(ProtocolViolation) as error:
        _HeaderBlocks(16 * 1024).decode(b"\xff\xff\xff\xff\x0f")  # an index far past both tables
    assert error.value.code == COMPRESSION_ERROR
