"""The native ext_proc transport: gRPC over HTTP/2 on the asyncio loop itself, driven by h2, for one method.

Why it exists: grpcio's asyncio server completes every gRPC operation on its own threads and then wakes
the event loop (~25 thread context switches per ext_proc request), which costs several times brightstaff's
own decision logic in CPU. Here frames are parsed and written on the event loop, one write per reply.

Scope and invariants:
- Serves exactly `/envoy.service.ext_proc.v3.ExternalProcessor/Process` (anything else: grpc-status 12).
- h2 owns the HTTP/2 protocol: SETTINGS, PING, HPACK (dynamic table), CONTINUATION, frame sizes and
  both flow-control directions. This module drives it: it acknowledges received data as it buffers it
  (bounded per stream by the gRPC message limit and per connection by `max_connection_buffer`), and it
  sends no more than the peer's stream and connection windows allow, resuming on WINDOW_UPDATE.
- Per stream, each gRPC message goes to the same `ProcessStream` the grpcio servicer uses; the stream
  ends (grpc-status 0) after the decision reply, as with grpcio.
- One connection's or stream's failure never touches another: protocol errors close only their own
  connection (GOAWAY), stream errors reset or end only their own stream.
- Drain: stop accepting, announce GOAWAY, refuse new streams, let in-flight streams finish within the
  grace, then close.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any, cast

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
from google.protobuf.message import DecodeError
from hyperframe.frame import GoAwayFrame

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.extproc.servicer import METHOD_PATH, ProcessStream
from brightstaff.handler import RequestHandler

log = logging.getLogger("brightstaff.extproc.native")

# gRPC status codes this transport sends.
OK, UNKNOWN, RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL = 0, 2, 8, 12, 13

_RESPONSE_HEADERS = [(b":status", b"200"), (b"content-type", b"application/grpc")]
_WINDOW = 16 * 1024 * 1024  # receive window per stream and per connection: a whole body in one round trip
_MAX_FRAME = 1024 * 1024  # the largest DATA frame the peer may send us (fewer frames for a big body)


class NativeServer:
    """Listens on one address; every accepted connection is a `_Connection` with its own h2 state."""

    def __init__(
        self,
        handler: RequestHandler,
        *,
        max_message_bytes: int,
        max_concurrent_streams: int = 1024,
        max_header_list_bytes: int = 16 * 1024,
        max_connection_buffer: int | None = None,
        idle_timeout: float = 600.0,
    ) -> None:
        self._handler = handler
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
        return ProcessStream(self._handler)

    def register(self, connection: _Connection) -> None:
        self._connections.add(connection)

    def unregister(self, connection: _Connection) -> None:
        self._connections.discard(connection)
        self._quieter.set()

    def quieter(self) -> None:
        self._quieter.set()


class _Stream:
    """One gRPC call: its buffered request bytes, its logic, and the reply bytes the windows hold back."""

    __slots__ = ("buffer", "done", "headers_sent", "id", "logic", "pending", "task", "trailers")

    def __init__(self, stream_id: int, logic: ProcessStream) -> None:
        self.id = stream_id
        self.logic = logic
        self.buffer = bytearray()
        self.headers_sent = False
        self.pending = bytearray()  # reply bytes not yet sent for lack of flow-control window
        self.trailers: list[tuple[bytes, bytes]] | None = None  # sent once `pending` is out
        self.done = False  # the reply side is finished (or being finished): ignore further messages
        self.task: asyncio.Task[None] | None = None


class _Connection(asyncio.Protocol):
    def __init__(self, server: NativeServer) -> None:
        self._server = server
        self._h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(
                client_side=False,
                header_encoding=None,
                validate_inbound_headers=True,
                # What we send is a few constant, valid headers: no need for h2 to re-check them per reply.
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
            )
        )
        self._h2.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: server.max_concurrent_streams,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: _WINDOW,
                h2.settings.SettingCodes.MAX_FRAME_SIZE: _MAX_FRAME,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: server.max_header_list_bytes,
            },
        )
        # h2 reads these two at construction and otherwise only when a SETTINGS change is acknowledged;
        # ours go out in the first SETTINGS frame, so they apply from the start.
        self._h2.max_inbound_frame_size = _MAX_FRAME
        self._h2.decoder.max_header_list_size = server.max_header_list_bytes
        self._streams: dict[int, _Stream] = {}
        self._buffered = 0  # request bytes buffered across streams
        self._transport: asyncio.Transport | None = None
        self._draining_after: int | None = None  # streams above this id are refused (GOAWAY sent)
        self._idle_timer: asyncio.TimerHandle | None = None
        self._write_paused = False
        self._peer = "?"

    @property
    def busy(self) -> bool:
        return bool(self._streams)

    # ---- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's TCPTransport is not a subclass
        self._peer = str(transport.get_extra_info("peername"))
        self._server.register(self)
        self._h2.initiate_connection()
        # The connection window starts at 64 KiB whatever SETTINGS say: open it to match the streams'.
        self._h2.increment_flow_control_window(_WINDOW - 65535)
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
        self._write_paused = True
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._transport is not None:
            self._transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            log.warning("HTTP/2 protocol error from %s: %s; closing the connection", self._peer, exc)
            self._flush()  # h2 has queued the GOAWAY that names the error
            self.close()
            return
        for event in events:
            try:
                self._on_event(event)
            except h2.exceptions.StreamClosedError as exc:
                # h2 has already seen a later frame of this batch close the stream (RST_STREAM): drop it.
                self._forget(exc.stream_id, cancel=True)
        self._flush()

    # ---- h2 events

    def _on_event(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.DataReceived):
            self._on_data(event)
        elif isinstance(event, h2.events.RequestReceived):
            self._on_request(event)
        elif isinstance(event, h2.events.StreamEnded):
            self._on_client_end(event.stream_id)
        elif isinstance(event, h2.events.StreamReset):
            self._forget(event.stream_id, cancel=True)
        elif isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
            self._send_pending()
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.close()

    def _on_request(self, event: h2.events.RequestReceived) -> None:
        stream_id = event.stream_id
        if self._draining_after is not None and stream_id > self._draining_after:
            self._h2.reset_stream(stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
            return
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        stream = _Stream(stream_id, self._server.new_stream())
        self._streams[stream_id] = stream
        headers = dict(event.headers)
        if headers.get(b":method") != b"POST":
            self._end(stream, UNIMPLEMENTED, "only POST is a gRPC call")
        elif headers.get(b":path") != METHOD_PATH.encode():
            self._end(stream, UNIMPLEMENTED, f"unknown method {headers.get(b':path', b'').decode('latin-1')}")
        elif not headers.get(b"content-type", b"").startswith(b"application/grpc"):
            self._end(stream, INTERNAL, "content-type must be application/grpc")

    def _on_data(self, event: h2.events.DataReceived) -> None:
        # Acknowledge at once: what is buffered is bounded below, and Envoy must never stall mid-message.
        if event.flow_controlled_length:
            self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        stream = self._streams.get(event.stream_id)
        if stream is None or stream.done or not event.data:
            return
        stream.buffer += event.data
        self._buffered += len(event.data)
        if self._buffered > self._server.max_connection_buffer:
            self._end(stream, RESOURCE_EXHAUSTED, "connection buffer limit exceeded")
            return
        self._parse_messages(stream)

    def _parse_messages(self, stream: _Stream) -> None:
        buffer = stream.buffer
        while len(buffer) >= 5 and not stream.done:
            if buffer[0] != 0:
                self._end(stream, UNIMPLEMENTED, "compressed messages are not supported")
                return
            length = int.from_bytes(buffer[1:5], "big")
            if length > self._server.max_message_bytes:
                limit = self._server.max_message_bytes
                self._end(stream, RESOURCE_EXHAUSTED, f"message of {length} bytes exceeds the limit {limit}")
                return
            if len(buffer) < 5 + length:
                return
            message = bytes(buffer[5 : 5 + length])
            del buffer[: 5 + length]
            self._buffered -= 5 + length
            try:
                request = pb.ProcessingRequest.FromString(message)
            except DecodeError:
                self._end(stream, INTERNAL, "cannot parse the ProcessingRequest")
                return
            self._on_message(stream, request)

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

    def _on_client_end(self, stream_id: int) -> None:
        stream = self._streams.get(stream_id)
        if stream is None or stream.done:
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
            self._h2.send_headers(stream.id, _RESPONSE_HEADERS)
            stream.headers_sent = True
        stream.pending += b"\x00" + len(reply).to_bytes(4, "big") + reply
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
        trailers = [(b"grpc-status", str(status).encode())]
        if message:
            trailers.append((b"grpc-message", _percent_encode(message)))
        if not stream.headers_sent:
            # Trailers-only response: the headers carry the status.
            stream.headers_sent = True
            self._send_trailers(stream, _RESPONSE_HEADERS + trailers)
            return
        stream.trailers = trailers
        self._send_stream(stream)

    def _send_stream(self, stream: _Stream) -> None:
        """Send as much of the stream's pending reply as both windows allow; then its trailers."""
        if self._streams.get(stream.id) is not stream:
            return
        while stream.pending:
            window = min(self._h2.local_flow_control_window(stream.id), self._h2.max_outbound_frame_size)
            if window <= 0:
                return  # resumed by WindowUpdated
            chunk = bytes(stream.pending[:window])
            del stream.pending[:window]
            self._h2.send_data(stream.id, chunk)
        if stream.trailers is not None:
            self._send_trailers(stream, stream.trailers)

    def _send_trailers(self, stream: _Stream, trailers: list[tuple[bytes, bytes]]) -> None:
        self._h2.send_headers(stream.id, trailers, end_stream=True)
        state = self._h2.streams.get(stream.id)
        if state is not None and state.open:
            # The client has not finished sending: tell it not to, without error (RFC 9113 §8.1).
            self._h2.reset_stream(stream.id, h2.errors.ErrorCodes.NO_ERROR)
        self._forget(stream.id, cancel=False)

    def _send_pending(self) -> None:
        for stream in list(self._streams.values()):
            if stream.pending or stream.trailers is not None:
                self._send_stream(stream)

    def _release(self, stream: _Stream) -> None:
        self._buffered -= len(stream.buffer)
        stream.buffer.clear()

    def _forget(self, stream_id: int, *, cancel: bool) -> None:
        stream = self._streams.pop(stream_id, None)
        if stream is None:
            return
        self._release(stream)
        if cancel and stream.task is not None:
            stream.task.cancel()  # the client cancelled (RST_STREAM): stop deciding for nobody
        if not self._streams:
            self._server.quieter()
            self._arm_idle_timer()
            if self._draining_after is not None:
                self.close()

    def _flush(self) -> None:
        data = self._h2.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

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
        self._draining_after = self._h2.highest_inbound_stream_id
        # h2 treats its own GOAWAY as final (no more sending), so the drain notice is written directly;
        # the final GOAWAY goes through h2 in close().
        self._flush()
        frame = GoAwayFrame(stream_id=0, last_stream_id=self._draining_after, error_code=0)
        self._transport.write(frame.serialize())
        if not self._streams:
            self.close()

    def close(self) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        try:
            if self._h2.state_machine.state != h2.connection.ConnectionState.CLOSED:
                self._h2.close_connection()
        except h2.exceptions.ProtocolError:
            pass  # already closed in h2's view: nothing more to announce
        self._flush()
        for stream in self._streams.values():
            if stream.task is not None:
                stream.task.cancel()
        self._streams.clear()  # nothing more is sent on this connection
        self._buffered = 0
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
