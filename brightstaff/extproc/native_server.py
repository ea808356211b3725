"""The native ext_proc transport: gRPC over HTTP/2 on the asyncio loop itself, for one method, without grpcio.

Why it exists: grpcio's asyncio server completes every gRPC operation on its own threads and then wakes
the event loop (~25 thread context switches per ext_proc request), which costs several times brightstaff's
own decision logic in CPU. Here frames are parsed and written on the event loop, one write per batch of
replies. The framing is brightstaff's own (`http2/`): a general HTTP/2 library spent more CPU per request
than the decision itself, on features a gRPC server for one peer does not use.

Shape: `http2.connection.ServerConnection` holds all of HTTP/2 and gRPC's framing, without I/O (its
docstring lists what it guarantees). This module is the asyncio layer on top: socket reads go to
`receive_data`, its events to a `ProcessStream` per call (and a task per decision), and what the
connection has to send goes out in one `writelines` per batch. Time lives here: the idle timeout and the
drain's grace.

Invariants:
- Serves exactly `/envoy.service.ext_proc.v3.ExternalProcessor/Process` (another gRPC method: status 12).
- Per call, each gRPC message goes to the same `ProcessStream` the grpcio transport uses; the call ends
  (grpc-status 0) after the decision reply, as with grpcio. A decision runs in a task of its own (pin
  stores and routers use asyncio.timeout()); a reset stream or a closed connection cancels it.
- One connection's or call's failure never touches another: a handler that raises fails its call
  (status 2), a protocol error closes only its own connection.
- Performance (each step measured with the benchmark, see the README): a repeated request header block
  is decoded and validated once while HPACK's table is unchanged; frames and messages are read in place;
  a reply that fits its windows goes out as one DATA frame without copies; one write per flush.
- Idle connections (no stream open) are closed after `idle_timeout`. Drain: stop accepting, GOAWAY,
  refuse new streams, let in-flight streams finish within the grace, then close.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, cast

from google.protobuf.message import DecodeError

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.extproc.http2.connection import Limits, ServerConnection
from brightstaff.extproc.http2.events import (
    CallAborted,
    CallReceived,
    ConnectionTerminated,
    Event,
    MessageReceived,
    RequestEnded,
    StreamReset,
    WindowUpdated,
)
from brightstaff.extproc.http2.frames import REFUSED_STREAM
from brightstaff.extproc.http2.grpc_messages import INTERNAL, UNIMPLEMENTED, UNKNOWN
from brightstaff.extproc.process_stream import METHOD_PATH, ExtProcHandler, HeaderNames, ProcessStream

log = logging.getLogger("brightstaff.extproc.native")

_METHOD_PATH = METHOD_PATH.encode()
# upb parses any buffer in place, a view of the received bytes included (its stub only says bytes).
_parse_request = cast(Callable[[memoryview], pb.ProcessingRequest], pb.ProcessingRequest.FromString)


class NativeServer:
    """Listens on one address; every accepted connection is a `_Connection` with its own `ServerConnection`."""

    def __init__(
        self, handler: ExtProcHandler, names: HeaderNames, limits: Limits, *, idle_timeout: float = 600.0
    ) -> None:
        self.handler = handler
        self.names = names
        self.limits = limits
        self.idle_timeout = idle_timeout
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._quieter = asyncio.Event()  # set whenever a connection ends or runs out of streams

    async def start(self, host: str, port: int) -> int:
        """Start listening; return the bound port (useful when `port` is 0)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self.protocol, host, port)
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

    def protocol(self) -> asyncio.Protocol:
        """A new connection's protocol (what `start` gives the loop for each accepted socket)."""
        return _Connection(self)

    @property
    def busy(self) -> bool:
        """Some connection has a stream in flight."""
        return any(c.busy for c in self._connections)

    def register(self, connection: _Connection) -> None:
        self._connections.add(connection)

    def unregister(self, connection: _Connection) -> None:
        self._connections.discard(connection)
        self._quieter.set()

    def quieter(self) -> None:
        self._quieter.set()


