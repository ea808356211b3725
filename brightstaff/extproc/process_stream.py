"""The ExternalProcessor.Process stream logic, shared by both transports and free of grpcio.

Envoy sends the request headers, then (BUFFERED) the whole body in one message. brightstaff answers the
headers with a constant "continue" (which also asks for the response headers, see below) and decides on
the body; a request without a body is decided on its headers. Every message gets exactly one reply, so
Envoy never waits for its message_timeout.

Once the decision is sent, the transport ends the stream itself (gRPC status OK): `Step.last`. Envoy
takes a server close as "processing complete" and skips whatever it would still have sent, so a request
whose client and provider speak one API costs its two messages and nothing more. Waiting for Envoy's
close instead costs one more gRPC receive per request, and the RST_STREAM Envoy sends when the HTTP
request ends (it still does, per its stats) then cancels a handler that is still waiting instead of
arriving after the call is complete.

A decision that carries a response translator (the client and the provider speak different APIs) keeps
the stream open instead: Envoy then sends the response headers, and brightstaff answers with the
translator's header edits and the body mode (STREAMED for SSE, each chunk answered with its translation;
BUFFERED for JSON and errors, the whole body answered with its translation and new length). The stream
ends with the body's last chunk.

The transports (native_server.py, grpcio_server.py) feed `ProcessStream` one message at a time, so they
cannot drift apart. It needs of brightstaff's request handler only `ExtProcHandler`, and the two header
names it reads from the request (`HeaderNames`).
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.core.errors import internal_error
from brightstaff.core.outcome import Forward, Outcome, Reply, ResponseTranslator
from brightstaff.core.request import RequestFacts
from brightstaff.extproc import codec

log = logging.getLogger("brightstaff.extproc")

SERVICE = "envoy.service.ext_proc.v3.ExternalProcessor"
METHOD_PATH = f"/{SERVICE}/Process"


class ExtProcHandler(Protocol):
    """What the stream logic needs of brightstaff's request handler: one decision per request, never raising."""

    async def handle(self, facts: RequestFacts, body: bytes | None) -> Outcome: ...


@dataclass(frozen=True, slots=True)
class HeaderNames:
    """The request headers the stream logic reads besides the pseudo-headers."""

    affinity: str
    tenant: str | None


class Step(NamedTuple):
    """What to answer one message with: a reply ready now or a decision to await; `last` ends the stream.

    `last` is None for a decision: whether the stream ends is known once it is made (`ProcessStream.finished`).
    """

    reply: bytes | Coroutine[Any, Any, bytes]
    last: bool | None


class ProcessStream:
    """One ext_proc stream's state: the request facts seen so far, and the response translator if any."""

    __slots__ = ("_buffered", "_facts", "_handler", "_names", "_translator", "finished")

    def __init__(self, handler: ExtProcHandler, names: HeaderNames) -> None:
        self._handler = handler
        self._names = names
        self._facts: RequestFacts | None = None
        self._translator: ResponseTranslator | None = None
        self._buffered = True
        self.finished = False  # after a decision: True unless the response is still to be translated

    def receive(self, request: pb.ProcessingRequest) -> Step:
        kind = request.WhichOneof("request")
        if kind == "request_headers":
            headers = request.request_headers
            names = self._names
            self._facts = codec.facts_from_headers(headers, affinity_header=names.affinity, tenant_header=names.tenant)
            if not headers.end_of_stream:
                return Step(codec.HEADERS_CONTINUE_WITH_RESPONSE, last=False)
            return Step(self._decide_on_headers(self._facts), last=True)
        if kind == "request_body":
            if self._facts is None:
                # Envoy skips request headers (request_header_mode: SKIP): nothing to route on.
                log.error("request body arrived without request headers; set request_header_mode: SEND")
                return Step(codec.encode_body_reply(Reply.from_error(internal_error())), last=True)
            return Step(self._decide_on_body(self._facts, request.request_body.body), last=None)
        translator = self._translator
        if translator is not None:
            if kind == "response_headers":
                return self._response_headers(translator, request.response_headers)
            if kind == "response_body":
                body = request.response_body
                out = translator.body(body.body, body.end_of_stream)
                return Step(codec.encode_response_body_reply(out, buffered=self._buffered), last=body.end_of_stream)
        return Step(codec.passthrough(kind), last=False)

    def _response_headers(self, translator: ResponseTranslator, headers: pb.HttpHeaders) -> Step:
        fields = {h.key: h.raw_value.decode("latin-1") for h in headers.headers.headers}
        try:
            status = int(fields.get(":status", "200"))
        except ValueError:
            status = 502
        start = translator.start(status, fields)
        self._buffered = not start.streamed
        reply = codec.encode_response_headers_reply(start, end_of_stream=headers.end_of_stream)
        return Step(reply, last=headers.end_of_stream)

    async def _decide_on_headers(self, facts: RequestFacts) -> bytes:
        return codec.encode_headers_outcome(await self._handler.handle(facts, None)).SerializeToString()

    async def _decide_on_body(self, facts: RequestFacts, body: bytes) -> bytes:
        outcome = await self._handler.handle(facts, body)
        if isinstance(outcome, Forward) and outcome.response is not None:
            self._translator = outcome.response  # the stream stays open for the response
        else:
            self.finished = True
        return codec.encode_body_reply(outcome)
