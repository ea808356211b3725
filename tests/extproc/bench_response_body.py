"""Micro-benchmark (not a test): brightstaff CPU per translated SSE chunk on the ext_proc response path.

Drives the native transport in memory as Envoy does once a translated response streams: one HTTP/2 DATA
frame per SSE event, each one gRPC message `ProcessingRequest{response_body}`, each answered with a
`ProcessingResponse{response_body}` (the translated bytes). A 50-event stream per call (the streams of
tests/providers/bench_translators.py), many calls on one connection. Prints microseconds per chunk for
the whole path (HTTP/2 in and out, protobuf, `ProcessStream`, the translator) and for its layers.
`--socket` runs the same over a loopback socket on uvloop (a client thread; its GIL hand-offs inflate the
figure somewhat). What it showed (2-core VM, December 2026): ~10 us of Python per chunk in memory, of
which the reply encoding ~1.2 and the protobuf parse ~0.7; over the socket 35-80 us per chunk, for
exactly three syscalls per chunk on the server side (epoll_pwait, read, writev; strace -c). The round
trip per SSE event, not the code on it, is what a translated stream costs. Run under the lock:

    flock /tmp/brightstaff-heavy.lock .venv/bin/python tests/extproc/bench_response_body.py [--profile]
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import pstats
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast

import hpack
from hyperframe.frame import DataFrame, HeadersFrame, SettingsFrame, WindowUpdateFrame

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "providers"))
from bench_translators import anthropic_events, openai_events
from ext_proc_client import GRPC_REQUEST_HEADERS, grpc_frame

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.core.outcome import Outcome, Reply, ResponseTranslator
from brightstaff.core.request import RequestFacts
from brightstaff.extproc import codec
from brightstaff.extproc.http2.connection import Limits
from brightstaff.extproc.native_server import NativeServer
from brightstaff.extproc.process_stream import HeaderNames, ProcessStream
from brightstaff.providers.chat_from_messages import ChatFromMessages
from brightstaff.providers.messages_from_chat import MessagesFromChat
from brightstaff.providers.responses_events import ResponseFrame, response_echo
from brightstaff.providers.responses_from_chat import ResponsesFromChat

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
STREAMS = 200


class _Handler:
    async def handle(self, facts: RequestFacts, body: bytes | None) -> Outcome:
        return Reply(200, b"{}")


class _Transport:
    """Takes what the server writes; counts it, so the client can hand the window back."""

    def __init__(self) -> None:
        self.written = 0

    def writelines(self, chunks: Iterable[bytes | memoryview]) -> None:
        self.written += sum(len(c) for c in chunks)

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1)

    def close(self) -> None:
        pass


def _response_headers() -> bytes:
    headers = [(":status", "200"), ("content-type", "text/event-stream")]
    message = pb.ProcessingRequest(
        response_headers=pb.HttpHeaders(
            headers=pb.HeaderMap(headers=[pb.HeaderValue(key=k, raw_value=v.encode()) for k, v in headers])
        )
    )
    return grpc_frame(message)


def _chunk_frames(stream_id: int, events: list[bytes]) -> list[bytes]:
    last = len(events) - 1
    return [
        DataFrame(
            stream_id,
            grpc_frame(pb.ProcessingRequest(response_body=pb.HttpBody(body=e, end_of_stream=i == last))),
        ).serialize()
        for i, e in enumerate(events)
    ]


def wire_us_per_chunk(make: Callable[[], ResponseTranslator], events: list[bytes], profile: bool = False) -> float:
    """The native transport end to end, per chunk (only the body chunks are timed)."""
    return asyncio.run(_wire(make, events, profile))


async def _wire(make: Callable[[], ResponseTranslator], events: list[bytes], profile: bool) -> float:
    server = NativeServer(_Handler(), HeaderNames("x-affinity", None), Limits(max_message_bytes=4 << 20))
    connection = server.protocol()
    transport = _Transport()
    connection.connection_made(cast(Any, transport))
    encoder = hpack.Encoder()
    connection.data_received(PREFACE + SettingsFrame(0).serialize())
    calls = cast(Any, connection)._calls
    profiler = cProfile.Profile() if profile else None
    total = 0
    for n in range(STREAMS):
        stream_id = 2 * n + 1
        written = transport.written
        block = encoder.encode(GRPC_REQUEST_HEADERS)
        connection.data_received(HeadersFrame(stream_id, block, flags=["END_HEADERS"]).serialize())
        calls[stream_id].logic._translator = make()
        connection.data_received(DataFrame(stream_id, _response_headers()).serialize())
        frames = _chunk_frames(stream_id, events)
        if profiler is not None:
            profiler.enable()
        started = time.process_time_ns()
        for data in frames:
            connection.data_received(data)
        total += time.process_time_ns() - started
        if profiler is not None:
            profiler.disable()
        assert stream_id not in calls
        # Hand back the window the replies used (Envoy does the same).
        connection.data_received(WindowUpdateFrame(0, transport.written - written).serialize())
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return total / 1000 / STREAMS / len(events)


def socket_us_per_chunk(make: Callable[[], ResponseTranslator], events: list[bytes], gap: float) -> float:
    """Over a real loopback socket on uvloop, `gap` seconds between chunks (as Envoy sends an SSE stream):
    the server thread's CPU per chunk, syscalls and loop wake-ups included (the client is another thread)."""
    import socket
    import threading

    import uvloop

    streams = 20

    async def serve() -> None:
        server = NativeServer(_Handler(), HeaderNames("x-affinity", None), Limits(max_message_bytes=4 << 20))
        port = await server.start("127.0.0.1", 0)
        done = asyncio.get_running_loop().create_future()
        loop = asyncio.get_running_loop()

        def client() -> None:
            sock = socket.create_connection(("127.0.0.1", port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(PREFACE + SettingsFrame(0).serialize())
            sock.recv(65536)
            encoder = hpack.Encoder()
            for n in range(streams):
                stream_id = 2 * n + 1
                got = 0
                block = encoder.encode(GRPC_REQUEST_HEADERS)
                sock.sendall(HeadersFrame(stream_id, block, flags=["END_HEADERS"]).serialize())
                time.sleep(0.005)
                connection = next(iter(cast(Any, server)._connections))
                connection._calls[stream_id].logic._translator = make()
                sock.sendall(DataFrame(stream_id, _response_headers()).serialize())
                got += len(sock.recv(65536))
                for data in _chunk_frames(stream_id, events):
                    time.sleep(gap)
                    sock.sendall(data)
                    got += len(sock.recv(65536))
                time.sleep(0.002)
                sock.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    got += len(sock.recv(65536))
                sock.setblocking(True)
                sock.sendall(WindowUpdateFrame(0, got).serialize())
            time.sleep(0.01)
            sock.close()
            loop.call_soon_threadsafe(done.set_result, None)

        thread = threading.Thread(target=client)
        thread.start()
        await done
        thread.join()
        await server.stop(0)

    # Measure the loop thread: the loop runs in this thread, the client in another.
    started: list[int] = []
    ended: list[int] = []

    async def measured() -> None:
        loop = asyncio.get_running_loop()
        loop.call_soon(lambda: started.append(time.thread_time_ns()))
        await serve()
        ended.append(time.thread_time_ns())

    uvloop.run(measured())
    # Everything the loop thread did (setup included, small) over every chunk of every stream.
    return (ended[0] - started[0]) / 1000 / streams / len(events)


def logic_us_per_chunk(make: Callable[[], ResponseTranslator], events: list[bytes]) -> float:
    """Parse, `ProcessStream.receive`, reply: no HTTP/2."""
    last = len(events) - 1
    messages = [
        pb.ProcessingRequest(response_body=pb.HttpBody(body=e, end_of_stream=i == last)).SerializeToString()
        for i, e in enumerate(events)
    ]
    headers = _response_headers()[5:]
    total = 0
    for _ in range(STREAMS):
        logic = ProcessStream(_Handler(), HeaderNames("x-affinity", None))
        logic._translator = make()
        logic.receive(pb.ProcessingRequest.FromString(headers))
        started = time.process_time_ns()
        for message in messages:
            logic.receive(pb.ProcessingRequest.FromString(message))
        total += time.process_time_ns() - started
    return total / 1000 / STREAMS / len(events)


def translator_us_per_chunk(make: Callable[[], ResponseTranslator], events: list[bytes]) -> float:
    last = len(events) - 1
    total = 0
    for _ in range(STREAMS):
        translator = make()
        translator.start(200, {"content-type": "text/event-stream"})
        started = time.process_time_ns()
        for i, e in enumerate(events):
            translator.body(e, i == last)
        total += time.process_time_ns() - started
    return total / 1000 / STREAMS / len(events)


def encode_us_per_chunk(events: list[bytes]) -> float:
    started = time.process_time_ns()
    for _ in range(STREAMS):
        for e in events:
            codec.encode_response_body_reply(e, buffered=False)
    return (time.process_time_ns() - started) / 1000 / STREAMS / len(events)


def main() -> None:
    from brightstaff.core.responses import parse_responses

    echo = response_echo(parse_responses(b'{"model": "m", "input": "hi", "stream": true}'))
    cases: list[tuple[str, Callable[[], ResponseTranslator], list[bytes]]] = [
        ("Anthropic -> chat", lambda: ChatFromMessages(include_usage=True), anthropic_events()),
        ("chat -> Anthropic", MessagesFromChat, openai_events()),
        ("chat -> Responses", lambda: ResponsesFromChat(ResponseFrame(echo, "m")), openai_events()),
    ]
    if "--socket" in sys.argv:
        for name, make, events in cases:
            print(
                f"{name:20} socket, no gap {socket_us_per_chunk(make, events, 0):6.1f}"
                f"  1 ms gap {socket_us_per_chunk(make, events, 0.001):6.1f} us/chunk"
            )
        return
    if "--profile" in sys.argv:
        name, make, events = cases[0]
        print(name, f"{wire_us_per_chunk(make, events, profile=True):.1f} us/chunk")
        return
    print(f"{'stream':20} {'wire':>7} {'logic':>7} {'transl':>7} {'encode':>7}  (us per chunk)")
    for name, make, events in cases:
        wire_us_per_chunk(make, events)  # warm up
        print(
            f"{name:20} {wire_us_per_chunk(make, events):7.1f} {logic_us_per_chunk(make, events):7.1f}"
            f" {translator_us_per_chunk(make, events):7.1f} {encode_us_per_chunk(events):7.1f}"
        )


if __name__ == "__main__":
    main()
