"""The grpcio transport (`brightstaff.transport: grpcio`): grpcio's asyncio server running `ProcessStream`.

The only module that imports grpcio; `server.py` imports it only when this transport is configured.
grpcio is gRPC's reference implementation, kept as the alternative to the native transport: both feed
the same `ProcessStream`, so their answers are identical.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.extproc.http2.connection import MAX_CONCURRENT_STREAMS
from brightstaff.extproc.process_stream import SERVICE, ExtProcHandler, HeaderNames, ProcessStream


class ExtProcServicer:
    def __init__(self, handler: ExtProcHandler, names: HeaderNames) -> None:
        self._handler = handler
        self._names = names

    async def process(
        self,
        requests: AsyncIterator[pb.ProcessingRequest],
        context: grpc.aio.ServicerContext[pb.ProcessingRequest, bytes],
    ) -> AsyncIterator[bytes]:
        stream = ProcessStream(self._handler, self._names)
        requests = aiter(requests)
        async for request in requests:
            step = stream.receive(request)
            yield step.reply if isinstance(step.reply, bytes) else await step.reply
            if step.last or (step.last is None and stream.finished):
                await _close(requests)
                return  # decided: end the stream (see process_stream.py)


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


def grpc_options(max_message_bytes: int) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        # Envoy keeps one long-lived HTTP/2 connection with many short streams: let it ping freely.
        ("grpc.http2.min_ping_interval_without_data_ms", 5000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.max_concurrent_streams", MAX_CONCURRENT_STREAMS),
        ("grpc.so_reuseport", 0),
    ]


async def start_grpc_server(
    handler: ExtProcHandler, names: HeaderNames, host: str, port: int, *, max_message_bytes: int
) -> tuple[grpc.aio.Server, int]:
    """Start serving; return the server and the bound port (useful when `port` is 0)."""
    server = grpc.aio.server(options=grpc_options(max_message_bytes))
    server.add_generic_rpc_handlers((generic_handler(ExtProcServicer(handler, names)),))
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port} for gRPC")
    await server.start()
    return server, bound
