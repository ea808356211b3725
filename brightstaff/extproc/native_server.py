"""The native ext_proc transport: gRPC over HTTP/2 on the asyncio loop itself, for one method, without grpcio.

Why it exists: grpcio's asyncio server completes every gRPC operation on its own threads and then wakes
the event loop (~25 thread context switches per ext_proc request), which costs several times brightstaff's
own decision logic in CPU. Here frames are parsed and written on the event loop, one write per batch of
replies. The framing is this module's own (`http2.py`): a general HTTP/2 library spent more CPU per
request than the decision itself, on features a gRPC server for one peer does not use.

Scope and invariants:
- Serves exactly `/envoy.service.ext_proc.v3.ExternalProcessor/Process` (anything else: grpc-status 12).
- HTTP/2 as RFC 9113 asks of a server: the preface, SETTINGS (acknowledged; the peer's window, frame
  size and concurrency honoured), PING, GOAWAY, RST_STREAM, PRIORITY (ignored), padding, CONTINUATION,
  unknown frame types (ignored). Request header blocks go through `hpack`'s decoder, which keeps the
  dynamic table; replies use static-table and literal fields only, so they need no encoder state.
- Flow control both ways. Inbound: 16 MiB windows per stream and per connection, replenished with one
  WINDOW_UPDATE once half is used (a message never stalls, and small requests cost no extra frames);
  what is buffered is bounded per stream by the gRPC message limit and per connection by
  `max_connection_buffer`. Outbound: never more than the peer's stream and connection windows and its
  frame size allow, resumed on WINDOW_UPDATE or a SETTINGS change.
- Per stream, each gRPC message goes to the same `ProcessStream` the grpcio transport uses; the stream
  ends (grpc-status 0) after the decision reply, as with grpcio.
- One connection's or stream's failure never touches another: protocol errors close only their own
  connection (GOAWAY with the error code), stream errors reset or end only their own stream.
- Drain: stop accepting, announce GOAWAY, refuse new streams, let in-flight streams finish within the
  grace, then close.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any, cast

import hpack
from google.protobuf.message import DecodeError

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.extproc import http2
from brightstaff.extproc.http2 import ProtocolViolation
from brightstaff.extproc.process_stream import METHOD_PATH, ExtProcHandler, HeaderNames, ProcessStream

log = logging.getLogger("brightstaff.extproc.native")

# gRPC status codes this transport sends.
OK, UNKNOWN, RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL = 0, 2, 8, 12, 13

_WINDOW = 16 * 1024 * 1024  # receive window per stream and per connection: a whole body in one round trip
_MAX_FRAME = 1024 * 1024  # the largest frame the peer may send us (fewer frames for a big body)
_MAX_GRPC_MESSAGE_TEXT = 512  # grpc-message is for people; keep the trailers block far below any frame size
_METHOD_PATH = METHOD_PATH.encode()


class NativeServer:
    """Listens on one address; every accepted connection is a `_Connection` with its own h2 state."""

    def __init__(
        self,
        handler: ExtProcHandler,
        names: HeaderNames,
        *,
        max_message_bytes: int,
        max_concurrent_streams: int = 1024,
        max_header_list_bytes: int = 16 * 1024,
        max_connection_buffer: int | None = None,
        idle_timeout: float = 600.0,
    ) -> None:
        self._handler = handler
        self._names = names
        self.max_message_bytes = max_message_bytes
        self.max_concurrent_streams = max_concurrent_streams
        self.max_header_list_bytes = max_header_list_bytes
        # Buffered-but-unparsed request bytes one connection may hold across its streams.
        self.max_connection_buffer = max_connection_buffer or 4 * (max_message_bytes + 5)
        self.idle_timeout = idle_timeout
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._quieter = asyncio.Event()  # set whenever a connection ends or runs out of streams

    async def start(self, host: str, port: int) -> int:
        """Start listening; return the bound port (useful when `port` is 0)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self, grace: float | None = None) -> None:
        """Stop accepting, send GOAWAY, wait up to `grace` seconds for in-flight streams, then close."""
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            connection.drain()
        deadline = time.monotonic() + (grace or 0.0)
        while self.busy and (remaining := deadline - time.monotonic()) > 0:
            self._quieter.clear()
            try:
                await asyncio.wait_for(self._quieter.wait(), remaining)
            except TimeoutError:
                break
        for connection in list(self._connections):
            connection.close()
        await asyncio.sleep(0)  # let the transports' connection_lost callbacks run
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    @property
    def busy(self) -> bool:
        """Some connection has a stream in flight."""
        return any(c.busy for c in self._connections)

    def new_stream(self) -> ProcessStream:
        return ProcessStream(self._handler, self._names)

    def register(self, connection: _Connection) -> None:
        self._connections.add(connection)

    def unregister(self, connection: _Connection) -> None:
        self._connections.discard(connection)
        self._quieter.set()

    def quieter(self) -> None:
        self._quieter.set()


