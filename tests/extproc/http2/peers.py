"""Clients wired to a `ServerConnection` in memory: bytes go straight from one to the other, no sockets.

`H2Peer` is a well-behaved client (the `h2` package's H2Connection, which also checks what the server
sends: flow control, frame sizes, stream states). `RawPeer` writes any frames (hyperframe) or bytes,
misbehaving at will, and reads the server's frames back with hyperframe and hpack. Neither uses
brightstaff's own framing to check brightstaff's framing.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.settings
import hpack
from ext_proc_client import GRPC_REQUEST_HEADERS, ServerFrames, grpc_frame
from hyperframe.frame import Frame, GoAwayFrame, HeadersFrame, PingFrame, RstStreamFrame, SettingsFrame

from brightstaff.extproc.http2.connection import Limits, ServerConnection
from brightstaff.extproc.http2.events import Event, MessageReceived, RequestEnded

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# RFC 9113 §7 error codes, spelled out rather than taken from brightstaff.
NO_ERROR, PROTOCOL_ERROR, FLOW_CONTROL_ERROR, STREAM_CLOSED = 0x0, 0x1, 0x3, 0x5
FRAME_SIZE_ERROR, REFUSED_STREAM, COMPRESSION_ERROR = 0x6, 0x7, 0x9
LIMITS = Limits(max_message_bytes=64 * 1024)
Headers = list[tuple[str, str]]


def echo(server: ServerConnection, events: list[Event]) -> None:
    """A minimal application: answer each message with itself, end the call when the client does."""
    for event in events:
        if isinstance(event, MessageReceived):
            server.send_message(event.stream_id, bytes(event.message))
        elif isinstance(event, RequestEnded):
            server.end_call(event.stream_id)


class H2Peer:
    """h2's client on one side, a ServerConnection on the other; `pump` moves bytes until both are quiet."""

    def __init__(self, limits: Limits = LIMITS, *, window: int = 65535, auto_ack: bool = True) -> None:
        self.server = ServerConnection(limits)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        # Set before initiate_connection, so h2 enforces this receive window from the first frame on.
        self.conn.local_settings = h2.settings.Settings(
            client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window}
        )
        self.conn.initiate_connection()
        self.auto_ack = auto_ack  # hand received DATA back to the server's window at once
        self.server_events: list[Event] = []
        self.client_events: list[h2.events.Event] = []
        self.data: dict[int, bytearray] = defaultdict(bytearray)
        self.headers: dict[int, dict[str, str]] = {}
        self.trailers: dict[int, dict[str, str]] = {}
        self.ended: set[int] = set()
        self.pump()

    def pump(self) -> list[Event]:
        """Exchange bytes until neither side has anything to send; return the server's new events."""
        new: list[Event] = []
        for _ in range(1000):  # bounded: a ping-pong that never ends fails the test
            out = self.conn.data_to_send()
            if out:
                new += self.server.receive_data(out)
            back = self.server.data_to_send()
            if back:
                self._feed(back)
            elif not out:
                self.server_events += new
                return new
        raise AssertionError("the peers never went quiet")

    def _feed(self, data: bytes) -> None:
        events = self.conn.receive_data(data)  # raises h2's ProtocolError (e.g. FlowControlError) on a bad frame
        for event in events:
            if isinstance(event, h2.events.ResponseReceived):
                assert event.stream_id is not None and event.headers is not None
                self.headers[event.stream_id] = {str(k): str(v) for k, v in event.headers}
            elif isinstance(event, h2.events.DataReceived):
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
        self.client_events += events

    def of(self, kind: type[h2.events.Event]) -> list[Any]:
        return [e for e in self.client_events if isinstance(e, kind)]

    def open(self, headers: Headers = GRPC_REQUEST_HEADERS, *, end_stream: bool = False) -> int:
        stream_id: int = self.conn.get_next_available_stream_id()
        self.conn.send_headers(stream_id, headers, end_stream=end_stream)
        return stream_id

    def call(self, *messages: bytes, end_stream: bool = True) -> int:
        """Open a gRPC call and send `messages` (one DATA frame each, within h2's windows), maybe END_STREAM."""
        stream_id = self.open()
        for message in messages:
            self.conn.send_data(stream_id, grpc_frame(message))
        if end_stream:
            self.conn.end_stream(stream_id)
        return stream_id

    def status(self, stream_id: int) -> str:
        """grpc-status of an ended call: from its trailers, or its headers for a trailers-only reply."""
        assert stream_id in self.ended
        return (self.trailers.get(stream_id) or self.headers[stream_id])["grpc-status"]


class RawPeer:
    """Frames or bytes of your choosing in, the server's frames out (parsed with hyperframe, blocks with hpack)."""

    def __init__(self, limits: Limits = LIMITS, *, handshake: bool = True) -> None:
        self.server = ServerConnection(limits)
        self.encoder = hpack.Encoder()
        self.events: list[Event] = []
        self.received = ServerFrames()
        self.frames, self.headers, self.data = self.received.frames, self.received.headers, self.received.data
        self.of = self.received.of
        if handshake:
            self.send(PREFACE, SettingsFrame(0))
            self.send(SettingsFrame(0, flags=["ACK"]))

    def send(self, *frames: Frame | bytes) -> list[Event]:
        """Hand the frames to the server as one read; return its events."""
        events = self.server.receive_data(b"".join(f if isinstance(f, bytes) else f.serialize() for f in frames))
        self.events += events
        self.read()
        return events

    def read(self) -> None:
        """Parse what the server has to send."""
        self.received.feed(self.server.data_to_send())

    def block(self, headers: Headers = GRPC_REQUEST_HEADERS) -> bytes:
        return bytes(self.encoder.encode(headers))

    def request(self, stream_id: int, headers: Headers = GRPC_REQUEST_HEADERS, *flags: str) -> HeadersFrame:
        """A HEADERS frame with one whole block (END_HEADERS) and the given flags."""
        return HeadersFrame(stream_id, self.block(headers), flags=["END_HEADERS", *flags])

    def goaway_code(self) -> int | None:
        goaways = self.of(GoAwayFrame)
        return goaways[-1].error_code if goaways else None

    def resets(self, stream_id: int | None = None) -> list[int]:
        return [f.error_code for f in self.of(RstStreamFrame, stream_id)]

    def still_serves(self) -> bool:
        """A PING is acknowledged and no GOAWAY was sent: the connection is alive."""
        opaque = b"stillok!"
        self.send(PingFrame(0, opaque))
        acked = [f for f in self.of(PingFrame) if "ACK" in f.flags and f.opaque_data == opaque]
        return bool(acked) and not self.of(GoAwayFrame)
