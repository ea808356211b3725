"""The SSE parser: golden framing cases, and the same events however the stream is cut into chunks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightstaff.providers.sse import SSEEvent, SSEOverflow, SSEParser, data, event


def parse(*chunks: bytes) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    return events + parser.finish()


CASES: list[tuple[str, bytes, list[SSEEvent]]] = [
    ("one data event", b"data: {}\n\n", [SSEEvent(None, b"{}")]),
    ("named event", b"event: ping\ndata: {}\n\n", [SSEEvent("ping", b"{}")]),
    ("no space after the colon", b"event:x\ndata:1\n\n", [SSEEvent("x", b"1")]),
    ("only one leading space dropped", b"data:  two\n\n", [SSEEvent(None, b" two")]),
    ("multi-line data joined with LF", b"data: a\ndata: b\n\n", [SSEEvent(None, b"a\nb")]),
    ("CRLF line ends", b"event: e\r\ndata: 1\r\n\r\ndata: 2\r\n\r\n", [SSEEvent("e", b"1"), SSEEvent(None, b"2")]),
    ("CR line ends", b"data: 1\r\rdata: 2\r\r", [SSEEvent(None, b"1"), SSEEvent(None, b"2")]),
    ("comments ignored", b": keep-alive\n\ndata: 1\n: mid\n\n", [SSEEvent(None, b"1")]),
    ("id and retry ignored", b"id: 7\nretry: 10\ndata: 1\n\n", [SSEEvent(None, b"1")]),
    ("empty data field", b"data\n\n", [SSEEvent(None, b"")]),
    ("extra blank lines", b"\n\n\ndata: 1\n\n\n\n", [SSEEvent(None, b"1")]),
    ("no final blank line is flushed", b"data: 1\n\ndata: [DONE]", [SSEEvent(None, b"1"), SSEEvent(None, b"[DONE]")]),
    ("a trailing CR ends the last line", b"data: 1\r", [SSEEvent(None, b"1")]),
    ("UTF-8 kept as bytes", 'data: {"t":"é日"}\n\n'.encode(), [SSEEvent(None, '{"t":"é日"}'.encode())]),
]


@pytest.mark.parametrize(("stream", "events"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_framing(stream: bytes, events: list[SSEEvent]) -> None:
    assert parse(stream) == events
    assert parse(*(stream[i : i + 1] for i in range(len(stream)))) == events


def test_a_crlf_split_between_chunks_is_one_line_end() -> None:
    assert parse(b"data: 1\r", b"\n\r", b"\ndata: 2\r\n\r\n") == [SSEEvent(None, b"1"), SSEEvent(None, b"2")]


def test_events_come_out_as_soon_as_they_are_complete() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: 1\n\ndata: ") == [SSEEvent(None, b"1")]
    assert parser.feed(b"2\n") == []
    assert parser.feed(b"\n") == [SSEEvent(None, b"2")]
    assert parser.finish() == []


def test_held_bytes_are_bounded() -> None:
    parser = SSEParser(max_held=64)
    parser.feed(b"data: " + b"x" * 50)
    with pytest.raises(SSEOverflow):
        parser.feed(b"x" * 20)
    bounded = SSEParser(max_held=64)
    with pytest.raises(SSEOverflow):
        bounded.feed(b"data: 1\n\n" + b"data: " + b"y" * 70)


def test_writers() -> None:
    assert event("ping", b'{"type":"ping"}') == b'event: ping\ndata: {"type":"ping"}\n\n'
    assert data(b"[DONE]") == b"data: [DONE]\n\n"


LINE_ENDS = st.sampled_from([b"\n", b"\r\n", b"\r"])
TEXT = st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=12)


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    """A stream of named and unnamed events with multi-byte text, comments and one line-end style."""
    end = draw(LINE_ENDS)
    out = b""
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            out += b": comment" + end
        if draw(st.booleans()):
            out += b"event: " + draw(TEXT).encode() + end
        for _ in range(draw(st.integers(1, 3))):
            out += b"data: " + draw(TEXT).encode() + end
        out += end
    return out


@settings(max_examples=200, deadline=None)
@given(stream=streams(), cuts=st.lists(st.integers(0, 10_000), max_size=12), trim=st.booleans())
def test_any_chunking_gives_the_same_events(stream: bytes, cuts: list[int], trim: bool) -> None:
    if trim:  # an upstream that ends without the final blank line
        stream = stream.rstrip(b"\r\n")
    points = sorted({c % (len(stream) + 1) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert parse(*chunks) == parse(stream)