class _HeaderBlocks:
    """Decodes request header blocks, reusing the result for a block seen before while HPACK's dynamic
    table is unchanged.

    Envoy opens every ext_proc stream with the same bytes: table references plus `:path` as a literal
    that is never indexed (Huffman-coded, so it costs most of the decoding). The same block decoded
    against the same table gives the same headers, so one dictionary look-up replaces the decoding.
    Every block still changes the table first if it would: only blocks that leave it untouched are kept.
    """

    _MAX_KEPT = 64

    def __init__(self, max_header_list_bytes: int) -> None:
        self._decoder = hpack.Decoder()
        self._decoder.max_header_list_size = max_header_list_bytes
        self._table = self._decoder.header_table
        self._generation = 0  # bumped whenever a block changes the dynamic table
        self._kept: dict[bytes, tuple[int, dict[bytes, bytes]]] = {}

    def decode(self, block: bytes) -> dict[bytes, bytes]:
        kept = self._kept.get(block)
        if kept is not None and kept[0] == self._generation:
            return kept[1]
        entries = self._table.dynamic_entries
        # An insertion puts a new tuple first; a size update changes maxsize (and evicts).
        before = (entries[0] if entries else None, len(entries), self._table.maxsize)
        try:
            # Every block must be decoded, even one we refuse: the dynamic table is shared.
            headers = dict(self._decoder.decode(block, raw=True))
        except hpack.HPACKError as exc:
            raise ProtocolViolation(http2.COMPRESSION_ERROR, f"cannot decode a header block: {exc}") from None
        first = entries[0] if entries else None
        if first is before[0] and len(entries) == before[1] and self._table.maxsize == before[2]:
            if len(self._kept) >= self._MAX_KEPT:
                self._kept.clear()
            self._kept[block] = (self._generation, headers)
        else:
            self._generation += 1
        return headers


class _Stream:
    """One gRPC call: its buffered request bytes, its logic, its send window and the reply bytes it holds."""

    __slots__ = (
        "buffer",
        "client_ended",
        "done",
        "headers_sent",
        "id",
        "logic",
        "pending",
        "received",
        "send_window",
        "task",
        "trailers",
    )

    def __init__(self, stream_id: int, logic: ProcessStream, send_window: int) -> None:
        self.id = stream_id
        self.logic = logic
        self.buffer = bytearray()
        self.headers_sent = False
        self.pending = bytearray()  # reply bytes not yet sent for lack of flow-control window
        self.trailers: bytes | None = None  # header block sent once `pending` is out
        self.done = False  # the reply side is finished (or being finished): ignore further messages
        self.client_ended = False  # the client sent END_STREAM
        self.task: asyncio.Task[None] | None = None
        self.send_window = send_window
        self.received = 0  # flow-controlled bytes received since the last stream WINDOW_UPDATE


