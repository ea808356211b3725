"""`ServerConnection`: the server side of gRPC over one HTTP/2 connection, without I/O.

Feed it what the peer sent (`receive_data`), act on the events it returns, answer with `send_message`
and `end_call`, and write out `chunks_to_send()` (or `data_to_send()`). It never touches a socket, an
event loop or a clock, so every rule below is testable with plain bytes.

Guarantees (RFC 9113 unless noted):
- Connection: the preface then a SETTINGS frame first; SETTINGS acknowledged and applied (the peer's
  initial window, frame size; values out of range are connection errors); PING answered; GOAWAY from
  the peer lets the streams in flight finish; frames inside a header block, PUSH_PROMISE, frames over
  the advertised frame size, frames that must not name stream 0 (or must) are connection errors with
  the code §6 names; unknown frame types are ignored (§5.5). A header block hpack cannot decode, or one
  over `max_header_list_bytes`, is a COMPRESSION_ERROR: the shared HPACK table is then in doubt.
- Stream states (§5.1): DATA, RST_STREAM or WINDOW_UPDATE on an idle stream, a HEADERS frame on a
  stream id lower than one already opened, and CONTINUATION without a header block are connection
  errors (PROTOCOL_ERROR). On a closed stream: DATA gets RST_STREAM(STREAM_CLOSED); HEADERS is a
  connection error (STREAM_CLOSED) after the client's END_STREAM, a stream error after its RST_STREAM;
  WINDOW_UPDATE, RST_STREAM and PRIORITY are ignored. Frames the client may have sent before it saw
  this side close a stream (a reply that ended it early, a reset) are discarded, still counted for flow
  control and header compression. DATA or HEADERS on a half-closed (remote) stream is a stream error
  (STREAM_CLOSED). A stream depending on itself (HEADERS or PRIORITY) is a stream error (a connection
  error while the stream is idle, since an idle stream cannot be reset). How each closed stream closed
  is remembered for the last 1024.
- Requests (§8.1): a malformed header section (request_headers.py), a second header block without
  END_STREAM, pseudo-headers in trailers and a content-length other than the DATA's length are stream
  errors (PROTOCOL_ERROR). Streams past SETTINGS_MAX_CONCURRENT_STREAMS, and after this side's GOAWAY
  past its last stream id, are refused (REFUSED_STREAM).
- gRPC (its PROTOCOL-HTTP2): a request that is not POST gets HTTP 405, one whose content-type is not
  application/grpc HTTP 415 (plain text, sent once the request is complete; its DATA is discarded).
  A gRPC call's DATA is cut into whole messages (`MessageReceived`); a compressed message (status 12),
  one over `max_message_bytes` or partial messages over `max_buffered_bytes` across the connection
  (status 8), and a call that ends inside a message (status 13) are ended here (`CallAborted`).
- Flow control both ways. Inbound: `receive_window` per stream and for the connection, replenished by
  one WINDOW_UPDATE once half is used; every DATA frame counts, even one for a closed stream; overruns
  are flow-control errors. Outbound: never more than the peer's stream and connection windows and its
  frame size allow; a reply that fits goes out as one DATA frame, without copying it; the rest waits
  for WINDOW_UPDATE or SETTINGS. Windows past 2^31-1 are flow-control errors.
- Once this side has ended a call while the client still sends, it sends RST_STREAM(NO_ERROR) (§8.1).
- No exception escapes `receive_data` for anything the peer sends: a connection error becomes GOAWAY
  plus `ConnectionTerminated` (and the connection takes nothing more); a stream error becomes
  RST_STREAM plus `StreamReset`. `send_message`, `end_call` and `reset_stream` on a stream that is
  gone (reset, or the connection closed) do nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from brightstaff.extproc.http2 import frames
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
from brightstaff.extproc.http2.frames import (
    CONTINUATION,
    DATA,
    END_HEADERS,
    END_STREAM,
    FLOW_CONTROL_ERROR,
    FRAME_SIZE_ERROR,
    HEADERS,
    NO_ERROR,
    PROTOCOL_ERROR,
    RST_STREAM,
    SETTINGS,
    STREAM_CLOSED,
    WINDOW_UPDATE,
    ProtocolViolation,
    frame,
    frame_head,
    rst_stream,
)
from brightstaff.extproc.http2.grpc_messages import (
    CONTENT_TYPE,
    INTERNAL,
    OK,
    PREFIX_SIZE,
    RESOURCE_EXHAUSTED,
    UNIMPLEMENTED,
    message_prefix,
)
from brightstaff.extproc.http2.header_blocks import (
    OK_TRAILERS_BLOCK,
    RESPONSE_HEADERS_BLOCK,
    RequestBlocks,
    plain_response_block,
    trailers_block,
)
from brightstaff.extproc.http2.request_headers import MalformedRequest, check_trailers, parse_request

# ext_proc streams one connection carries at once (SETTINGS_MAX_CONCURRENT_STREAMS). Envoy's ext_proc
# cluster is rendered with the same per-connection limit, so it opens another connection past it
# rather than queueing or being refused (proxy/bootstrap.py).
MAX_CONCURRENT_STREAMS = 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """What one connection accepts. The windows and frame size are advertised in the first SETTINGS."""

    max_message_bytes: int
    max_concurrent_streams: int = MAX_CONCURRENT_STREAMS
    max_header_list_bytes: int = 16 * 1024
    max_buffered_bytes: int | None = None  # kept for partial messages across streams; None: four messages' worth
    receive_window: int = 16 * 1024 * 1024  # per stream and per connection: a whole body in one round trip
    max_frame_size: int = 1024 * 1024  # fewer frames for a big body

    def __post_init__(self) -> None:
        # The connection window starts at 64 KiB whatever SETTINGS say, and a smaller one cannot be asked for.
        if self.receive_window < frames.DEFAULT_WINDOW or self.receive_window > frames.MAX_WINDOW:
            raise ValueError(f"receive_window must be in [{frames.DEFAULT_WINDOW}, {frames.MAX_WINDOW}]")
        if not frames.DEFAULT_MAX_FRAME <= self.max_frame_size <= frames.MAX_FRAME_LIMIT:
            raise ValueError(f"max_frame_size must be in [{frames.DEFAULT_MAX_FRAME}, {frames.MAX_FRAME_LIMIT}]")

    @property
    def buffered_limit(self) -> int:
        return self.max_buffered_bytes or 4 * (self.max_message_bytes + PREFIX_SIZE)


# How a closed stream closed, which decides what a late frame on it means.
_CLIENT_ENDED = 0  # the client sent END_STREAM: a frame after it is its error
_CLIENT_RESET = 1  # the client sent RST_STREAM
_WE_CLOSED = 2  # this side ended or reset it while the client still sent: its frames may be in flight
_CLOSED_KEPT = 1024


_PLAIN_ANSWERS = {
    status: (plain_response_block(status, len(text), allow=b"POST" if status == 405 else None), text)
    for status, text in (
        (405, b"brightstaff serves gRPC (Envoy ext_proc) here: only POST is a gRPC call\n"),
        (415, b"brightstaff serves gRPC (Envoy ext_proc) here: the content-type must be application/grpc\n"),
    )
}


class _Stream:
    """One open stream: a gRPC call, or a plain request that gets a 405/415 once complete."""

    __slots__ = (
        "call",
        "client_ended",
        "content_length",
        "data_length",
        "ending",
        "head_only",
        "headers_sent",
        "held",
        "held_buffer",
        "id",
        "need",
        "parts",
        "parts_size",
        "pending",
        "plain_status",
        "received",
        "send_window",
        "trailers",
    )

    def __init__(self, stream_id: int, send_window: int) -> None:
        self.id = stream_id
        self.call = True
        self.plain_status = 0  # 405 or 415 for a plain request
        self.head_only = False  # a HEAD request: its answer has no content
        self.client_ended = False  # the client sent END_STREAM
        self.content_length: int | None = None
        self.data_length = 0  # DATA content received, checked against content_length
        self.received = 0  # flow-controlled bytes received since the last stream WINDOW_UPDATE
        self.parts: list[memoryview] = []  # a message begun in earlier frames (views of received bytes)
        self.parts_size = 0
        self.held = 0  # what those views keep alive, counted against the connection's buffer limit
        self.held_buffer: bytes | None = None  # the buffer counted last
        self.need = PREFIX_SIZE  # bytes that complete the message begun in `parts`
        self.headers_sent = False
        self.send_window = send_window
        self.pending = bytearray()  # reply bytes not yet sent for lack of window
        self.ending = False  # this side has ended (or is ending, once `pending` is out)
        self.trailers: bytes | None = None  # sent once `pending` is out (a plain answer ends on its DATA)


class ServerConnection:
    def __init__(self, limits: Limits) -> None:
        self._max_concurrent = limits.max_concurrent_streams
        self._max_header_list = limits.max_header_list_bytes
        self._max_message = limits.max_message_bytes
        self._max_buffered = limits.buffered_limit
        self._window = limits.receive_window
        self._max_frame = limits.max_frame_size
        self._blocks = RequestBlocks(limits.max_header_list_bytes, parse_request)
        self._out: list[bytes | memoryview] = [
            frames.settings_frame(
                {
                    frames.MAX_CONCURRENT_STREAMS: limits.max_concurrent_streams,
                    frames.INITIAL_WINDOW_SIZE: limits.receive_window,
                    frames.MAX_FRAME_SIZE: limits.max_frame_size,
                    frames.MAX_HEADER_LIST_SIZE: limits.max_header_list_bytes,
                }
            )
        ]
        if limits.receive_window > frames.DEFAULT_WINDOW:
            # The connection window starts at 64 KiB whatever SETTINGS say: open it to match the streams'.
            self._out.append(frames.window_update(0, limits.receive_window - frames.DEFAULT_WINDOW))
        self._events: list[Event] = []
        self._partial: list[bytes] = []  # the start of a frame that has not fully arrived
        self._partial_size = 0
        self._needed = len(frames.PREFACE)  # bytes that complete it
        self._preface_seen = False
        self._settings_seen = False
        # A header block split over CONTINUATION: stream id, END_STREAM, dependency, fragments so far.
        self._continuation: tuple[int, int, int, bytearray] | None = None
        self._streams: dict[int, _Stream] = {}
        self._closed_streams: dict[int, int] = {}  # stream id -> how it closed (_CLIENT_ENDED, ...)
        self._last_stream_id = 0  # highest stream id the client has opened
        self._peer_window = frames.DEFAULT_WINDOW  # the peer's SETTINGS_INITIAL_WINDOW_SIZE
        self._peer_max_frame = frames.DEFAULT_MAX_FRAME
        self._send_window = frames.DEFAULT_WINDOW  # connection window for what this side sends
        self._received = 0  # flow-controlled bytes received since the last connection WINDOW_UPDATE
        self._buffered = 0  # bytes kept alive by partial messages across streams
        self._drain_after: int | None = None  # after a GOAWAY either way: no stream above this id is served
        self._goaway_sent = False
        self._closed = False

    # ---- state

    @property
    def busy(self) -> bool:
        """Some stream is open (a call in flight, or a reply still waiting for window)."""
        return bool(self._streams)

    @property
    def closed(self) -> bool:
        """Nothing more is received or sent (a connection error, or `close()`)."""
        return self._closed

    @property
    def should_close(self) -> bool:
        """The connection has nothing left to do: closed, or drained (a GOAWAY either way, no stream open)."""
        return self._closed or (self._drain_after is not None and not self._streams)

    @property
    def last_stream_id(self) -> int:
        return self._last_stream_id

    # ---- input

    def receive_data(self, data: bytes) -> list[Event]:
        """Handle bytes from the peer; `b""` means it closed the connection. Returns what happened."""
        events: list[Event] = []
        if self._closed:
            return events
        if not data:
            self._closed = True
            self._streams.clear()
            events.append(ConnectionTerminated(NO_ERROR, self._last_stream_id, True, "the peer closed the connection"))
            return events
        if type(data) is not bytes:
            data = bytes(data)  # events hand out views: the buffer must never change
        if self._partial:  # a frame begun in an earlier read: wait until it is whole, then join once
            self._partial.append(data)
            self._partial_size += len(data)
            if self._partial_size < self._needed:
                return events
            data = b"".join(self._partial)
            self._partial = []
        self._events = events
        try:
            consumed = self._read_frames(data)
        except ProtocolViolation as exc:
            self._terminate(exc.code, str(exc))
            return self._events
        if consumed < len(data):
            tail = data[consumed:]
            self._partial = [tail]
            self._partial_size = len(tail)
        return events

    def _read_frames(self, data: bytes) -> int:
        """Handle every complete frame in `data`; return how many bytes they took (set `_needed` for the rest)."""
        offset, end = 0, len(data)
        if not self._preface_seen:
            preface = frames.PREFACE
            if not preface.startswith(data[: len(preface)]):
                raise ProtocolViolation(PROTOCOL_ERROR, "not an HTTP/2 connection preface")
            if end < len(preface):
                self._needed = len(preface)
                return 0
            self._preface_seen = True
            offset = len(preface)
        view = memoryview(data)
        while True:
            if end - offset < frames.FRAME_HEADER_SIZE:
                self._needed = frames.FRAME_HEADER_SIZE
                return offset
            length, frame_type, flags, stream_id = frames.parse_frame_header(data, offset)
            if length > self._max_frame:
                raise ProtocolViolation(FRAME_SIZE_ERROR, f"a frame of {length} bytes exceeds {self._max_frame}")
            start = offset + frames.FRAME_HEADER_SIZE
            if end - start < length:
                self._needed = frames.FRAME_HEADER_SIZE + length
                return offset
            offset = start + length
            self._on_frame(frame_type, flags, stream_id, view[start:offset])

    def _on_frame(self, frame_type: int, flags: int, stream_id: int, payload: memoryview) -> None:
        if self._continuation is not None and frame_type != CONTINUATION:
            raise ProtocolViolation(PROTOCOL_ERROR, "a header block was interrupted")
        if not self._settings_seen:
            if frame_type != SETTINGS or flags & frames.ACK:
                raise ProtocolViolation(PROTOCOL_ERROR, "the preface must be followed by a SETTINGS frame")
            self._settings_seen = True
        if frame_type == DATA:
            self._on_data(flags, stream_id, payload)
        elif frame_type == HEADERS:
            self._on_headers(flags, stream_id, payload)
        elif frame_type == WINDOW_UPDATE:
            self._on_window_update(stream_id, payload)
        elif frame_type == RST_STREAM:
            self._on_rst_stream(stream_id, payload)
        elif frame_type == SETTINGS:
            self._on_settings(flags, stream_id, payload)
        elif frame_type == frames.PING:
            if stream_id:
                raise ProtocolViolation(PROTOCOL_ERROR, "PING on a stream")
            if len(payload) != 8:
                raise ProtocolViolation(FRAME_SIZE_ERROR, "PING payload is not 8 bytes")
            if not flags & frames.ACK:
                self._out.append(frame(frames.PING, frames.ACK, 0, bytes(payload)))
        elif frame_type == CONTINUATION:
            self._on_continuation(flags, stream_id, payload)
        elif frame_type == frames.PRIORITY:
            self._on_priority(stream_id, payload)
        elif frame_type == frames.GOAWAY:
            self._on_goaway(stream_id, payload)
        elif frame_type == frames.PUSH_PROMISE:
            raise ProtocolViolation(PROTOCOL_ERROR, "a client cannot push")
        # Unknown frame types carry nothing for us (§5.5).

    def _idle(self, stream_id: int) -> bool:
        """Never opened: above the highest client stream, or even (this server opens no streams)."""
        return stream_id > self._last_stream_id or not stream_id & 1

    # ---- DATA

    def _on_data(self, flags: int, stream_id: int, payload: memoryview) -> None:
        if stream_id == 0:
            raise ProtocolViolation(PROTOCOL_ERROR, "DATA on stream 0")
        # Every DATA frame counts against the connection window, even one for a stream already closed.
        size = len(payload)
        self._received += size
        if self._received > self._window:
            raise ProtocolViolation(FLOW_CONTROL_ERROR, "the peer overran the connection window")
        if self._received >= self._window >> 1:
            self._out.append(frames.window_update(0, self._received))
            self._received = 0
        data = frames.strip_padding(payload, flags)
        stream = self._streams.get(stream_id)
        if stream is None:
            self._on_data_without_stream(flags, stream_id)
            return
        if stream.client_ended:
            self._reset(stream, STREAM_CLOSED, "DATA after the client's END_STREAM")
            return
        stream.received += size
        if stream.received > self._window:
            self._reset(stream, FLOW_CONTROL_ERROR, "the peer overran the stream window")
            return
        end = flags & END_STREAM
        if end:
            # Known before the data is handled: a reply that this data completes needs no RST_STREAM.
            stream.client_ended = True
        if stream.content_length is not None and not self._length_agrees(stream, len(data), end):
            return
        if data and stream.call and not stream.ending:
            self._on_call_data(stream, data)
        if self._streams.get(stream_id) is not stream:
            return  # ended meanwhile
        if end:
            self._on_client_end(stream)
        elif stream.received >= self._window >> 1:
            self._out.append(frames.window_update(stream_id, stream.received))
            stream.received = 0

    def _on_data_without_stream(self, flags: int, stream_id: int) -> None:
        if self._idle(stream_id):
            raise ProtocolViolation(PROTOCOL_ERROR, f"DATA on idle stream {stream_id}")
        if self._closed_streams.get(stream_id) == _WE_CLOSED:
            if flags & END_STREAM:
                self._closed_streams[stream_id] = _CLIENT_ENDED
            return  # sent before the client saw this side close the stream
        self._out.append(rst_stream(stream_id, STREAM_CLOSED))

    def _length_agrees(self, stream: _Stream, size: int, end: int) -> bool:
        """Count `size` more bytes of content; reset the stream if they contradict its content-length."""
        expected = stream.content_length
        if expected is None:
            return True
        stream.data_length += size
        if stream.data_length > expected or (end and stream.data_length != expected):
            self._reset(stream, PROTOCOL_ERROR, f"content-length {expected} but {stream.data_length} bytes of DATA")
            return False
        return True

    def _on_call_data(self, stream: _Stream, data: memoryview) -> None:
        if stream.parts:  # a message begun in an earlier frame: wait until it is whole, then join once
            self._hold(stream, data)
            if stream.parts_size < stream.need:
                if self._buffered > self._max_buffered:
                    self._abort(stream, RESOURCE_EXHAUSTED, "connection buffer limit exceeded")
                return
            data = memoryview(b"".join(stream.parts))
            self._release(stream)
        consumed = self._read_messages(stream, data)
        if consumed < len(data) and not stream.ending:
            self._hold(stream, data[consumed:])
            if self._buffered > self._max_buffered:
                self._abort(stream, RESOURCE_EXHAUSTED, "connection buffer limit exceeded")

    def _hold(self, stream: _Stream, part: memoryview) -> None:
        """Keep part of a message, without a copy: counted as the whole buffer it keeps alive (once, for
        the frames of one read)."""
        stream.parts.append(part)
        stream.parts_size += len(part)
        buffer = cast(bytes, part.obj)  # received bytes, or a join of them
        if buffer is not stream.held_buffer:
            stream.held_buffer = buffer
            stream.held += len(buffer)
            self._buffered += len(buffer)

    def _read_messages(self, stream: _Stream, data: memoryview) -> int:
        """Report each whole message in `data`; return the bytes they took (set `stream.need` for the rest)."""
        offset, end = 0, len(data)
        events, stream_id = self._events, stream.id
        while end - offset >= PREFIX_SIZE:
            if data[offset]:
                self._abort(stream, UNIMPLEMENTED, "compressed messages are not supported")
                return end
            length = int.from_bytes(data[offset + 1 : offset + PREFIX_SIZE], "big")
            if length > self._max_message:
                limit = self._max_message
                self._abort(stream, RESOURCE_EXHAUSTED, f"message of {length} bytes exceeds the limit {limit}")
                return end
            start = offset + PREFIX_SIZE
            if end - start < length:
                stream.need = PREFIX_SIZE + length
                return offset
            offset = start + length
            events.append(MessageReceived(stream_id, data[start:offset]))
        stream.need = PREFIX_SIZE
        return offset

    def _on_client_end(self, stream: _Stream) -> None:
        """The client sent END_STREAM on an open stream (its content already checked)."""
        if not stream.call:
            self._answer_plain(stream)
        elif stream.ending:
            return  # the reply is still going out; the stream closes when it is
        elif stream.parts:
            self._abort(stream, INTERNAL, "the stream ended inside a message")
        else:
            self._events.append(RequestEnded(stream.id))

    # ---- HEADERS, CONTINUATION

    def _on_headers(self, flags: int, stream_id: int, payload: memoryview) -> None:
        if stream_id == 0:
            raise ProtocolViolation(PROTOCOL_ERROR, "HEADERS on stream 0")
        block = frames.strip_padding(payload, flags)
        depends_on = 0
        if flags & frames.PRIORITY_FLAG:
            if len(block) < 5:
                raise ProtocolViolation(FRAME_SIZE_ERROR, "HEADERS too short for its priority")
            depends_on = frames.read_stream_id(block)
            block = block[5:]
        if flags & END_HEADERS:
            self._on_header_block(stream_id, flags & END_STREAM, depends_on, bytes(block))
        else:
            self._continuation = (stream_id, flags & END_STREAM, depends_on, bytearray(block))

    def _on_continuation(self, flags: int, stream_id: int, payload: memoryview) -> None:
        if self._continuation is None or self._continuation[0] != stream_id:
            raise ProtocolViolation(PROTOCOL_ERROR, "CONTINUATION without a header block to continue")
        _, end_stream, depends_on, fragments = self._continuation
        fragments += payload
        if len(fragments) > self._max_header_list * 2:
            raise ProtocolViolation(PROTOCOL_ERROR, "header block too large")
        if flags & END_HEADERS:
            self._continuation = None
            self._on_header_block(stream_id, end_stream, depends_on, bytes(fragments))

    def _on_header_block(self, stream_id: int, end_stream: int, depends_on: int, block: bytes) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            self._on_trailers(stream, end_stream, depends_on, block)
        elif not stream_id & 1:
            raise ProtocolViolation(PROTOCOL_ERROR, f"client stream ids are odd, got {stream_id}")
        elif stream_id <= self._last_stream_id:
            self._on_header_block_without_stream(stream_id, end_stream, block)
        else:
            self._open(stream_id, end_stream, depends_on, block)

    def _open(self, stream_id: int, end_stream: int, depends_on: int, block: bytes) -> None:
        self._last_stream_id = stream_id
        try:
            head = self._blocks.decode(block)  # first: the table changes even for a request refused below
        except MalformedRequest as exc:
            self._refuse(stream_id, end_stream, PROTOCOL_ERROR, f"malformed request: {exc}")
            return
        if depends_on == stream_id:
            self._refuse(stream_id, end_stream, PROTOCOL_ERROR, "a stream cannot depend on itself")
            return
        if self._drain_after is not None and stream_id > self._drain_after:
            self._refuse(stream_id, end_stream, frames.REFUSED_STREAM, "the connection is draining")
            return
        if len(self._streams) >= self._max_concurrent:
            self._refuse(stream_id, end_stream, frames.REFUSED_STREAM, "too many concurrent streams")
            return
        stream = _Stream(stream_id, self._peer_window)
        self._streams[stream_id] = stream
        stream.content_length = head.content_length
        if head.method != b"POST":
            stream.call = False
            stream.plain_status = 405
            stream.head_only = head.method == b"HEAD"
        elif not head.content_type.startswith(CONTENT_TYPE):
            stream.call = False
            stream.plain_status = 415
        else:
            self._events.append(CallReceived(stream_id, head))
        if end_stream:
            stream.client_ended = True
            if self._length_agrees(stream, 0, end_stream):
                self._on_client_end(stream)

    def _on_trailers(self, stream: _Stream, end_stream: int, depends_on: int, block: bytes) -> None:
        fields = self._blocks.decode_fields(block)
        if stream.client_ended:
            self._reset(stream, STREAM_CLOSED, "HEADERS after the client's END_STREAM")
        elif not end_stream:
            self._reset(stream, PROTOCOL_ERROR, "a second header block without END_STREAM")
        elif depends_on == stream.id:
            self._reset(stream, PROTOCOL_ERROR, "a stream cannot depend on itself")
        else:
            try:
                check_trailers(fields)
            except MalformedRequest as exc:
                self._reset(stream, PROTOCOL_ERROR, f"malformed trailers: {exc}")
                return
            stream.client_ended = True
            if self._length_agrees(stream, 0, end_stream):
                self._on_client_end(stream)

    def _on_header_block_without_stream(self, stream_id: int, end_stream: int, block: bytes) -> None:
        self._blocks.decode_fields(block)  # keep the dynamic table in step with the peer's
        how = self._closed_streams.get(stream_id)
        if how is None:
            raise ProtocolViolation(
                PROTOCOL_ERROR, f"HEADERS opening stream {stream_id} after stream {self._last_stream_id}"
            )
        if how == _WE_CLOSED:
            if end_stream:
                self._closed_streams[stream_id] = _CLIENT_ENDED
        elif how == _CLIENT_RESET:
            self._out.append(rst_stream(stream_id, STREAM_CLOSED))
        else:
            raise ProtocolViolation(STREAM_CLOSED, f"HEADERS on stream {stream_id} after its END_STREAM")

    # ---- the other frames

    def _on_window_update(self, stream_id: int, payload: memoryview) -> None:
        if len(payload) != 4:
            raise ProtocolViolation(FRAME_SIZE_ERROR, "WINDOW_UPDATE payload is not 4 bytes")
        increment = frames.read_stream_id(payload)  # 31 bits, like a stream id
        if stream_id == 0:
            if increment == 0:
                raise ProtocolViolation(PROTOCOL_ERROR, "WINDOW_UPDATE of 0 for the connection")
            self._send_window += increment
            if self._send_window > frames.MAX_WINDOW:
                raise ProtocolViolation(FLOW_CONTROL_ERROR, "the connection window overflowed")
            self._send_pending()
        else:
            stream = self._streams.get(stream_id)
            if stream is None:
                if self._idle(stream_id):
                    raise ProtocolViolation(PROTOCOL_ERROR, f"WINDOW_UPDATE on idle stream {stream_id}")
                return  # may cross this side's END_STREAM or RST_STREAM (§5.1)
            if increment == 0:
                self._reset(stream, PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
                return
            stream.send_window += increment
            if stream.send_window > frames.MAX_WINDOW:
                self._reset(stream, FLOW_CONTROL_ERROR, "the stream window overflowed")
                return
            self._send_stream(stream)
        self._events.append(WindowUpdated(stream_id, increment))

    def _on_rst_stream(self, stream_id: int, payload: memoryview) -> None:
        if stream_id == 0:
            raise ProtocolViolation(PROTOCOL_ERROR, "RST_STREAM on stream 0")
        if len(payload) != 4:
            raise ProtocolViolation(FRAME_SIZE_ERROR, "RST_STREAM payload is not 4 bytes")
        stream = self._streams.get(stream_id)
        if stream is None and self._idle(stream_id):
            raise ProtocolViolation(PROTOCOL_ERROR, f"RST_STREAM on idle stream {stream_id}")
        if stream is not None:
            self._forget(stream, _CLIENT_RESET)
            self._events.append(StreamReset(stream_id, frames.read_u32(payload), True, ""))
        elif self._closed_streams.get(stream_id) == _WE_CLOSED:
            self._closed_streams[stream_id] = _CLIENT_RESET

    def _on_settings(self, flags: int, stream_id: int, payload: memoryview) -> None:
        if stream_id:
            raise ProtocolViolation(PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & frames.ACK:
            if payload:
                raise ProtocolViolation(FRAME_SIZE_ERROR, "SETTINGS ACK with a payload")
            return
        for key, value in frames.parse_settings(payload):
            if key == frames.INITIAL_WINDOW_SIZE:
                if value > frames.MAX_WINDOW:
                    raise ProtocolViolation(FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE too large")
                delta, self._peer_window = value - self._peer_window, value
                for stream in self._streams.values():
                    stream.send_window += delta
                    if stream.send_window > frames.MAX_WINDOW:
                        raise ProtocolViolation(FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE overflowed a window")
            elif key == frames.MAX_FRAME_SIZE:
                if not frames.DEFAULT_MAX_FRAME <= value <= frames.MAX_FRAME_LIMIT:
                    raise ProtocolViolation(PROTOCOL_ERROR, "SETTINGS_MAX_FRAME_SIZE out of range")
                self._peer_max_frame = value
            elif key == frames.ENABLE_PUSH and value > 1:
                raise ProtocolViolation(PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH must be 0 or 1")
        self._out.append(frames.SETTINGS_ACK)
        self._send_pending()

    def _on_priority(self, stream_id: int, payload: memoryview) -> None:
        if stream_id == 0:
            raise ProtocolViolation(PROTOCOL_ERROR, "PRIORITY on stream 0")
        if len(payload) != 5:
            raise ProtocolViolation(FRAME_SIZE_ERROR, "PRIORITY payload is not 5 bytes")
        if frames.read_stream_id(payload) != stream_id:
            return  # priorities are advice (§5.3, deprecated by RFC 9113): nothing to do
        stream = self._streams.get(stream_id)
        if stream is not None:
            self._reset(stream, PROTOCOL_ERROR, "a stream cannot depend on itself")
        elif self._idle(stream_id):
            raise ProtocolViolation(PROTOCOL_ERROR, f"stream {stream_id} cannot depend on itself")
        else:
            self._out.append(rst_stream(stream_id, PROTOCOL_ERROR))

    def _on_goaway(self, stream_id: int, payload: memoryview) -> None:
        if stream_id:
            raise ProtocolViolation(PROTOCOL_ERROR, "GOAWAY on a stream")
        if len(payload) < 8:
            raise ProtocolViolation(FRAME_SIZE_ERROR, "GOAWAY payload shorter than 8 bytes")
        # The peer opens no more streams; the ones in flight still get their replies.
        if self._drain_after is None:
            self._drain_after = self._last_stream_id
        detail = bytes(payload[8:]).decode("utf-8", "replace")
        last = frames.read_stream_id(payload)
        self._events.append(ConnectionTerminated(frames.read_u32(payload[4:]), last, True, detail))

    # ---- output

    def send_message(self, stream_id: int, message: bytes) -> None:
        """Send one gRPC message on a call (its response headers first, once)."""
        stream = self._streams.get(stream_id)
        if stream is None or stream.ending or not stream.call:
            return
        out = self._out
        if not stream.headers_sent:
            out.append(frame(HEADERS, END_HEADERS, stream_id, RESPONSE_HEADERS_BLOCK))
            stream.headers_sent = True
        prefix = message_prefix(len(message))
        size = PREFIX_SIZE + len(message)
        if stream.pending or size > min(stream.send_window, self._send_window):
            stream.pending += prefix  # (copied: it waits for window)
            stream.pending += message
            self._send_stream(stream)
            return
        # The usual case: the windows take the whole message now; it goes out without a copy, in one DATA
        # frame if the peer's frame size allows, else in frames that are views of it.
        stream.send_window -= size
        self._send_window -= size
        max_frame = self._peer_max_frame
        if size <= max_frame:
            out += (frame_head(DATA, 0, stream_id, size), prefix, message)
            return
        view = memoryview(message)
        first = max_frame - PREFIX_SIZE
        out += (frame_head(DATA, 0, stream_id, max_frame), prefix, view[:first])
        for start in range(first, len(message), max_frame):
            piece = view[start : start + max_frame]
            out += (frame_head(DATA, 0, stream_id, len(piece)), piece)

    def end_call(self, stream_id: int, status: int = OK, message: str = "") -> None:
        """End a call with its gRPC status (trailers, or a trailers-only reply if nothing was sent)."""
        stream = self._streams.get(stream_id)
        if stream is not None and stream.call and not stream.ending:
            self._end(stream, status, message)

    def reset_stream(self, stream_id: int, error_code: int) -> None:
        """Reset a stream (RST_STREAM) and forget it."""
        stream = self._streams.get(stream_id)
        if stream is not None:
            self._out.append(rst_stream(stream_id, error_code))
            self._forget(stream, _CLIENT_ENDED if stream.client_ended else _WE_CLOSED)

    def start_drain(self) -> None:
        """GOAWAY(NO_ERROR) naming the last stream served: streams up to it go on, newer ones are refused."""
        if self._closed or self._goaway_sent:
            return
        if self._drain_after is None:
            self._drain_after = self._last_stream_id
        self._out.append(frames.goaway(self._last_stream_id, NO_ERROR))
        self._goaway_sent = True

    def close(self) -> None:
        """Close: a final GOAWAY(NO_ERROR) unless one was sent; nothing more is received or sent after it."""
        if self._closed:
            return
        if not self._goaway_sent:
            self._out.append(frames.goaway(self._last_stream_id, NO_ERROR))
            self._goaway_sent = True
        self._shut()

    def chunks_to_send(self) -> Sequence[bytes | memoryview]:
        """What to write now, as pieces for one `writelines` (large replies are not copied)."""
        out = self._out
        if not out:
            return ()
        self._out = []
        return out

    def data_to_send(self) -> bytes:
        """What to write now, as one bytes object."""
        return b"".join(self.chunks_to_send())

    # ---- output, inside

    def _end(self, stream: _Stream, status: int, message: str) -> None:
        self._release(stream)
        stream.ending = True
        trailers = OK_TRAILERS_BLOCK if status == OK and not message else trailers_block(status, message)
        if not stream.headers_sent:  # trailers-only: the headers carry the status
            stream.headers_sent = True
            self._out.append(frame(HEADERS, END_HEADERS | END_STREAM, stream.id, RESPONSE_HEADERS_BLOCK + trailers))
            self._ended(stream)
            return
        stream.trailers = trailers
        self._send_stream(stream)

    def _abort(self, stream: _Stream, status: int, detail: str) -> None:
        self._end(stream, status, detail)
        self._events.append(CallAborted(stream.id, status, detail))

    def _answer_plain(self, stream: _Stream) -> None:
        block, text = _PLAIN_ANSWERS[stream.plain_status]
        stream.headers_sent = True
        stream.ending = True
        if stream.head_only:
            self._out.append(frame(HEADERS, END_HEADERS | END_STREAM, stream.id, block))
            self._ended(stream)
            return
        self._out.append(frame(HEADERS, END_HEADERS, stream.id, block))
        stream.pending += text
        self._send_stream(stream)

    def _send_stream(self, stream: _Stream) -> None:
        """Send as much of the stream's pending reply as the windows allow; then end it if it is ending."""
        pending = stream.pending
        while pending:
            size = min(len(pending), stream.send_window, self._send_window, self._peer_max_frame)
            if size <= 0:
                return  # resumed by WINDOW_UPDATE or SETTINGS
            last = size == len(pending) and stream.ending and stream.trailers is None
            self._out.append(frame_head(DATA, END_STREAM if last else 0, stream.id, size))
            self._out.append(bytes(pending[:size]))
            del pending[:size]
            stream.send_window -= size
            self._send_window -= size
        if stream.ending:
            if stream.trailers is not None:
                self._out.append(frame(HEADERS, END_HEADERS | END_STREAM, stream.id, stream.trailers))
            self._ended(stream)

    def _send_pending(self) -> None:
        for stream in list(self._streams.values()):
            if stream.pending or stream.ending:
                self._send_stream(stream)

    def _ended(self, stream: _Stream) -> None:
        """This side sent END_STREAM: the stream closes (with RST_STREAM(NO_ERROR) if the client still sends)."""
        if stream.client_ended:
            self._forget(stream, _CLIENT_ENDED)
        else:
            self._out.append(rst_stream(stream.id, NO_ERROR))
            self._forget(stream, _WE_CLOSED)

    def _reset(self, stream: _Stream, code: int, detail: str) -> None:
        """A stream error (§5.4.2): reset this stream only."""
        self._out.append(rst_stream(stream.id, code))
        self._forget(stream, _CLIENT_ENDED if stream.client_ended else _WE_CLOSED)
        self._events.append(StreamReset(stream.id, code, False, detail))

    def _refuse(self, stream_id: int, end_stream: int, code: int, detail: str) -> None:
        """A stream error on a stream being opened."""
        self._out.append(rst_stream(stream_id, code))
        self._remember(stream_id, _CLIENT_ENDED if end_stream else _WE_CLOSED)
        self._events.append(StreamReset(stream_id, code, False, detail))

    def _release(self, stream: _Stream) -> None:
        if stream.parts:
            self._buffered -= stream.held
            stream.held = stream.parts_size = 0
            stream.held_buffer = None
            stream.parts = []

    def _forget(self, stream: _Stream, how: int) -> None:
        del self._streams[stream.id]
        stream.ending = True
        self._release(stream)
        self._remember(stream.id, how)

    def _remember(self, stream_id: int, how: int) -> None:
        closed = self._closed_streams
        closed[stream_id] = how
        if len(closed) > 2 * _CLOSED_KEPT:  # keep the newest: late frames come soon after a close
            self._closed_streams = dict(list(closed.items())[-_CLOSED_KEPT:])

    def _terminate(self, code: int, detail: str) -> None:
        """A connection error (§5.4.1): GOAWAY, and nothing more; earlier events of this input are void."""
        self._out.append(frames.goaway(self._last_stream_id, code))
        self._goaway_sent = True
        self._shut()
        self._events = [ConnectionTerminated(code, self._last_stream_id, False, detail)]

    def _shut(self) -> None:
        self._closed = True
        self._streams.clear()
        self._buffered = 0
        self._partial = []
        self._continuation = None
