"""`ServerConnection` in memory, against independent clients (h2's H2Connection; hyperframe + hpack).

Tables of misbehaviour (what a peer sends → the error RFC 9113 names) sit next to the well-behaved
exchanges: a call's events and reply frames, gRPC message framing, flow control both ways, concurrency,
drain, and the requests that are not gRPC. No sockets and no event loop: bytes in, events and bytes out.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

import h2.events
import h2.settings
import pytest
from ext_proc_client import GRPC_REQUEST_HEADERS, METHOD, grpc_frame, grpc_messages
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)
from peers import (
    COMPRESSION_ERROR,
    FLOW_CONTROL_ERROR,
    FRAME_SIZE_ERROR,
    LIMITS,
    NO_ERROR,
    PREFACE,
    PROTOCOL_ERROR,
    REFUSED_STREAM,
    STREAM_CLOSED,
    H2Peer,
    Headers,
    RawPeer,
    echo,
)

from brightstaff.extproc.http2.connection import Limits, ServerConnection
from brightstaff.extproc.http2.events import (
    CallAborted,
    CallReceived,
    ConnectionTerminated,
    MessageReceived,
    RequestEnded,
    StreamReset,
    WindowUpdated,
)
from brightstaff.extproc.http2.request_headers import RequestHead

GET = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "127.0.0.1")]


def raw(frame_type: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """Any frame at all, even one hyperframe would refuse to build."""
    return struct.pack(">I", len(payload))[1:] + bytes((frame_type, flags)) + struct.pack(">I", stream_id) + payload


def with_header(name: str, value: str) -> Headers:
    return [*GRPC_REQUEST_HEADERS, (name, value)]


def event_types(events: Sequence[object]) -> list[type]:
    return [type(event) for event in events]


# ---- the connection's start


def test_the_server_speaks_first_with_its_settings_and_opens_its_connection_window() -> None:
    peer = H2Peer()
    changed = peer.of(h2.events.RemoteSettingsChanged)[0].changed_settings
    codes = h2.settings.SettingCodes
    assert changed[codes.MAX_CONCURRENT_STREAMS].new_value == 1024
    assert changed[codes.INITIAL_WINDOW_SIZE].new_value == 16 * 1024 * 1024
    assert changed[codes.MAX_FRAME_SIZE].new_value == 1024 * 1024
    assert changed[codes.MAX_HEADER_LIST_SIZE].new_value == 16 * 1024
    # The connection window starts at 64 KiB whatever SETTINGS say (RFC 9113 §6.9.2): opened to match.
    assert [e.delta for e in peer.of(h2.events.WindowUpdated) if e.stream_id == 0] == [16 * 1024 * 1024 - 65535]
    assert len(peer.of(h2.events.SettingsAcknowledged)) == 1  # the client's SETTINGS


def test_later_settings_and_pings_are_acknowledged() -> None:
    peer = H2Peer()
    peer.conn.update_settings({h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 8192})
    peer.conn.ping(b"\x01\x02brsf\xfe\xff")
    peer.pump()
    assert len(peer.of(h2.events.SettingsAcknowledged)) == 2
    assert [e.ping_data for e in peer.of(h2.events.PingAckReceived)] == [b"\x01\x02brsf\xfe\xff"]


@pytest.mark.parametrize("chunk", [1, 7, 9, 10, 100, 1 << 20], ids=lambda size: f"{size}-byte reads")
def test_frames_cut_anywhere_give_the_same_events(chunk: int) -> None:
    encoder_peer = RawPeer(handshake=False)
    wire = b"".join(
        [
            PREFACE,
            SettingsFrame(0).serialize(),
            encoder_peer.request(1).serialize(),
            DataFrame(1, grpc_frame(b"a" * 300) + grpc_frame(b"b"), flags=["END_STREAM"]).serialize(),
        ]
    )
    server = ServerConnection(LIMITS)
    events = []
    for offset in range(0, len(wire), chunk):
        events += server.receive_data(wire[offset : offset + chunk])
    assert event_types(events) == [CallReceived, MessageReceived, MessageReceived, RequestEnded]
    assert [bytes(e.message) for e in events if isinstance(e, MessageReceived)] == [b"a" * 300, b"b"]


# ---- a call


def test_a_call_gives_its_events_in_order_and_gets_one_data_frame_per_reply() -> None:
    peer = RawPeer()
    events = peer.send(
        peer.request(1), DataFrame(1, grpc_frame(b"first") + grpc_frame(b"second"), flags=["END_STREAM"])
    )
    assert events == [
        CallReceived(1, RequestHead(b"POST", METHOD.encode(), b"application/grpc", None)),
        MessageReceived(1, memoryview(b"first")),
        MessageReceived(1, memoryview(b"second")),
        RequestEnded(1),
    ]
    echo(peer.server, events)
    peer.read()
    assert [type(f).__name__ for f in peer.frames if f.stream_id == 1] == [
        "HeadersFrame",
        "DataFrame",
        "DataFrame",
        "HeadersFrame",
    ]
    assert peer.headers[1] == [{":status": "200", "content-type": "application/grpc"}, {"grpc-status": "0"}]
    assert grpc_messages(bytes(peer.data[1])) == [b"first", b"second"]
    assert "END_STREAM" in peer.of(HeadersFrame, 1)[-1].flags
    assert not peer.of(RstStreamFrame)  # END_STREAM was known before the reply: nothing to reset
    assert not peer.server.busy


def test_a_call_ended_while_the_client_still_sends_is_reset_with_no_error() -> None:
    peer = RawPeer()
    (_, message) = peer.send(peer.request(1), DataFrame(1, grpc_frame(b"headers")))
    assert isinstance(message, MessageReceived)
    peer.server.send_message(1, b"decided")
    peer.server.end_call(1)
    peer.read()
    assert peer.headers[1][-1] == {"grpc-status": "0"}
    assert peer.resets(1) == [NO_ERROR]  # RFC 9113 §8.1: the client need not send the rest
    # What the client had in flight is discarded quietly, until it has seen the close.
    assert peer.send(DataFrame(1, grpc_frame(b"late"))) == []
    assert peer.resets(1) == [NO_ERROR]
    assert peer.still_serves()


def test_a_call_ended_before_any_reply_is_trailers_only() -> None:
    peer = RawPeer()
    peer.send(peer.request(1, GRPC_REQUEST_HEADERS, "END_STREAM"))
    peer.server.end_call(1, 12, "unknown method /x")
    peer.read()
    (headers,) = peer.of(HeadersFrame, 1)
    assert "END_STREAM" in headers.flags
    assert peer.headers[1] == [
        {":status": "200", "content-type": "application/grpc", "grpc-status": "12", "grpc-message": "unknown method /x"}
    ]


def test_sending_on_a_stream_that_is_gone_does_nothing() -> None:
    peer = RawPeer()
    peer.send(peer.request(1), RstStreamFrame(1, 0x8))
    assert peer.events[-1] == StreamReset(1, 0x8, True, "")
    peer.server.send_message(1, b"x")
    peer.server.end_call(1)
    peer.server.reset_stream(1, PROTOCOL_ERROR)
    peer.server.send_message(99, b"x")
    assert peer.server.data_to_send() == b""


def test_chunks_to_send_hold_the_reply_without_copying_it() -> None:
    peer = RawPeer()
    peer.send(peer.request(1, GRPC_REQUEST_HEADERS, "END_STREAM"), peer.request(3, GRPC_REQUEST_HEADERS, "END_STREAM"))
    reply = b"r" * 1000
    peer.server.send_message(1, reply)
    assert any(chunk is reply for chunk in peer.server.chunks_to_send())
    # Larger than the peer's frame size (16 KiB by default): several DATA frames, each a view of the reply.
    large = b"L" * 40_000
    peer.server.send_message(3, large)
    views = [chunk for chunk in peer.server.chunks_to_send() if isinstance(chunk, memoryview)]
    assert len(views) == 3 and all(view.obj is large for view in views)
    assert b"".join(views) == large


# ---- gRPC message framing


SPLITS = {
    "inside the prefix": [2],
    "after the prefix": [5],
    "inside the message": [40],
    "one byte before its end": [104],
    "into many pieces": [1, 3, 5, 6, 50, 51, 104],
}


@pytest.mark.parametrize("cuts", SPLITS.values(), ids=SPLITS.keys())
def test_a_message_split_over_data_frames_arrives_whole(cuts: list[int]) -> None:
    message = bytes(range(100))
    wire = grpc_frame(message)
    pieces = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)], strict=True)]
    peer = RawPeer()
    peer.send(peer.request(1))
    events = []
    for piece in pieces:
        events += peer.send(DataFrame(1, piece))
    assert events == [MessageReceived(1, memoryview(message))]


def test_a_large_message_over_several_frames_and_reads_arrives_whole() -> None:
    message = b"m" * (200 * 1024)
    wire = grpc_frame(message)
    peer = RawPeer(Limits(max_message_bytes=1 << 20))
    peer.send(peer.request(1))
    events = []
    for offset in range(0, len(wire), 70_000):
        events += peer.send(DataFrame(1, wire[offset : offset + 70_000]))
    assert events == [MessageReceived(1, memoryview(message))]


def test_a_message_in_many_frames_of_one_read_is_not_over_the_buffer_limit() -> None:
    # Envoy sends a body in 16 KiB frames, many per read: the read is counted once, not once per frame.
    message = b"e" * (200 * 1024)
    wire = grpc_frame(message)
    limits = Limits(max_message_bytes=256 * 1024)  # buffer limit: four messages' worth, about 1 MiB
    peer = RawPeer(limits)
    frames = [DataFrame(1, wire[offset : offset + 16_384]) for offset in range(0, len(wire), 16_384)]
    events = peer.send(peer.request(1), *frames)
    assert event_types(events) == [CallReceived, MessageReceived]
    assert isinstance(events[1], MessageReceived) and bytes(events[1].message) == message


def test_an_empty_message_and_several_per_frame() -> None:
    peer = RawPeer()
    events = peer.send(peer.request(1), DataFrame(1, grpc_frame(b"") * 3 + grpc_frame(b"x")))
    assert [bytes(e.message) for e in events if isinstance(e, MessageReceived)] == [b"", b"", b"", b"x"]


ABORTS: dict[str, tuple[Limits, Callable[[RawPeer], list[Frame | bytes]], int]] = {
    "compressed message": (LIMITS, lambda p: [DataFrame(1, b"\x01" + grpc_frame(b"x")[1:])], 12),
    "message over the limit": (Limits(max_message_bytes=10), lambda p: [DataFrame(1, grpc_frame(b"x" * 11))], 8),
    "partial messages over the connection's buffer": (
        Limits(max_message_bytes=1000, max_buffered_bytes=100),
        lambda p: [DataFrame(1, grpc_frame(b"x" * 500)[:80]), DataFrame(1, b"x" * 80)],
        8,
    ),
    "stream ended inside a message": (
        LIMITS,
        lambda p: [DataFrame(1, grpc_frame(b"xyz")[:6], flags=["END_STREAM"])],
        13,
    ),
}


@pytest.mark.parametrize(("limits", "frames", "status"), ABORTS.values(), ids=ABORTS.keys())
def test_bad_messages_end_their_call_and_only_it(
    limits: Limits, frames: Callable[[RawPeer], list[Frame | bytes]], status: int
) -> None:
    peer = RawPeer(limits)
    peer.send(peer.request(1))
    for frame in frames(peer):
        peer.send(frame)
    (aborted,) = [e for e in peer.events if isinstance(e, CallAborted)]
    assert (aborted.stream_id, aborted.status) == (1, status)
    assert peer.headers[1][-1]["grpc-status"] == str(status)
    assert not [e for e in peer.events if isinstance(e, MessageReceived)]
    assert peer.send(DataFrame(1, grpc_frame(b"more"))) == []  # the call is over
    # Another call on the connection is served.
    events = peer.send(peer.request(3), DataFrame(3, grpc_frame(b"ok"), flags=["END_STREAM"]))
    assert event_types(events) == [CallReceived, MessageReceived, RequestEnded]


# ---- requests that are not gRPC


PLAIN = {
    "GET": (GET, 405, True),
    "HEAD": ([(":method", "HEAD"), *GET[1:]], 405, False),
    "POST without content-type": ([(":method", "POST"), *GET[1:]], 415, True),
    "POST of JSON": ([(":method", "POST"), *GET[1:], ("content-type", "application/json")], 415, True),
}


@pytest.mark.parametrize(("headers", "status", "has_body"), PLAIN.values(), ids=PLAIN.keys())
def test_requests_that_are_not_grpc_get_a_plain_answer_once_complete(
    headers: Headers, status: int, has_body: bool
) -> None:
    peer = RawPeer()
    assert peer.send(peer.request(1, headers)) == []
    assert not peer.of(HeadersFrame, 1)  # nothing until the request is complete
    assert peer.send(DataFrame(1, b"ignored body", flags=["END_STREAM"])) == []
    (answer,) = peer.headers[1]
    assert answer[":status"] == str(status)
    assert answer["content-type"] == "text/plain; charset=utf-8"
    assert answer.get("allow") == ("POST" if status == 405 else None)
    body = bytes(peer.data[1])
    if has_body:
        assert b"gRPC" in body
        assert answer["content-length"] == str(len(body))
    else:
        assert body == b""
    assert not peer.of(RstStreamFrame) and not peer.server.busy


# ---- flow control


def test_replies_fill_the_clients_small_window_exactly_and_resume_on_window_update() -> None:
    peer = H2Peer(window=1000, auto_ack=False)  # h2 raises FlowControlError on one byte too many
    stream_id = peer.call(b"q")
    peer.pump()
    peer.server.send_message(stream_id, b"x" * 200_000)
    peer.server.end_call(stream_id)
    peer.pump()
    assert len(peer.data[stream_id]) == 1000
    assert stream_id not in peer.ended
    for _ in range(300):
        if stream_id in peer.ended:
            break
        peer.conn.acknowledge_received_data(1000, stream_id)
        peer.pump()
    assert grpc_messages(bytes(peer.data[stream_id])) == [b"x" * 200_000]
    assert peer.status(stream_id) == "0"


def test_a_reply_larger_than_the_peers_frame_size_is_split() -> None:
    peer = H2Peer(window=1 << 20)
    stream_id = peer.call(b"q")
    peer.pump()
    peer.server.send_message(stream_id, b"y" * 50_000)
    peer.server.end_call(stream_id)
    peer.pump()
    sizes = [e.flow_controlled_length for e in peer.of(h2.events.DataReceived)]
    assert max(sizes) <= 16_384  # the client's SETTINGS_MAX_FRAME_SIZE (default)
    assert grpc_messages(bytes(peer.data[stream_id])) == [b"y" * 50_000]


def test_a_settings_change_can_make_a_window_negative_and_the_server_waits() -> None:
    peer = RawPeer()
    peer.send(SettingsFrame(0, settings={0x4: 10}), peer.request(1, GRPC_REQUEST_HEADERS, "END_STREAM"))
    peer.server.send_message(1, b"z" * 100)
    peer.server.end_call(1)
    peer.read()
    assert len(peer.data[1]) == 10
    peer.send(SettingsFrame(0, settings={0x4: 5}))  # the stream's window: 0 + (5 - 10) = -5
    peer.send(WindowUpdateFrame(1, 8))  # -5 + 8 = 3
    assert len(peer.data[1]) == 13
    peer.send(WindowUpdateFrame(1, 1000))
    assert grpc_messages(bytes(peer.data[1])) == [b"z" * 100]
    assert peer.headers[1][-1] == {"grpc-status": "0"}


def test_request_windows_are_replenished_past_the_receive_window() -> None:
    limits = Limits(max_message_bytes=100_000, receive_window=100_000)
    peer = H2Peer(limits)
    for _ in range(3):  # 3 x 60 KB > the 100 KB connection window: without WINDOW_UPDATEs h2 would stall
        stream_id = peer.open()
        wire = grpc_frame(b"w" * 60_000)
        for offset in range(0, len(wire), 16_384):
            peer.conn.send_data(stream_id, wire[offset : offset + 16_384])
            echo(peer.server, peer.pump())
        peer.conn.end_stream(stream_id)
        echo(peer.server, peer.pump())
        peer.pump()
        assert peer.status(stream_id) == "0"
        assert grpc_messages(bytes(peer.data[stream_id])) == [b"w" * 60_000]
    updates = [e for e in peer.of(h2.events.WindowUpdated) if e.stream_id == 0]
    assert len(updates) >= 3  # the opening one and replenishments
    assert any(isinstance(e, WindowUpdated) for e in peer.server_events)


def test_the_server_reports_window_updates() -> None:
    peer = RawPeer()
    peer.send(peer.request(1))
    assert peer.send(WindowUpdateFrame(1, 10), WindowUpdateFrame(0, 20)) == [WindowUpdated(1, 10), WindowUpdated(0, 20)]


# ---- concurrency, drain, goaway, close


def test_streams_over_the_concurrency_limit_are_refused() -> None:
    peer = RawPeer(Limits(max_message_bytes=1000, max_concurrent_streams=2))
    for stream_id in (1, 3, 5):
        peer.send(peer.request(stream_id))
    assert peer.resets() == [REFUSED_STREAM]
    assert peer.of(RstStreamFrame)[0].stream_id == 5
    peer.server.end_call(1)
    peer.server.end_call(3)
    events = peer.send(peer.request(7, GRPC_REQUEST_HEADERS, "END_STREAM"))
    assert event_types(events) == [CallReceived, RequestEnded]


def test_drain_sends_goaway_finishes_streams_in_flight_and_refuses_newer_ones() -> None:
    peer = RawPeer()
    peer.send(peer.request(1))
    peer.server.start_drain()
    peer.read()
    (goaway,) = peer.of(GoAwayFrame)
    assert (goaway.last_stream_id, goaway.error_code) == (1, NO_ERROR)
    events = peer.send(peer.request(3), DataFrame(1, grpc_frame(b"late"), flags=["END_STREAM"]))
    assert event_types(events) == [StreamReset, MessageReceived, RequestEnded]
    assert events[0] == StreamReset(3, REFUSED_STREAM, False, "the connection is draining")
    assert not peer.server.should_close
    echo(peer.server, events)
    assert peer.server.should_close and not peer.server.closed
    peer.server.close()
    peer.read()
    assert len(peer.of(GoAwayFrame)) == 1  # close() does not repeat it


def test_the_peers_goaway_lets_streams_in_flight_finish() -> None:
    peer = RawPeer()
    peer.send(peer.request(1))
    events = peer.send(GoAwayFrame(0, last_stream_id=0, error_code=NO_ERROR, additional_data=b"bye"))
    assert events == [ConnectionTerminated(NO_ERROR, 0, True, "bye")]
    assert peer.server.busy and not peer.server.should_close
    peer.server.end_call(1)
    assert peer.server.should_close


def test_close_sends_goaway_once_and_ends_everything() -> None:
    peer = RawPeer()
    peer.send(peer.request(1))
    peer.server.close()
    peer.server.close()
    peer.read()
    assert len(peer.of(GoAwayFrame)) == 1 and peer.goaway_code() == NO_ERROR
    assert peer.server.closed and not peer.server.busy
    assert peer.send(DataFrame(1, grpc_frame(b"x"))) == []
    peer.server.send_message(1, b"x")
    assert peer.server.data_to_send() == b""


def test_the_peer_closing_the_connection_is_reported() -> None:
    server = ServerConnection(LIMITS)
    assert server.receive_data(b"") == [ConnectionTerminated(NO_ERROR, 0, True, "the peer closed the connection")]
    assert server.closed


# ---- misbehaviour: connection errors


def lower_stream_id(p: RawPeer) -> list[Frame | bytes]:
    return [p.request(5, GRPC_REQUEST_HEADERS, "END_STREAM"), p.request(3, GRPC_REQUEST_HEADERS, "END_STREAM")]


def headers_after_end_stream(p: RawPeer) -> list[Frame | bytes]:
    return [p.request(1, GET, "END_STREAM"), p.request(1, GET, "END_STREAM")]  # the 405 closed stream 1


def too_many_continuations(p: RawPeer) -> list[Frame | bytes]:
    filler = raw(0x9, 0, 1, b"\x00" * 16_000)
    return [raw(0x1, 0, 1, p.block()), *[filler] * 3]


def overrun_connection_window(p: RawPeer) -> list[Frame | bytes]:
    return [p.request(1).serialize(), raw(0x0, 0, 1, b"\x00" * 70_000)]  # 70,000 > 65,535


CONNECTION_ERRORS: dict[str, tuple[Callable[[RawPeer], list[Frame | bytes]], int, Limits]] = {
    "DATA on stream 0": (lambda p: [raw(0x0, 0, 0, b"x")], PROTOCOL_ERROR, LIMITS),
    "DATA on an idle stream": (lambda p: [DataFrame(1, b"x")], PROTOCOL_ERROR, LIMITS),
    "DATA on an even stream": (lambda p: [p.request(3), DataFrame(2, b"x")], PROTOCOL_ERROR, LIMITS),
    "RST_STREAM on an idle stream": (lambda p: [RstStreamFrame(1, 0x8)], PROTOCOL_ERROR, LIMITS),
    "RST_STREAM on stream 0": (lambda p: [raw(0x3, 0, 0, b"\0\0\0\x08")], PROTOCOL_ERROR, LIMITS),
    "RST_STREAM of 3 bytes": (lambda p: [p.request(1), raw(0x3, 0, 1, b"\0\0\x08")], FRAME_SIZE_ERROR, LIMITS),
    "WINDOW_UPDATE on an idle stream": (lambda p: [WindowUpdateFrame(1, 100)], PROTOCOL_ERROR, LIMITS),
    "WINDOW_UPDATE of 0 for the connection": (lambda p: [raw(0x8, 0, 0, b"\0\0\0\0")], PROTOCOL_ERROR, LIMITS),
    "WINDOW_UPDATE of 3 bytes": (lambda p: [raw(0x8, 0, 0, b"\0\0\x01")], FRAME_SIZE_ERROR, LIMITS),
    "connection window past 2^31-1": (
        lambda p: [WindowUpdateFrame(0, 2**31 - 1), WindowUpdateFrame(0, 2**31 - 1)],
        FLOW_CONTROL_ERROR,
        LIMITS,
    ),
    "CONTINUATION without HEADERS": (
        lambda p: [ContinuationFrame(1, p.block(), flags=["END_HEADERS"])],
        PROTOCOL_ERROR,
        LIMITS,
    ),
    "CONTINUATION on another stream": (
        lambda p: [raw(0x1, 0, 1, p.block()[:3]), raw(0x9, 0x4, 3, p.block()[3:])],
        PROTOCOL_ERROR,
        LIMITS,
    ),
    "a frame inside a header block": (
        lambda p: [raw(0x1, 0, 1, p.block()[:3]), PingFrame(0, b"12345678")],
        PROTOCOL_ERROR,
        LIMITS,
    ),
    "a header block beyond twice the header list limit": (too_many_continuations, PROTOCOL_ERROR, LIMITS),
    "HEADERS on stream 0": (lambda p: [raw(0x1, 0x4, 0, p.block())], PROTOCOL_ERROR, LIMITS),
    "HEADERS on an even stream": (lambda p: [p.request(2)], PROTOCOL_ERROR, LIMITS),
    "HEADERS on a lower stream id than one opened": (lower_stream_id, PROTOCOL_ERROR, LIMITS),
    "HEADERS on a stream closed after the client's END_STREAM": (headers_after_end_stream, STREAM_CLOSED, LIMITS),
    "HEADERS too short for its priority": (lambda p: [raw(0x1, 0x24, 1, b"\0\0\0")], FRAME_SIZE_ERROR, LIMITS),
    "a header block hpack cannot decode": (
        lambda p: [raw(0x1, 0x4, 1, b"\xff\xff\xff\xff\x0f")],
        COMPRESSION_ERROR,
        LIMITS,
    ),
    "padding longer than the frame": (lambda p: [p.request(1), raw(0x0, 0x8, 1, b"\x05ab")], PROTOCOL_ERROR, LIMITS),
    "PRIORITY on stream 0": (lambda p: [raw(0x2, 0, 0, b"\0\0\0\x01\x10")], PROTOCOL_ERROR, LIMITS),
    "PRIORITY of 4 bytes": (lambda p: [raw(0x2, 0, 1, b"\0\0\0\x03")], FRAME_SIZE_ERROR, LIMITS),
    "an idle stream depending on itself": (lambda p: [PriorityFrame(1, depends_on=1)], PROTOCOL_ERROR, LIMITS),
    "SETTINGS on a stream": (lambda p: [raw(0x4, 0, 1)], PROTOCOL_ERROR, LIMITS),
    "SETTINGS ACK with a payload": (lambda p: [raw(0x4, 0x1, 0, b"\0\x03\0\0\0\x01")], FRAME_SIZE_ERROR, LIMITS),
    "SETTINGS of 5 bytes": (lambda p: [raw(0x4, 0, 0, b"\0\x03\0\0\0")], FRAME_SIZE_ERROR, LIMITS),
    "SETTINGS_ENABLE_PUSH of 2": (lambda p: [SettingsFrame(0, settings={0x2: 2})], PROTOCOL_ERROR, LIMITS),
    "SETTINGS_INITIAL_WINDOW_SIZE past 2^31-1": (
        lambda p: [SettingsFrame(0, settings={0x4: 2**31})],
        FLOW_CONTROL_ERROR,
        LIMITS,
    ),
    "SETTINGS_INITIAL_WINDOW_SIZE overflowing an open stream's window": (
        lambda p: [p.request(1), WindowUpdateFrame(1, 2**31 - 1 - 65_535), SettingsFrame(0, settings={0x4: 65_536})],
        FLOW_CONTROL_ERROR,
        LIMITS,
    ),
    "SETTINGS_MAX_FRAME_SIZE below 16384": (
        lambda p: [SettingsFrame(0, settings={0x5: 16_383})],
        PROTOCOL_ERROR,
        LIMITS,
    ),
    "SETTINGS_MAX_FRAME_SIZE above 2^24-1": (
        lambda p: [SettingsFrame(0, settings={0x5: 2**24})],
        PROTOCOL_ERROR,
        LIMITS,
    ),
    "PING on a stream": (lambda p: [raw(0x6, 0, 1, b"12345678")], PROTOCOL_ERROR, LIMITS),
    "PING of 7 bytes": (lambda p: [raw(0x6, 0, 0, b"1234567")], FRAME_SIZE_ERROR, LIMITS),
    "GOAWAY on a stream": (lambda p: [raw(0x7, 0, 1, b"\0" * 8)], PROTOCOL_ERROR, LIMITS),
    "GOAWAY of 7 bytes": (lambda p: [raw(0x7, 0, 0, b"\0" * 7)], FRAME_SIZE_ERROR, LIMITS),
    "PUSH_PROMISE": (
        lambda p: [p.request(1), PushPromiseFrame(1, 2, p.block(), flags=["END_HEADERS"])],
        PROTOCOL_ERROR,
        LIMITS,
    ),
    "a frame over the advertised frame size": (
        lambda p: [raw(0x0, 0, 1, b"\0" * 16_385)[:64]],
        FRAME_SIZE_ERROR,
        Limits(max_message_bytes=100, max_frame_size=16_384),
    ),
    "the connection window overrun": (
        overrun_connection_window,
        FLOW_CONTROL_ERROR,
        Limits(max_message_bytes=1 << 20, receive_window=65_535),
    ),
}


@pytest.mark.parametrize(("frames", "code", "limits"), CONNECTION_ERRORS.values(), ids=CONNECTION_ERRORS.keys())
def test_connection_errors_send_goaway_with_their_code(
    frames: Callable[[RawPeer], list[Frame | bytes]], code: int, limits: Limits
) -> None:
    peer = RawPeer(limits)
    peer.send(*frames(peer))
    assert peer.goaway_code() == code
    assert isinstance(peer.events[-1], ConnectionTerminated) and not peer.events[-1].by_peer
    assert peer.events[-1].error_code == code
    assert peer.server.closed and peer.server.should_close and not peer.server.busy
    assert peer.send(PingFrame(0, b"12345678")) == []  # nothing more is taken
    assert not [f for f in peer.of(PingFrame) if "ACK" in f.flags]


PREFACE_ERRORS = {
    "not the preface": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "a preface cut short then wrong": PREFACE[:10] + b"X",
    "the preface without SETTINGS": PREFACE + PingFrame(0, b"12345678").serialize(),
    "the preface with a SETTINGS ACK": PREFACE + SettingsFrame(0, flags=["ACK"]).serialize(),
}


@pytest.mark.parametrize("data", PREFACE_ERRORS.values(), ids=PREFACE_ERRORS.keys())
def test_a_bad_connection_preface_is_a_protocol_error(data: bytes) -> None:
    peer = RawPeer(handshake=False)
    peer.send(data)
    assert peer.goaway_code() == PROTOCOL_ERROR and peer.server.closed


def test_the_last_stream_id_of_a_goaway_is_the_highest_opened() -> None:
    peer = RawPeer()
    peer.send(peer.request(1), peer.request(3), DataFrame(9, b"x"))
    (goaway,) = peer.of(GoAwayFrame)
    assert (goaway.last_stream_id, goaway.error_code) == (3, PROTOCOL_ERROR)


# ---- misbehaviour: stream errors (the connection serves on)


def stalled(p: RawPeer) -> list[Frame | bytes]:
    """A GET whose 405 answer waits for window: the stream stays half-closed (remote)."""
    return [SettingsFrame(0, settings={0x4: 0}), p.request(1, GET, "END_STREAM")]


STREAM_ERRORS: dict[str, tuple[Callable[[RawPeer], list[Frame | bytes]], int]] = {
    "uppercase header name": (lambda p: [p.request(1, with_header("X-Upper", "1"), "END_STREAM")], PROTOCOL_ERROR),
    "connection header": (lambda p: [p.request(1, with_header("connection", "close"), "END_STREAM")], PROTOCOL_ERROR),
    "te: gzip": (lambda p: [p.request(1, [*GRPC_REQUEST_HEADERS[:5], ("te", "gzip")], "END_STREAM")], PROTOCOL_ERROR),
    "unknown pseudo-header": (lambda p: [p.request(1, [(":foo", "x"), *GRPC_REQUEST_HEADERS])], PROTOCOL_ERROR),
    ":status in a request": (lambda p: [p.request(1, [(":status", "200"), *GRPC_REQUEST_HEADERS])], PROTOCOL_ERROR),
    "pseudo-header after a regular one": (
        lambda p: [p.request(1, [*GRPC_REQUEST_HEADERS[1:], (":method", "POST")])],
        PROTOCOL_ERROR,
    ),
    "no :scheme": (lambda p: [p.request(1, [h for h in GRPC_REQUEST_HEADERS if h[0] != ":scheme"])], PROTOCOL_ERROR),
    "no :method": (lambda p: [p.request(1, GRPC_REQUEST_HEADERS[1:])], PROTOCOL_ERROR),
    "empty :path": (
        lambda p: [p.request(1, [(":path", "") if h[0] == ":path" else h for h in GRPC_REQUEST_HEADERS])],
        PROTOCOL_ERROR,
    ),
    "repeated :path": (
        lambda p: [p.request(1, [*GRPC_REQUEST_HEADERS[:3], (":path", "/x"), *GRPC_REQUEST_HEADERS[3:]])],
        PROTOCOL_ERROR,
    ),
    "pseudo-header in trailers": (
        lambda p: [p.request(1), p.request(1, [(":path", "/")], "END_STREAM")],
        PROTOCOL_ERROR,
    ),
    "trailers without END_STREAM": (lambda p: [p.request(1), p.request(1, [("x-trailer", "1")])], PROTOCOL_ERROR),
    "a stream depending on itself (HEADERS)": (
        lambda p: [HeadersFrame(1, p.block(), flags=["END_HEADERS", "PRIORITY"], depends_on=1)],
        PROTOCOL_ERROR,
    ),
    "an open stream depending on itself (PRIORITY)": (
        lambda p: [p.request(1), PriorityFrame(1, depends_on=1)],
        PROTOCOL_ERROR,
    ),
    "content-length above the DATA": (
        lambda p: [p.request(1, with_header("content-length", "10")), DataFrame(1, b"x" * 9, flags=["END_STREAM"])],
        PROTOCOL_ERROR,
    ),
    "content-length below the DATA of several frames": (
        lambda p: [p.request(1, with_header("content-length", "5")), DataFrame(1, b"x" * 4), DataFrame(1, b"x" * 4)],
        PROTOCOL_ERROR,
    ),
    "content-length with no DATA": (
        lambda p: [p.request(1, with_header("content-length", "5"), "END_STREAM")],
        PROTOCOL_ERROR,
    ),
    "content-length then trailers early": (
        lambda p: [p.request(1, with_header("content-length", "5")), p.request(1, [("x-t", "1")], "END_STREAM")],
        PROTOCOL_ERROR,
    ),
    "WINDOW_UPDATE of 0 on a stream": (lambda p: [p.request(1), WindowUpdateFrame(1, 0)], PROTOCOL_ERROR),
    "stream window past 2^31-1": (lambda p: [p.request(1), WindowUpdateFrame(1, 2**31 - 1)], FLOW_CONTROL_ERROR),
    "DATA on a half-closed (remote) stream": (lambda p: [*stalled(p), DataFrame(1, b"x")], STREAM_CLOSED),
    "HEADERS on a half-closed (remote) stream": (
        lambda p: [*stalled(p), p.request(1, GET, "END_STREAM")],
        STREAM_CLOSED,
    ),
    "DATA on a closed stream": (lambda p: [p.request(1, GET, "END_STREAM"), DataFrame(1, b"x")], STREAM_CLOSED),
    "DATA after the client's RST_STREAM": (
        lambda p: [p.request(1), RstStreamFrame(1, 0x8), DataFrame(1, b"x")],
        STREAM_CLOSED,
    ),
    "HEADERS after the client's RST_STREAM": (
        lambda p: [p.request(1), RstStreamFrame(1, 0x8), p.request(1, GRPC_REQUEST_HEADERS, "END_STREAM")],
        STREAM_CLOSED,
    ),
    "a closed stream depending on itself": (
        lambda p: [p.request(1, GET, "END_STREAM"), PriorityFrame(1, depends_on=1)],
        PROTOCOL_ERROR,
    ),
}


@pytest.mark.parametrize(("frames", "code"), STREAM_ERRORS.values(), ids=STREAM_ERRORS.keys())
def test_stream_errors_reset_only_their_stream(frames: Callable[[RawPeer], list[Frame | bytes]], code: int) -> None:
    peer = RawPeer()
    peer.send(*frames(peer))
    assert peer.resets(1)[-1:] == [code]
    assert peer.still_serves()
    events = peer.send(peer.request(3), DataFrame(3, grpc_frame(b"ok"), flags=["END_STREAM"]))
    assert event_types(events) == [CallReceived, MessageReceived, RequestEnded]


def test_a_stream_error_found_here_is_reported() -> None:
    peer = RawPeer()
    events = peer.send(peer.request(1, with_header("X-Upper", "1")))
    assert len(events) == 1 and isinstance(events[0], StreamReset)
    assert (events[0].stream_id, events[0].error_code, events[0].by_peer) == (1, PROTOCOL_ERROR, False)
    assert "X-Upper" in events[0].detail


def test_a_refused_header_block_still_updates_the_dynamic_table() -> None:
    peer = RawPeer()
    # hpack indexes "x-shared: 1" in the refused block; the next block refers to that entry.
    peer.send(peer.request(1, [*with_header("X-Upper", "1"), ("x-shared", "1")], "END_STREAM"))
    events = peer.send(peer.request(3, with_header("x-shared", "1"), "END_STREAM"))
    assert event_types(events) == [CallReceived, RequestEnded]


# ---- frames that are accepted (RFC 9113 §5.1, §5.5)


ACCEPTED: dict[str, Callable[[RawPeer], list[Frame | bytes]]] = {
    "PRIORITY on an idle stream": lambda p: [PriorityFrame(9, depends_on=0, stream_weight=255)],
    "PRIORITY on a closed stream": lambda p: [p.request(1, GET, "END_STREAM"), PriorityFrame(1, depends_on=0)],
    "PRIORITY on an open stream": lambda p: [p.request(1), PriorityFrame(1, depends_on=0)],
    "WINDOW_UPDATE on a closed stream": lambda p: [p.request(1, GET, "END_STREAM"), WindowUpdateFrame(1, 1)],
    "RST_STREAM on a closed stream": lambda p: [p.request(1, GET, "END_STREAM"), RstStreamFrame(1, 0x8)],
    "WINDOW_UPDATE on a half-closed (remote) stream": lambda p: [*stalled(p), WindowUpdateFrame(1, 1)],
    "unknown frame types": lambda p: [raw(0xFA, 0, 0, b"whatever"), raw(0xFB, 0xFF, 1, b"x")],
    "unknown setting": lambda p: [SettingsFrame(0, settings={0x99: 7})],
    "padded DATA": lambda p: [p.request(1), DataFrame(1, grpc_frame(b"x"), flags=["PADDED"], pad_length=40)],
}


@pytest.mark.parametrize("frames", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_frames_that_are_accepted_leave_every_stream_alone(
    frames: Callable[[RawPeer], list[Frame | bytes]],
) -> None:
    peer = RawPeer()
    peer.send(*frames(peer))
    assert not [code for code in peer.resets() if code != NO_ERROR]
    assert peer.still_serves()


def test_padded_prioritised_headers_over_continuation_open_a_call() -> None:
    peer = RawPeer()
    block = peer.block()
    events = peer.send(
        HeadersFrame(1, block[:7], flags=["PADDED", "PRIORITY"], pad_length=13, depends_on=0, stream_weight=200),
        ContinuationFrame(1, block[7:15]),
        ContinuationFrame(1, block[15:], flags=["END_HEADERS"]),
        DataFrame(1, grpc_frame(b"m"), flags=["PADDED", "END_STREAM"], pad_length=31),
    )
    assert event_types(events) == [CallReceived, MessageReceived, RequestEnded]


def test_frames_the_client_sent_before_seeing_a_reset_are_discarded_until_it_ends() -> None:
    peer = RawPeer()
    peer.send(peer.request(1, with_header("X-Upper", "1")))  # reset by the server: PROTOCOL_ERROR
    assert peer.resets(1) == [PROTOCOL_ERROR]
    assert peer.send(DataFrame(1, b"in flight"), peer.request(1, [("x-t", "1")], "END_STREAM")) == []
    assert peer.resets(1) == [PROTOCOL_ERROR]  # discarded quietly
    peer.send(DataFrame(1, b"after its own END_STREAM"))
    assert peer.resets(1) == [PROTOCOL_ERROR, STREAM_CLOSED]


def test_how_streams_closed_is_remembered_for_the_last_1024() -> None:
    head = [(":method", "HEAD"), *GET[1:]]  # answered without content: no window needed
    recent, forgotten = RawPeer(), RawPeer()
    for peer in (recent, forgotten):
        for stream_id in range(1, 6001, 2):  # 3000 requests, each answered 405 and closed
            peer.send(peer.request(stream_id, head, "END_STREAM"))
        assert not peer.server.busy
    recent.send(recent.request(5999 - 2 * 1000, head, "END_STREAM"))
    assert recent.goaway_code() == STREAM_CLOSED  # known: closed after the client's END_STREAM
    forgotten.send(forgotten.request(1, head, "END_STREAM"))
    assert forgotten.goaway_code() == PROTOCOL_ERROR  # unknown: as if a lower id opened a stream