class _Connection(asyncio.Protocol):
    def __init__(self, server: NativeServer) -> None:
        self._server = server
        self._inbound = bytearray()
        self._preface_seen = False
        self._headers = _HeaderBlocks(server.max_header_list_bytes)
        # A header block split over CONTINUATION frames: (stream id, END_STREAM flag, fragments so far).
        self._continuation: tuple[int, int, bytearray] | None = None
        self._streams: dict[int, _Stream] = {}
        self._last_stream_id = 0  # highest stream id the client has opened
        self._peer_window = http2.DEFAULT_WINDOW  # the peer's SETTINGS_INITIAL_WINDOW_SIZE
        self._peer_max_frame = http2.DEFAULT_MAX_FRAME
        self._send_window = http2.DEFAULT_WINDOW  # connection-level window for what we send
        self._received = 0  # flow-controlled bytes received since the last connection WINDOW_UPDATE
        self._out: list[bytes] = []  # frames to write at the next flush
        self._buffered = 0  # request bytes buffered across streams
        self._transport: asyncio.Transport | None = None
        self._draining_after: int | None = None  # streams above this id are refused (GOAWAY sent)
        self._idle_timer: asyncio.TimerHandle | None = None
        self._closed = False  # close() was called: frames still arriving are not handled
        self._peer = "?"

    @property
    def busy(self) -> bool:
        return bool(self._streams)

    # ---- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's TCPTransport is not a subclass
        self._peer = str(transport.get_extra_info("peername"))
        self._server.register(self)
        self._out.append(
            http2.settings_frame(
                {
                    http2.MAX_CONCURRENT_STREAMS: self._server.max_concurrent_streams,
                    http2.INITIAL_WINDOW_SIZE: _WINDOW,
                    http2.MAX_FRAME_SIZE: _MAX_FRAME,
                    http2.MAX_HEADER_LIST_SIZE: self._server.max_header_list_bytes,
                }
            )
        )
        # The connection window starts at 64 KiB whatever SETTINGS say: open it to match the streams'.
        self._out.append(http2.window_update(0, _WINDOW - http2.DEFAULT_WINDOW))
        self._flush()
        self._arm_idle_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.unregister(self)
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        for stream in self._streams.values():
            if stream.task is not None:
                stream.task.cancel()
        self._streams.clear()
        self._transport = None

    def pause_writing(self) -> None:
        # The peer is not reading our replies: stop reading its requests until it does.
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None:
            self._transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        buffer: bytes | bytearray = data  # usually whole frames: read them in place, keep only a partial tail
        if self._inbound:
            self._inbound += data
            buffer = self._inbound
        try:
            consumed = self._read_frames(buffer)
        except ProtocolViolation as exc:
            log.warning("HTTP/2 protocol error from %s: %s; closing the connection", self._peer, exc)
            self._out.append(http2.goaway(self._last_stream_id, exc.code))
            self.close(announce=False)
            return
        if buffer is self._inbound:
            del self._inbound[:consumed]
        elif consumed < len(data):
            self._inbound += memoryview(data)[consumed:]
        self._flush()

    # ---- reading

    def _read_frames(self, buffer: bytes | bytearray) -> int:
        """Handle every complete frame in `buffer`; return how many bytes they took."""
        offset = 0
        if not self._preface_seen:
            head = bytes(buffer[: len(http2.PREFACE)])
            if not http2.PREFACE.startswith(head):
                raise ProtocolViolation(http2.PROTOCOL_ERROR, "not an HTTP/2 connection preface")
            if len(head) < len(http2.PREFACE):
                return 0
            self._preface_seen = True
            offset = len(http2.PREFACE)
        end = len(buffer)
        # Payloads are views into `buffer`, valid during their handler only (handlers copy what they keep).
        with memoryview(buffer) as view:
            while end - offset >= http2.FRAME_HEADER_SIZE and not self._closed:
                length, frame_type, flags, stream_id = http2.parse_frame_header(buffer, offset)
                if length > _MAX_FRAME:
                    raise ProtocolViolation(http2.FRAME_SIZE_ERROR, f"a frame of {length} bytes exceeds {_MAX_FRAME}")
                start = offset + http2.FRAME_HEADER_SIZE
                if end - start < length:
                    break
                offset = start + length
                self._on_frame(frame_type, flags, stream_id, view[start:offset])
        return offset

    def _on_frame(self, frame_type: int, flags: int, stream_id: int, payload: memoryview) -> None:
        if self._continuation is not None and frame_type != http2.CONTINUATION:
            raise ProtocolViolation(http2.PROTOCOL_ERROR, "a header block was interrupted")
        if frame_type == http2.DATA:
            self._on_data(flags, stream_id, payload)
        elif frame_type == http2.HEADERS:
            self._on_headers(flags, stream_id, payload)
        elif frame_type == http2.CONTINUATION:
            self._on_continuation(flags, stream_id, payload)
        elif frame_type == http2.WINDOW_UPDATE:
            self._on_window_update(stream_id, payload)
        elif frame_type == http2.SETTINGS:
            self._on_settings(flags, stream_id, payload)
        elif frame_type == http2.PING:
            if stream_id or len(payload) != 8:
                raise ProtocolViolation(http2.FRAME_SIZE_ERROR if stream_id == 0 else http2.PROTOCOL_ERROR, "bad PING")
            if not flags & http2.ACK:
                self._out.append(http2.frame(http2.PING, http2.ACK, 0, bytes(payload)))
        elif frame_type == http2.RST_STREAM:
            if stream_id == 0 or len(payload) != 4:
                raise ProtocolViolation(
                    http2.PROTOCOL_ERROR if stream_id == 0 else http2.FRAME_SIZE_ERROR, "bad RST_STREAM"
                )
            self._forget(stream_id, cancel=True)
        elif frame_type == http2.GOAWAY:
            # The peer opens no more streams; the ones in flight still get their replies.
            if self._draining_after is None:
                self._draining_after = self._last_stream_id
            if not self._streams:
                self.close()
        elif frame_type == http2.PUSH_PROMISE:
            raise ProtocolViolation(http2.PROTOCOL_ERROR, "a client cannot push")
        elif frame_type == http2.PRIORITY and len(payload) != 5:
            raise ProtocolViolation(http2.FRAME_SIZE_ERROR, "bad PRIORITY")
        # PRIORITY and unknown frame types carry nothing for us (RFC 9113 §5.5).

    def _on_data(self, flags: int, stream_id: int, payload: memoryview) -> None:
        if stream_id == 0:
            raise ProtocolViolation(http2.PROTOCOL_ERROR, "DATA on stream 0")
        # Every DATA frame counts against the connection window, even one for a stream already finished.
        self._received += len(payload)
        if self._received > _WINDOW:
            raise ProtocolViolation(http2.FLOW_CONTROL_ERROR, "the peer overran the connection window")
        if self._received >= _WINDOW // 2:
            self._out.append(http2.window_update(0, self._received))
            self._received = 0
        data = http2.strip_padding(payload, flags)
        stream = self._streams.get(stream_id)
        if stream is None:
            if stream_id > self._last_stream_id:
                raise ProtocolViolation(http2.PROTOCOL_ERROR, f"DATA on idle stream {stream_id}")
            return  # a stream we finished or reset: the peer had not seen that yet
        stream.received += len(payload)
        if stream.received > _WINDOW:
            self._reset(stream, http2.FLOW_CONTROL_ERROR)
            return
        if flags & http2.END_STREAM:
            # Known before the data is handled: a reply finished by it needs no RST_STREAM after it.
            stream.client_ended = True
        if not stream.done and data:
            self._on_stream_data(stream, data)
        if flags & http2.END_STREAM:
            self._on_client_end(stream)
        elif stream.received >= _WINDOW // 2 and self._streams.get(stream_id) is stream:
            self._out.append(http2.window_update(stream_id, stream.received))
            stream.received = 0

    def _on_headers(self, flags: int, stream_id: int, payload: memoryview) -> None:
        if stream_id == 0:
            raise ProtocolViolation(http2.PROTOCOL_ERROR, "HEADERS on stream 0")
        block = http2.strip_padding(payload, flags)
        if flags & http2.PRIORITY_FLAG:
            if len(block) < 5:
                raise ProtocolViolation(http2.FRAME_SIZE_ERROR, "HEADERS too short for its priority")
            block = block[5:]
        if flags & http2.END_HEADERS:
            self._on_header_block(stream_id, flags & http2.END_STREAM, bytes(block))
        else:
            self._continuation = (stream_id, flags & http2.END_STREAM, bytearray(block))

    def _on_continuation(self, flags: int, stream_id: int, payload: memoryview) -> None:
        if self._continuation is None or self._continuation[0] != stream_id:
            raise ProtocolViolation(http2.PROTOCOL_ERROR, "CONTINUATION without a header block to continue")
        _, end_stream, fragments = self._continuation
        fragments += payload
        if len(fragments) > self._server.max_header_list_bytes * 2:
            raise ProtocolViolation(http2.PROTOCOL_ERROR, "header block too large")
        if flags & http2.END_HEADERS:
            self._continuation = None
            self._on_header_block(stream_id, end_stream, bytes(fragments))

    def _on_header_block(self, stream_id: int, end_stream: int, block: bytes) -> None:
        headers = self._headers.decode(block)
        stream = self._streams.get(stream_id)
        if stream is not None:  # trailers: gRPC requests carry none, but they end the stream all the same
            if not end_stream:
                raise ProtocolViolation(http2.PROTOCOL_ERROR, "a second header block without END_STREAM")
            self._on_client_end(stream)
            return
        if stream_id <= self._last_stream_id:
            return  # trailers of a stream we already finished
        if stream_id % 2 == 0:
            raise ProtocolViolation(http2.PROTOCOL_ERROR, f"client stream ids are odd, got {stream_id}")
        self._last_stream_id = stream_id
        if self._draining_after is not None and stream_id > self._draining_after:
            self._out.append(http2.rst_stream(stream_id, http2.REFUSED_STREAM))
            return
        if len(self._streams) >= self._server.max_concurrent_streams:
            self._out.append(http2.rst_stream(stream_id, http2.REFUSED_STREAM))
            return
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        stream = _Stream(stream_id, self._server.new_stream(), self._peer_window)
        stream.client_ended = bool(end_stream)
        self._streams[stream_id] = stream
        if headers.get(b":method") != b"POST":
            self._end(stream, UNIMPLEMENTED, "only POST is a gRPC call")
        elif headers.get(b":path") != _METHOD_PATH:
            self._end(stream, UNIMPLEMENTED, f"unknown method {headers.get(b':path', b'').decode('latin-1')}")
        elif not headers.get(b"content-type", b"").startswith(b"application/grpc"):
            self._end(stream, INTERNAL, "content-type must be application/grpc")
        if end_stream:
            self._on_client_end(stream)

    def _on_window_update(self, stream_id: int, payload: memoryview) -> None:
        if len(payload) != 4:
            raise ProtocolViolation(http2.FRAME_SIZE_ERROR, "bad WINDOW_UPDATE")
        increment = http2.read_u32(payload) & 0x7FFFFFFF
        if stream_id == 0:
            if increment == 0:
                raise ProtocolViolation(http2.PROTOCOL_ERROR, "WINDOW_UPDATE of 0 for the connection")
            self._send_window += increment
            if self._send_window > http2.MAX_WINDOW:
                raise ProtocolViolation(http2.FLOW_CONTROL_ERROR, "the connection window overflowed")
            self._send_pending()
            return
        stream = self._streams.get(stream_id)
        if stream is None:
            return
        stream.send_window += increment
        if increment == 0 or stream.send_window > http2.MAX_WINDOW:
            self._reset(stream, http2.PROTOCOL_ERROR if increment == 0 else http2.FLOW_CONTROL_ERROR)
            return
        self._send_stream(stream)

    def _on_settings(self, flags: int, stream_id: int, payload: memoryview) -> None:
        if stream_id:
            raise ProtocolViolation(http2.PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & http2.ACK:
            if payload:
                raise ProtocolViolation(http2.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload")
            return
        for key, value in http2.parse_settings(payload):
            if key == http2.INITIAL_WINDOW_SIZE:
                if value > http2.MAX_WINDOW:
                    raise ProtocolViolation(http2.FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE too large")
                delta, self._peer_window = value - self._peer_window, value
                for stream in self._streams.values():
                    stream.send_window += delta
            elif key == http2.MAX_FRAME_SIZE:
                if not http2.DEFAULT_MAX_FRAME <= value <= http2.MAX_FRAME_LIMIT:
                    raise ProtocolViolation(http2.PROTOCOL_ERROR, "SETTINGS_MAX_FRAME_SIZE out of range")
                self._peer_max_frame = value
            elif key == http2.ENABLE_PUSH and value > 1:
                raise ProtocolViolation(http2.PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH must be 0 or 1")
        self._out.append(http2.SETTINGS_ACK)
        self._send_pending()

    def _on_stream_data(self, stream: _Stream, data: memoryview) -> None:
        if stream.buffer:  # a message begun in an earlier frame: complete it in the stream's buffer
            stream.buffer += data
            self._buffered += len(data)
            consumed = self._parse_messages(stream, stream.buffer)
            if stream.buffer:  # (emptied if the stream ended meanwhile)
                del stream.buffer[:consumed]
                self._buffered -= consumed
        else:  # the usual case: the frame holds whole messages, parsed in place
            consumed = self._parse_messages(stream, data)
            if consumed < len(data) and not stream.done:
                stream.buffer += data[consumed:]
                self._buffered += len(data) - consumed
        if self._buffered > self._server.max_connection_buffer and not stream.done:
            self._end(stream, RESOURCE_EXHAUSTED, "connection buffer limit exceeded")

    def _parse_messages(self, stream: _Stream, data: memoryview | bytearray) -> int:
        """Hand each complete gRPC message in `data` to the stream's logic; return the bytes they took."""
        offset, end = 0, len(data)
        while end - offset >= 5 and not stream.done:
            if data[offset] != 0:
                self._end(stream, UNIMPLEMENTED, "compressed messages are not supported")
                break
            length = int.from_bytes(data[offset + 1 : offset + 5], "big")
            if length > self._server.max_message_bytes:
                limit = self._server.max_message_bytes
                self._end(stream, RESOURCE_EXHAUSTED, f"message of {length} bytes exceeds the limit {limit}")
                break
            if end - offset - 5 < length:
                break
            message = data[offset + 5 : offset + 5 + length]
            offset += 5 + length
            try:
                request = pb.ProcessingRequest.FromString(cast(bytes, message))  # upb reads any buffer
            except DecodeError:
                self._end(stream, INTERNAL, "cannot parse the ProcessingRequest")
                break
            self._on_message(stream, request)
        return offset

    def _on_message(self, stream: _Stream, request: pb.ProcessingRequest) -> None:
        try:
            step = stream.logic.receive(request)
        except Exception:
            # As grpcio does for a handler that raises: this call fails, the connection serves on.
            log.exception("ext_proc message handling failed on stream %d", stream.id)
            self._end(stream, UNKNOWN, "unexpected error in the ext_proc handler")
            return
        if step.last:
            stream.done = True
        if isinstance(step.reply, bytes):
            self._send_message(stream, step.reply)
            if step.last:
                self._end(stream, OK)
            return
        # A task, as grpcio runs each call in one: pin stores and routers use asyncio.timeout().
        stream.task = asyncio.get_running_loop().create_task(self._finish(stream, step.reply))

    async def _finish(self, stream: _Stream, decision: Coroutine[Any, Any, bytes]) -> None:
        try:
            reply = await decision
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("ext_proc decision failed on stream %d", stream.id)
            self._end(stream, UNKNOWN, "unexpected error in the ext_proc handler")
        else:
            self._send_message(stream, reply)
            self._end(stream, OK)
        finally:
            stream.task = None
        self._flush()

    def _on_client_end(self, stream: _Stream) -> None:
        stream.client_ended = True
        if stream.done:
            return
        # The client half-closed without a decision to wait for (grpcio's loop ends the same way).
        if stream.buffer:
            self._end(stream, INTERNAL, "the stream ended inside a message")
        else:
            self._end(stream, OK)

    # ---- sending

    def _send_message(self, stream: _Stream, reply: bytes) -> None:
        if self._streams.get(stream.id) is not stream:
            return  # reset by the client or closed with the connection meanwhile
        if not stream.headers_sent:
            self._out.append(http2.frame(http2.HEADERS, http2.END_HEADERS, stream.id, http2.RESPONSE_HEADERS_BLOCK))
            stream.headers_sent = True
        prefix = b"\x00" + len(reply).to_bytes(4, "big")  # uncompressed, length
        size = len(prefix) + len(reply)
        if not stream.pending and size <= min(stream.send_window, self._send_window, self._peer_max_frame):
            # The usual case: the whole reply goes out now in one DATA frame, without a copy.
            self._out += (http2.frame_head(http2.DATA, 0, stream.id, size), prefix, reply)
            stream.send_window -= size
            self._send_window -= size
            return
        stream.pending += prefix + reply
        self._send_stream(stream)

    def _end(self, stream: _Stream, status: int, message: str = "") -> None:
        """Finish the reply side with `status` once the pending reply bytes are out."""
        stream.done = True
        if self._streams.get(stream.id) is not stream:
            return  # reset by the client or closed with the connection meanwhile
        self._release(stream)
        if status != OK:
            level = logging.DEBUG if status == UNIMPLEMENTED else logging.WARNING
            log.log(
                level, "ext_proc stream %d from %s ends with grpc-status %d: %s", stream.id, self._peer, status, message
            )
        trailers = (
            http2.trailers_block(status, _percent_encode(message[:_MAX_GRPC_MESSAGE_TEXT]))
            if status != OK or message
            else http2.OK_TRAILERS_BLOCK
        )
        if not stream.headers_sent:
            # Trailers-only response: the headers carry the status.
            stream.headers_sent = True
            self._send_trailers(stream, http2.RESPONSE_HEADERS_BLOCK + trailers)
            return
        stream.trailers = trailers
        self._send_stream(stream)

    def _send_stream(self, stream: _Stream) -> None:
        """Send as much of the stream's pending reply as both windows allow; then its trailers."""
        if self._streams.get(stream.id) is not stream:
            return
        pending = stream.pending
        while pending:
            size = min(len(pending), stream.send_window, self._send_window, self._peer_max_frame)
            if size <= 0:
                return  # resumed by WINDOW_UPDATE or SETTINGS
            self._out.append(http2.frame_head(http2.DATA, 0, stream.id, size))
            self._out.append(bytes(pending[:size]))
            del pending[:size]
            stream.send_window -= size
            self._send_window -= size
        if stream.trailers is not None:
            self._send_trailers(stream, stream.trailers)

    def _send_trailers(self, stream: _Stream, block: bytes) -> None:
        self._out.append(http2.frame(http2.HEADERS, http2.END_HEADERS | http2.END_STREAM, stream.id, block))
        if not stream.client_ended:
            # The client has not finished sending: tell it not to, without error (RFC 9113 §8.1).
            self._out.append(http2.rst_stream(stream.id, http2.NO_ERROR))
        self._forget(stream.id, cancel=False)

    def _send_pending(self) -> None:
        for stream in list(self._streams.values()):
            if stream.pending or stream.trailers is not None:
                self._send_stream(stream)

    def _reset(self, stream: _Stream, code: int) -> None:
        """A stream error (RFC 9113 §5.4.2): reset this stream only."""
        self._out.append(http2.rst_stream(stream.id, code))
        self._forget(stream.id, cancel=True)

    def _release(self, stream: _Stream) -> None:
        self._buffered -= len(stream.buffer)
        stream.buffer.clear()

    def _forget(self, stream_id: int, *, cancel: bool) -> None:
        stream = self._streams.pop(stream_id, None)
        if stream is None:
            return
        stream.done = True
        self._release(stream)
        if cancel and stream.task is not None:
            stream.task.cancel()  # the client cancelled (RST_STREAM): stop deciding for nobody
        if not self._streams:
            self._server.quieter()
            self._arm_idle_timer()
            if self._draining_after is not None:
                self.close()

    def _flush(self) -> None:
        if not self._out:
            return
        if self._transport is not None and not self._transport.is_closing():
            self._transport.writelines(self._out)
        self._out.clear()

    # ---- lifecycle

    def _arm_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        if self._transport is not None:
            self._idle_timer = asyncio.get_running_loop().call_later(self._server.idle_timeout, self._on_idle)

    def _on_idle(self) -> None:
        self._idle_timer = None
        if not self._streams:
            log.debug("closing idle ext_proc connection from %s", self._peer)
            self.close()

    def drain(self) -> None:
        """Announce GOAWAY with the last stream we will serve; keep serving those, refuse newer ones."""
        if self._draining_after is not None or self._transport is None:
            return
        self._draining_after = self._last_stream_id
        self._out.append(http2.goaway(self._last_stream_id, http2.NO_ERROR))
        self._flush()
        if not self._streams:
            self.close()

    def close(self, *, announce: bool = True) -> None:
        """Close the connection; `announce` sends a final GOAWAY (NO_ERROR) first."""
        if self._transport is None or self._transport.is_closing():
            return
        self._closed = True
        if announce:
            self._out.append(http2.goaway(self._last_stream_id, http2.NO_ERROR))
        self._flush()
        for stream in self._streams.values():
            if stream.task is not None:
                stream.task.cancel()
        self._streams.clear()  # nothing more is sent on this connection
        self._buffered = 0
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        self._transport.close()


def _percent_encode(message: str) -> bytes:
    """grpc-message is percent-encoded UTF-8 (only printable ASCII other than % goes as is)."""
    out = bytearray()
    for byte in message.encode("utf-8"):
        if 0x20 <= byte <= 0x7E and byte != 0x25:
            out.append(byte)
        else:
            out += f"%{byte:02X}".encode()
    return bytes(out)
