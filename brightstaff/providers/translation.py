"""The frame every cross-API response translator shares: how a response is taken, and never raising.

Invariants (`Translator`, one per request, implementing `core.outcome.ResponseTranslator`):
- `start` picks the mode from the status and headers: a 2xx `text/event-stream` is STREAMED (each chunk
  is translated as it comes; `content-length` is removed, since the length changes); any other 2xx is
  a JSON answer and any other status an error, both taken whole (the transport restamps
  `content-length`) and answered with `content-type: application/json`. Other headers
  (`retry-after`, rate-limit headers, request ids) are not touched: they pass through Envoy.
- Streams go through one `SSEParser`, so the output does not depend on chunk boundaries. At end of
  stream the parser is flushed, then the subclass closes the stream in its client's dialect.
- A whole body is held until `end_of_stream` if it arrives in pieces after all.
- `body` never raises: a body that cannot be read (bad JSON, an event past the parser's bound, a bug)
  becomes an error in the client's dialect: an error body for JSON, an error event that ends the
  stream for SSE. After a stream has ended, later bytes are dropped.
- A compressed response cannot be read; translating adapters ask for `accept-encoding: identity`, and a
  response that is compressed anyway becomes an error in the client's dialect.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal

from brightstaff.core.errors import Dialect, error_body
from brightstaff.core.outcome import ResponseStart
from brightstaff.providers.sse import SSEEvent, SSEOverflow, SSEParser
from brightstaff.providers.upstream_errors import translate_error

log = logging.getLogger("brightstaff.translation")

Mode = Literal["sse", "json", "error", "unreadable"]

_JSON_HEADERS = (("content-type", "application/json"),)


class Translator:
    """Base of the cross-API translators: subclasses say how events, JSON answers and stream ends read."""

    dialect: Dialect  # the client's

    def __init__(self) -> None:
        self._mode: Mode = "json"
        self._status = 200
        self._held = bytearray()
        self._parser: SSEParser | None = None
        self.ended = False  # the client's stream has been closed (normally or by an error event)

    # -- ResponseTranslator ------------------------------------------------------------------------

    def start(self, status: int, headers: Mapping[str, str]) -> ResponseStart:
        self._status = status
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            self._mode = "unreadable"
            return ResponseStart(streamed=False, set_headers=_JSON_HEADERS, remove_headers=("content-encoding",))
        if not 200 <= status < 300:
            self._mode = "error"
            return ResponseStart(streamed=False, set_headers=_JSON_HEADERS)
        if headers.get("content-type", "").lower().startswith("text/event-stream"):
            self._mode = "sse"
            self._parser = SSEParser()
            return ResponseStart(streamed=True, remove_headers=("content-length",))
        self._mode = "json"
        return ResponseStart(streamed=False, set_headers=_JSON_HEADERS)

    def body(self, chunk: bytes, end_of_stream: bool) -> bytes:
        if self._parser is not None:
            return self._stream(self._parser, chunk, end_of_stream)
        self._held += chunk
        if not end_of_stream:
            return b""
        whole = bytes(self._held)
        self._held.clear()
        try:
            if self._mode == "json":
                return self.translate_json(whole)
            if self._mode == "error":
                return translate_error(whole, self._status, self.dialect)
            return error_body(self.dialect, 502, "The provider's response is compressed; brightstaff cannot read it.")
        except Exception:
            log.exception("could not translate a %s response body", self._mode)
            return error_body(self.dialect, 502, "brightstaff could not translate the provider's response.")

    # -- for subclasses ----------------------------------------------------------------------------

    def translate_json(self, body: bytes) -> bytes:
        """A whole 2xx JSON answer, in the client's API."""
        raise NotImplementedError

    def on_event(self, event: SSEEvent) -> bytes:
        """One provider event, as the client's bytes (possibly none)."""
        raise NotImplementedError

    def on_end(self) -> bytes:
        """The provider's stream ended: whatever the client still needs to see its stream close."""
        raise NotImplementedError

    def stream_error(self, message: str) -> bytes:
        """An error that ends the client's stream, in its dialect."""
        raise NotImplementedError

    # -- internals ---------------------------------------------------------------------------------

    def _stream(self, parser: SSEParser, chunk: bytes, end_of_stream: bool) -> bytes:
        if self.ended:
            return b""
        out: list[bytes] = []
        try:
            events = parser.feed(chunk) if chunk else []
            if end_of_stream:
                events += parser.finish()
            for event in events:
                out.append(self.on_event(event))
                if self.ended:
                    return b"".join(out)
            if end_of_stream:
                out.append(self.on_end())
        except SSEOverflow as exc:
            out.append(self._fail(str(exc)))
        except Exception:
            log.exception("could not translate a provider's stream event")
            out.append(self._fail("brightstaff could not translate the provider's stream."))
        return b"".join(out)

    def _fail(self, message: str) -> bytes:
        self.ended = True
        return self.stream_error(message)
