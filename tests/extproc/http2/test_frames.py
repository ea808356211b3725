"""Frame bytes checked against hyperframe, an independent HTTP/2 frame implementation."""

from __future__ import annotations

import pytest
from hyperframe.frame import Frame, GoAwayFrame, RstStreamFrame, SettingsFrame, WindowUpdateFrame

from brightstaff.extproc.http2 import frames
from brightstaff.extproc.http2.frames import ProtocolViolation


def parsed(data: bytes) -> Frame:
    frame, length = Frame.parse_frame_header(memoryview(data[:9]))
    assert len(data) == 9 + length
    frame.parse_body(memoryview(data[9:]))
    return frame


def test_frame_header_round_trip() -> None:
    data = frames.frame(frames.DATA, frames.END_STREAM, 0x7FFFFFFF, b"x" * 70_000)
    assert frames.parse_frame_header(data, 0) == (70_000, frames.DATA, frames.END_STREAM, 0x7FFFFFFF)
    assert frames.frame_head(frames.DATA, frames.END_STREAM, 0x7FFFFFFF, 70_000) == data[:9]


def test_the_reserved_bit_of_a_stream_id_is_ignored() -> None:
    assert frames.parse_frame_header(b"\x00\x00\x00\x00\x00\x80\x00\x00\x03", 0)[3] == 3
    assert frames.read_stream_id(b"\xff\xff\xff\xff") == 0x7FFFFFFF


def test_control_frames_match_hyperframe() -> None:
    settings = parsed(frames.settings_frame({frames.MAX_CONCURRENT_STREAMS: 7, frames.INITIAL_WINDOW_SIZE: 1 << 24}))
    assert isinstance(settings, SettingsFrame)
    assert settings.settings == {SettingsFrame.MAX_CONCURRENT_STREAMS: 7, SettingsFrame.INITIAL_WINDOW_SIZE: 1 << 24}
    assert set(parsed(frames.SETTINGS_ACK).flags) == {"ACK"}
    update = parsed(frames.window_update(3, 1000))
    assert isinstance(update, WindowUpdateFrame)
    assert (update.stream_id, update.window_increment) == (3, 1000)
    reset = parsed(frames.rst_stream(5, frames.STREAM_CLOSED))
    assert isinstance(reset, RstStreamFrame)
    assert (reset.stream_id, reset.error_code) == (5, 0x5)
    goaway = parsed(frames.goaway(9, frames.PROTOCOL_ERROR))
    assert isinstance(goaway, GoAwayFrame)
    assert (goaway.stream_id, goaway.last_stream_id, goaway.error_code) == (0, 9, 0x1)


def test_settings_payload_parses_and_a_ragged_one_is_a_frame_size_error() -> None:
    payload = frames.settings_frame({frames.MAX_FRAME_SIZE: 1 << 20, 0x99: 1})[9:]
    assert frames.parse_settings(payload) == [(frames.MAX_FRAME_SIZE, 1 << 20), (0x99, 1)]
    with pytest.raises(ProtocolViolation) as error:
        frames.parse_settings(payload[:-1])
    assert error.value.code == frames.FRAME_SIZE_ERROR


PADDING = {
    "not padded": (b"abc", 0, b"abc"),
    "padded": (b"\x02abcXY", frames.PADDED, b"abc"),
    "padding only": (b"\x02XY", frames.PADDED, b""),
}


@pytest.mark.parametrize(("payload", "flags", "content"), PADDING.values(), ids=PADDING.keys())
def test_strip_padding(payload: bytes, flags: int, content: bytes) -> None:
    assert bytes(frames.strip_padding(memoryview(payload), flags)) == content


@pytest.mark.parametrize("payload", [b"", b"\x04abc", b"\x09"], ids=["empty", "as long as the frame", "longer"])
def test_padding_that_does_not_fit_is_a_protocol_error(payload: bytes) -> None:
    with pytest.raises(ProtocolViolation) as error:
        frames.strip_padding(memoryview(payload), frames.PADDED)
    assert error.value.code == frames.PROTOCOL_ERROR