class _Call:
    """One ext_proc call: its stream logic and the decision task, if one is running."""

    __slots__ = ("logic", "task")

    def __init__(self, logic: ProcessStream) -> None:
        self.logic = logic
        self.task: asyncio.Task[None] | None = None


class _Connection(asyncio.Protocol):
    def __init__(self, server: NativeServer) -> None:
        self._server = server
        self._h2 = ServerConnection(server.limits)
        self._calls: dict[int, _Call] = {}
        self._transport: asyncio.Transport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Idle timeout, armed lazily: a timer per stream costs more than the rest of the bookkeeping, so the
        # timer is armed once and, when it fires, re-armed for what is left of the timeout since idle_since.
        self._idle_timer: asyncio.TimerHandle | None = None
        self._idle_since = 0.0
        self._busy = True  # as of the last flush (so the first flush starts the idle clock)
        self._peer = "?"

    @property
    def busy(self) -> bool:
        return self._h2.busy

    # ---- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's TCPTransport is not a subclass
        self._loop = asyncio.get_running_loop()
        self._peer = str(transport.get_extra_info("peername"))
        self._server.register(self)
        self._flush()  # the server's SETTINGS; arms the idle timer

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.unregister(self)
        self._stop_idle_timer()
        self._cancel_calls()
        self._transport = None

    def pause_writing(self) -> None:
        # The peer is not reading our replies: stop reading its requests until it does.
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None:
            self._transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        events = self._h2.receive_data(data)
        if events:
            self._on_events(events)
        self._flush()

    # ---- events

    def _on_events(self, events: list[Event]) -> None:
        for event in events:  # the most frequent first
            if isinstance(event, MessageReceived):
                self._on_message(event)
            elif isinstance(event, CallReceived):
                self._on_call(event)
            elif isinstance(event, WindowUpdated):
                continue  # the connection already sent what the window allowed
            elif isinstance(event, RequestEnded):
                self._on_request_ended(event.stream_id)
            elif isinstance(event, StreamReset):
                self._on_stream_reset(event)
            elif isinstance(event, CallAborted):
                self._on_call_aborted(event)
            elif isinstance(event, ConnectionTerminated):
                self._on_terminated(event)

    def _on_call(self, event: CallReceived) -> None:
        path = event.head.path
        if path != _METHOD_PATH:
            log.debug("ext_proc call from %s for unknown method %r", self._peer, path)
            self._h2.end_call(event.stream_id, UNIMPLEMENTED, f"unknown method {path.decode('latin-1')}")
            return
        server = self._server
        self._calls[event.stream_id] = _Call(ProcessStream(server.handler, server.names))

    def _on_message(self, event: MessageReceived) -> None:
        stream_id = event.stream_id
        call = self._calls.get(stream_id)
        if call is None or call.task is not None:
            return  # the call is over, or decided and waiting for its decision
        try:
            request = _parse_request(event.message)
        except DecodeError:
            self._fail(stream_id, INTERNAL, "cannot parse the ProcessingRequest")
            return
        try:
            step = call.logic.receive(request)
        except Exception:
            # As grpcio does for a handler that raises: this call fails, the connection serves on.
            log.exception("ext_proc message handling failed on stream %d", stream_id)
            self._fail(stream_id, UNKNOWN, "unexpected error in the ext_proc handler")
            return
        reply = step.reply
        if isinstance(reply, bytes):
            self._h2.send_message(stream_id, reply)
            if step.last:
                del self._calls[stream_id]
                self._h2.end_call(stream_id)
            return
        # A task, as grpcio runs each call in one: pin stores and routers use asyncio.timeout().
        call.task = asyncio.get_running_loop().create_task(self._decide(stream_id, call, reply))

    async def _decide(self, stream_id: int, call: _Call, decision: Coroutine[Any, Any, bytes]) -> None:
        try:
            reply = await decision
        except Exception:
            call.task = None  # done: nothing left to cancel
            log.exception("ext_proc decision failed on stream %d", stream_id)
            self._fail(stream_id, UNKNOWN, "unexpected error in the ext_proc handler")
        else:
            call.task = None
            if self._calls.get(stream_id) is call:
                self._h2.send_message(stream_id, reply)
                if call.logic.finished:
                    del self._calls[stream_id]
                    self._h2.end_call(stream_id)
        self._flush()

    def _on_request_ended(self, stream_id: int) -> None:
        call = self._calls.get(stream_id)
        if call is not None and call.task is None:
            # The client half-closed without a decision to wait for (grpcio's loop ends the same way).
            del self._calls[stream_id]
            self._h2.end_call(stream_id)

    def _on_stream_reset(self, event: StreamReset) -> None:
        self._drop_call(event.stream_id)
        if not event.by_peer:
            level = logging.DEBUG if event.error_code == REFUSED_STREAM else logging.WARNING
            log.log(level, "HTTP/2 stream error from %s on stream %d: %s", self._peer, event.stream_id, event.detail)

    def _on_call_aborted(self, event: CallAborted) -> None:
        self._drop_call(event.stream_id)
        log.warning(
            "ext_proc stream %d from %s ends with grpc-status %d: %s",
            event.stream_id,
            self._peer,
            event.status,
            event.detail,
        )

    def _on_terminated(self, event: ConnectionTerminated) -> None:
        if event.by_peer:
            return  # the peer's GOAWAY: its streams in flight still finish
        log.warning("HTTP/2 protocol error from %s: %s; closing the connection", self._peer, event.detail)
        self._cancel_calls()

    def _fail(self, stream_id: int, status: int, message: str) -> None:
        self._drop_call(stream_id)
        log.warning("ext_proc stream %d from %s ends with grpc-status %d: %s", stream_id, self._peer, status, message)
        self._h2.end_call(stream_id, status, message)

    def _drop_call(self, stream_id: int) -> None:
        call = self._calls.pop(stream_id, None)
        if call is not None and call.task is not None:
            call.task.cancel()  # reset (or failed): stop deciding for nobody

    def _cancel_calls(self) -> None:
        for call in self._calls.values():
            if call.task is not None:
                call.task.cancel()
        self._calls.clear()

    # ---- writing and lifecycle

    def _flush(self) -> None:
        """Write what the connection has to send in one go; then close it, or keep time while it idles."""
        transport = self._transport
        if transport is None:
            return
        h2 = self._h2
        chunks = h2.chunks_to_send()
        if chunks and not transport.is_closing():
            transport.writelines(chunks)
        if h2.busy:
            self._busy = True
        elif h2.should_close:
            self._shutdown()
        elif self._busy and self._loop is not None:  # it has just become idle
            self._busy = False
            self._server.quieter()
            self._idle_since = self._loop.time()
            if self._idle_timer is None:
                self._idle_timer = self._loop.call_later(self._server.idle_timeout, self._on_idle)

    def _stop_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _on_idle(self) -> None:
        self._idle_timer = None
        if self._busy or self._loop is None:
            return  # re-armed when the connection next becomes idle
        left = self._idle_since + self._server.idle_timeout - self._loop.time()
        if left > 0:
            self._idle_timer = self._loop.call_later(left, self._on_idle)
            return
        log.debug("closing idle ext_proc connection from %s", self._peer)
        self.close()

    def drain(self) -> None:
        """Announce GOAWAY with the last stream we will serve; keep serving those, refuse newer ones."""
        self._h2.start_drain()
        self._flush()

    def close(self) -> None:
        """Close the connection with a final GOAWAY (NO_ERROR), cancelling what is in flight."""
        self._h2.close()
        self._flush()

    def _shutdown(self) -> None:
        self._stop_idle_timer()
        self._cancel_calls()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()
