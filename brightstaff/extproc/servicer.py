"""The ExternalProcessor.Process stream logic (transport-independent) and its grpcio servicer.

Envoy sends the request headers, then (BUFFERED) the whole body in one message. brightstaff answers the
headers with a constant "continue" and decides on the body; a request without a body is decided on
its headers. Every message gets exactly one reply, so Envoy never waits for its message_timeout.

Once the decision is sent, brightstaff ends the stream itself (gRPC status OK). Envoy takes a server
close as "processing complete" and skips whatever it would still have sent (nothing, with response
modes SKIP/NONE), so no request changes. Waiting for Envoy's close instead costs one more gRPC receive
per request, and the RST_STREAM Envoy sends when the HTTP request ends (it still does, per its stats)
then cancels a handler that is still waiting instead of arriving after the call is complete.

`ProcessStream` holds that per-stream logic; both transports (grpcio here, the native HTTP/2 server in
`native_server.py`) feed it one message at a time, so they cannot drift apart.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any, NamedTuple

import grpc

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.core.errors import internal_error
from brightstaff.core.outcome import Reply
from brightstaff.core.request import RequestFacts
from brightstaff.extproc import codec
from brightstaff.server.handler import RequestHandler

log = logging.getLogger("brightstaff.extproc")

SERVICE = "envoy.service.ext_proc.v3.ExternalProcessor"
METHOD_PATH = f"/{SERVICE}/Process"


class Step(NamedTuple):
    """What to answer one message with: a reply ready now or a decision to await; `last` ends the stream."""

    reply: bytes | Coroutine[Any, Any, bytes]
    last: bool


class ProcessStream:
    """One ext_proc stream's state: the request facts seen so far."""

    __slots__ = ("_affinity_header", "_facts", "_handler", "_tenant_header")

    def __init__(self, handler: RequestHandler) -> None:
        self._handler = handler
        self._affinity_header = handler.config.server.affinity_header
        self._tenant_header = handler.config.routing.tenant_header
        self._facts: RequestFacts | None = None

    def receive(self, request: pb.ProcessingRequest) -> Step:
        kind = request.WhichOneof("request")
        if kind == "request_headers":
            headers = request.request_headers
            self._facts = codec.facts_from_headers(
                headers, affinity_header=self._affinity_header, tenant_header=self._tenant_header
            )
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


class ExtProcServicer:
    def __init__(self, handler: RequestHandler) -> None:
        self._handler = handler

    async def process(
        self,
        requests: AsyncIterator[pb.ProcessingRequest],
        context: grpc.aio.ServicerContext[pb.ProcessingRequest, bytes],
    ) -> AsyncIterator[bytes]:
        stream = ProcessStream(self._handler)
        requests = aiter(requests)
        async for request in requests:
            step = stream.receive(request)
            yield step.reply if isinstance(step.reply, bytes) else await step.reply
            if step.last:
                await _close(requests)
                return  # decided: end the stream (see the module docstring)


async def _close(requests: AsyncIterator[pb.ProcessingRequest]) -> None:
    """Close grpcio's request generator before leaving it unfinished.

    Left open, asyncio's async-generator finalizer closes it later in a task of its own: one more task
    per request.
    """
    aclose = getattr(requests, "aclose", None)
    if aclose is not None:
        await aclose()


def generic_handler(servicer: ExtProcServicer) -> grpc.GenericRpcHandler[pb.ProcessingRequest, bytes]:
    """Register `Process` without generated gRPC stubs; replies are pre-serialized bytes."""
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Process": grpc.stream_stream_rpc_method_handler(
                servicer.process,
                request_deserializer=pb.ProcessingRequest.FromString,
                response_serializer=None,  # the servicer yields bytes
            )
        },
    )
