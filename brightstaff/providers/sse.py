"""Server-sent events: one incremental parser for every stream translator, and the writers they share.

Invariants of `SSEParser` (one per response):
- The events it yields do not depend on how the stream was cut into chunks: a boundary inside `data:`,
  inside the JSON, inside a UTF-8 character, or between the CR and LF of a CRLF gives the same events
  as the whole stream in one chunk. Bytes are only ever split at line ends (ASCII), so a partial UTF-8
  character simply waits in the buffer with the rest of its line.
- Lines end with LF, CRLF or CR (a CR at the end of a chunk is held until the next byte says which);
  an event ends at a blank line. `data` lines are joined with `\n` (the SSE spec; some gateways
  concatenate them); a single space after the colon is dropped; comment lines (`:`) and fields other
  than `event` and `data` are ignored; an event with neither is not yielded.
- At end of stream a final event without its blank line is still yielded (upstreams that end without
  the last `\n\n`).
- At most `max_held` bytes of one unfinished event are held; past that `feed` raises `SSEOverflow`
  (the translator turns it into an error in the client's dialect).
Cost: the work is `bytes.find`/`split`/`replace` over each chunk; Python code runs per line, never per
byte.
"""

from __future__ import annotations

from typing import NamedTuple

DEFAULT_MAX_HELD = 1024 * 1024  # one event; Anthropic's largest (a big tool input delta) is far smaller
_CR = b"\r"
_LF = b"\n"
_BLANK = b"\n\n"


class SSEEvent(NamedTuple):
    event: str | None  # the `event:` field, None when the event had none
    data: bytes  # the `data:` lines joined with `\n`, as bytes (JSON parsers read bytes directly)


class SSEOverflow(Exception):
    """An unfinished event grew past the parser's bound."""


class SSEParser:
    """Incremental SSE parsing: `feed` each chunk, then `finish` at end of stream."""

    __slots__ = ("_buffer", "_cr", "_max_held", "_scanned")

    def __init__(self, max_held: int = DEFAULT_MAX_HELD) -> None:
        self._buffer = bytearray()  # normalised (LF-only) bytes of events not yet complete
        self._scanned = 0  # how far `_buffer` is known to hold no blank line
        self._cr = False  # the last chunk ended in CR: a CRLF may be split across chunks
        self._max_held = max_held

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events completed by this chunk, in order."""
        if self._cr:
            self._cr = False
            chunk = _CR + chunk
        if _CR in chunk:
            if chunk.endswith(_CR):
                self._cr = True
                chunk = chunk[:-1]
            chunk = chunk.replace(b"\r\n", _LF).replace(_CR, _LF)
        buffer = self._buffer
        buffer += chunk
        end = buffer.rfind(_BLANK, max(self._scanned - 1, 0))
        if end < 0:
            self._scanned = len(buffer)
            if len(buffer) > self._max_held:
                raise SSEOverflow(f"an SSE event exceeded {self._max_held} bytes")
            return []
        complete = bytes(buffer[:end])
        del buffer[: end + 2]
        self._scanned = 0
        if len(buffer) > self._max_held:
            raise SSEOverflow(f"an SSE event exceeded {self._max_held} bytes")
        return _events(complete)

    def finish(self) -> list[SSEEvent]:
        """The events still held at end of stream, the last one even without its blank line."""
        self._cr = False  # a trailing CR was a line end
        rest = bytes(self._buffer)
        self._buffer.clear()
        self._scanned = 0
        return _events(rest)


def _events(text: bytes) -> list[SSEEvent]:
    """Every event in `text`: LF-only bytes of whole events separated by blank lines."""
    events: list[SSEEvent] = []
    for block in text.split(_BLANK):
        name: str | None = None
        data: list[bytes] = []
        for line in block.split(_LF):
            if line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
            elif line.startswith(b"event:"):
                value = line[6:]
                name = (value[1:] if value.startswith(b" ") else value).decode("utf-8", "replace")
            elif line == b"data":
                data.append(b"")
            elif line == b"event":
                name = ""
            # comments (":"), blank lines, `id`, `retry` and unknown fields carry nothing we use
        if data or name is not None:
            events.append(SSEEvent(name, _LF.join(data)))
    return events


def event(name: str, data: bytes) -> bytes:
    """One SSE event with an `event:` line (Anthropic streams)."""
    return b"event: " + name.encode() + b"\ndata: " + data + b"\n\n"


def data(payload: bytes) -> bytes:
    """One SSE event with only a `data:` line (OpenAI streams)."""
    return b"data: " + payload + b"\n\n"
