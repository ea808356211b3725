"""PROTOTYPE, for measurement only: brightstaff's ext_proc logic behind a minimal asyncio HTTP/2 + gRPC framing.

Why it exists: on a 2-core machine grpcio's asyncio server costs ~750 µs of CPU per ext_proc request
before brightstaff's own logic runs (~60-90 µs at 1 KB). Every gRPC operation completes on an
EventEngine thread, is handed to grpcio's poller thread, then written to a socketpair to wake the
asyncio loop: ~25 context switches per request (headers message, reply, body message, reply, status).
This file answers "how fast would the same decisions be without that machinery?": frames are parsed
and written on the event loop itself (uvloop), one write per reply, so ~0.5 context switch per request.

It reuses brightstaff unchanged (config, app, handler, codec); only the transport differs. It is NOT
production code: it serves only ExternalProcessor/Process (any path), ignores the peer's flow-control
windows when sending (Envoy's are 256 MiB; a reply is at most the body), has no graceful drain, no
health service, and is tested only by the benchmark (`--server h2-prototype`). See the README section
on performance for the measured numbers.

    python benchmarks/h2_extproc_prototype.py [--log-level info] serve CONFIG --grpc-port P --admin-port Q
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import struct
import sys
from collections.abc import Callable, Coroutine
from typing import Any, cast

import uvloop
from hpack import Decoder

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.app import build_app
from brightstaff.config import load_config
from brightstaff.core.request import RequestFacts
from brightstaff.core.rewrite import Outcome, Reply
from brightstaff.errors import internal_error
from brightstaff.extproc import codec
from brightstaff.handler import RequestHandler

_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_DATA, _HEADERS, _RST_STREAM, _SETTINGS, _PING, _GOAWAY, _WINDOW_UPDATE, _CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
_END_STREAM, _ACK, _END_HEADERS, _PADDED, _PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20
_MAX_WINDOW = 2**31 - 1


def _frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return len(payload).to_bytes(3, "big") + bytes((kind, flags)) + stream.to_bytes(4, "big") + payload


# HPACK without the dynamic table: ':status: 200' (static index 8), then literals without indexing.
_RESPONSE_HEADERS = b"\x88" + b"\x0f\x10\x10application/grpc"
_TRAILERS = b"\x00\x0bgrpc-status\x010"
_SETTINGS_FRAME = _frame(
    _SETTINGS,
    0,
    0,
    struct.pack(">HI", 3, 1024)  # MAX_CONCURRENT_STREAMS
    + struct.pack(">HI", 4, _MAX_WINDOW)  # INITIAL_WINDOW_SIZE
    + struct.pack(">HI", 5, 16 * 1024 * 1024 - 1),  # MAX_FRAME_SIZE
)
_CONNECTION_WINDOW = _frame(_WINDOW_UPDATE, 0, 0, struct.pack(">I", _MAX_WINDOW - 65535))


class _Stream:
    __slots__ = ("buffer", "facts", "headers_sent")

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.facts: RequestFacts | None = None
        self.headers_sent = False


class _Connection(asyncio.Protocol):
    def __init__(self, handler: RequestHandler) -> None:
        self._handler = handler
        self._affinity_header = handler.config.server.affinity_header
        self._tenant_header = handler.config.routing.tenant_header
        self._buffer = bytearray()
        self._preface_seen = False
        self._decoder = Decoder()
        self._streams: dict[int, _Stream] = {}
        self._block = bytearray()
        self._block_stream = 0
        self._consumed = 0
        self._max_frame = 16384
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's TCPTransport is not a subclass
        self._transport.write(_SETTINGS_FRAME + _CONNECTION_WINDOW)

    def _write(self, data: bytes) -> None:
        if self._transport is not None:
            self._transport.write(data)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if not self._preface_seen:
            if len(buffer) < len(_PREFACE):
                return
            del buffer[: len(_PREFACE)]
            self._preface_seen = True
        position, end = 0, len(buffer)
        while end - position >= 9:
            length = int.from_bytes(buffer[position : position + 3], "big")
            if end - position - 9 < length:
                break
            kind, flags = buffer[position + 3], buffer[position + 4]
            stream = int.from_bytes(buffer[position + 5 : position + 9], "big") & 0x7FFFFFFF
            payload = bytes(buffer[position + 9 : position + 9 + length])
            position += 9 + length
            self._on_frame(kind, flags, stream, payload)
        del buffer[:position]

    def _on_frame(self, kind: int, flags: int, stream_id: int, payload: bytes) -> None:
        if kind == _DATA:
            self._on_data(flags, stream_id, payload)
        elif kind in (_HEADERS, _CONTINUATION):
            if kind == _HEADERS:
                if flags & _PADDED:
                    payload = payload[1 : len(payload) - payload[0]]
                if flags & _PRIORITY:
                    payload = payload[5:]
                self._block = bytearray(payload)
                self._block_stream = stream_id
            else:
                self._block += payload
            if flags & _END_HEADERS:
                self._decoder.decode(bytes(self._block))  # keeps the HPACK table in step; values unused
                self._streams.setdefault(self._block_stream, _Stream())
        elif kind == _SETTINGS and not flags & _ACK:
            for offset in range(0, len(payload) - 5, 6):
                key, value = struct.unpack_from(">HI", payload, offset)
                if key == 5:
                    self._max_frame = value
            self._write(_frame(_SETTINGS, _ACK, 0))
        elif kind == _PING and not flags & _ACK:
            self._write(_frame(_PING, _ACK, 0, payload))
        elif kind == _RST_STREAM:
            self._streams.pop(stream_id, None)
        elif kind == _GOAWAY and self._transport is not None:
            self._transport.close()

    def _on_data(self, flags: int, stream_id: int, payload: bytes) -> None:
        if flags & _PADDED:
            payload = payload[1 : len(payload) - payload[0]]
        self._consumed += len(payload)
        if self._consumed > 1 << 30:
            self._write(_frame(_WINDOW_UPDATE, 0, 0, struct.pack(">I", self._consumed)))
            self._consumed = 0
        stream = self._streams.get(stream_id)
        if stream is None:
            return
        stream.buffer += payload
        while len(stream.buffer) >= 5:
            length = int.from_bytes(stream.buffer[1:5], "big")
            if len(stream.buffer) < 5 + length:
                break
            message = bytes(stream.buffer[5 : 5 + length])
            del stream.buffer[: 5 + length]
            self._on_message(stream_id, stream, pb.ProcessingRequest.FromString(message))

    def _send(self, stream_id: int, stream: _Stream, reply: bytes, *, last: bool) -> None:
        message = b"\x00" + len(reply).to_bytes(4, "big") + reply
        out = [] if stream.headers_sent else [_frame(_HEADERS, _END_HEADERS, stream_id, _RESPONSE_HEADERS)]
        stream.headers_sent = True
        step = self._max_frame
        out += [_frame(_DATA, 0, stream_id, message[i : i + step]) for i in range(0, len(message), step)]
        if last:
            out.append(_frame(_HEADERS, _END_HEADERS | _END_STREAM, stream_id, _TRAILERS))
            self._streams.pop(stream_id, None)
        self._write(b"".join(out))  # one write per reply

    def _on_message(self, stream_id: int, stream: _Stream, request: pb.ProcessingRequest) -> None:
        kind = request.WhichOneof("request")
        if kind == "request_headers":
            headers = request.request_headers
            stream.facts = codec.facts_from_headers(
                headers, affinity_header=self._affinity_header, tenant_header=self._tenant_header
            )
            if not headers.end_of_stream:
                self._send(stream_id, stream, codec.HEADERS_CONTINUE, last=False)
                return
            self._decide(
                stream_id,
                stream,
                self._handler.handle(stream.facts, None),
                lambda o: codec.encode_headers_outcome(o).SerializeToString(),
            )
        elif kind == "request_body":
            if stream.facts is None:
                self._send(stream_id, stream, codec.encode_body_reply(Reply.from_error(internal_error())), last=True)
                return
            self._decide(
                stream_id,
                stream,
                self._handler.handle(stream.facts, request.request_body.body),
                codec.encode_body_reply,
            )
        else:
            self._send(stream_id, stream, codec.passthrough(kind), last=False)

    def _decide(
        self,
        stream_id: int,
        stream: _Stream,
        decision: Coroutine[Any, Any, Outcome],
        encode: Callable[[Outcome], bytes],
    ) -> None:
        # A task, as grpcio runs each RPC in one: pin stores and routers may use asyncio.timeout(), which
        # needs the current task.
        asyncio.get_running_loop().create_task(self._finish(stream_id, stream, decision, encode))

    async def _finish(
        self,
        stream_id: int,
        stream: _Stream,
        decision: Coroutine[Any, Any, Outcome],
        encode: Callable[[Outcome], bytes],
    ) -> None:
        self._send(stream_id, stream, encode(await decision), last=True)


async def _serve(config_path: str, grpc_port: int, admin_port: int) -> None:
    app = build_app(load_config(config_path))
    server = app.config.server
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(lambda: _Connection(app.handler), server.grpc_host, grpc_port)
    await app.admin.start(server.admin_host, admin_port)
    app.admin.ready = True
    print(f"brightstaff (h2 prototype) ready: ext_proc on {server.grpc_host}:{grpc_port}", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    listener.close()
    await app.admin.close()
    await app.store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="h2_extproc_prototype.py", description=__doc__.splitlines()[0])
    parser.add_argument("--log-level", default="info")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve")
    serve.add_argument("config")
    serve.add_argument("--grpc-port", type=int, required=True)
    serve.add_argument("--admin-port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    uvloop.run(_serve(args.config, args.grpc_port, args.admin_port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
