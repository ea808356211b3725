"""The ExternalProcessor.Process stream logic, shared by both transports and free of grpcio.

Envoy sends the request headers, then (BUFFERED) the whole body in one message. brightstaff answers the
headers with a constant "continue" and decides on the body; a request without a body is decided on
its headers. Every message gets exactly one reply, so Envoy never waits for its message_timeout.

Once the decision is sent, the transport ends the stream itself (gRPC status OK): `Step.last`. Envoy
takes a server close as "processing complete" and skips whatever it would still have sent (nothing, with
response modes SKIP/NONE), so no request changes. Waiting for Envoy's close instead costs one more gRPC
receive per request, and the RST_STREAM Envoy sends when the HTTP request ends (it still does, per its
stats) then cancels a handler that is still waiting instead of arriving after the call is complete.

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
from brightstaff.core.outcome import Outcome, Reply
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
    """What to answer one message with: a reply ready now or a decision to await; `last` ends the stream."""

    reply: bytes | Coroutine[Any, Any, bytes]
    last: bool


class ProcessStream:
    """One ext_proc stream's state: the request facts seen so far."""

    __slots__ = ("_facts", "_handler", "_names")

    def __init__(self, handler: ExtProcHandler, names: HeaderNames) -> None:
        self._handler = handler
        self._names = names
        self._facts: RequestFacts | None = None

    def receive(self, request: pb.ProcessingRequest) -> Step:
        kind = request.WhichOneof("request")
        if kind == "request_headers":
            headers = request.request_headers
            names = self._names
            self._facts = codec.facts_from_headers(headers, affinity_header=names.affinity, tenant_header=names.tenant)
            if not headers.end_of_stream:
                return Step(codec.HEADERS_CONTINUE, last=False)
            return Step(self._decide_on_headers(self._facts), last=True)
        if kind == "request_body":
            if self._facts is None:
                # Envoy skips request headers (request_header_mode: SKIP): nothing to route on.
                log.error("request body arrived without request headers; set request_header_mode: SEND")
                return Step(codec.encode_body_reply(Reply.from_error(internal_error())), last=True)
            return Step(self._decide_on_body(self._facts, request.request_body.body), last=True)
        return Step(codec.passthrough(kind), last=False)

    async def _decide_on_headers(self, facts: RequestFacts) -> bytes:
        return codec.encode_headers_outcome(await self._handler.handle(facts, None)).SerializeToString()

    async def _decide_on_body(self, facts: RequestFacts, body: bytes) -> bytes:
        return codec.encode_body_reply(await self._handler.handle(facts, body))
