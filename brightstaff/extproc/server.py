"""The ext_proc servers, sized for whole agent conversations: the native transport (default) or grpc.aio."""

from __future__ import annotations

from typing import Protocol

import grpc

from brightstaff.extproc.native_server import NativeServer
from brightstaff.extproc.servicer import ExtProcServicer, generic_handler
from brightstaff.server.handler import RequestHandler

# Envoy sends the BUFFERED body in one gRPC message; grpcio refuses messages over 4 MiB by default.
_GRPC_MESSAGE_HEADROOM = 64 * 1024


def max_message_bytes(max_body_bytes: int) -> int:
    """The largest gRPC message either transport accepts or sends: the body plus the message around it."""
    return max_body_bytes + _GRPC_MESSAGE_HEADROOM


def grpc_options(max_body_bytes: int) -> list[tuple[str, int]]:
    limit = max_message_bytes(max_body_bytes)
    return [
        ("grpc.max_receive_message_length", limit),
        ("grpc.max_send_message_length", limit),
        # Envoy keeps one long-lived HTTP/2 connection with many short streams: let it ping freely.
        ("grpc.http2.min_ping_interval_without_data_ms", 5000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.max_concurrent_streams", 1024),
        ("grpc.so_reuseport", 0),
    ]


async def start_grpc_server(
    servicer: ExtProcServicer, host: str, port: int, *, max_body_bytes: int
) -> tuple[grpc.aio.Server, int]:
    """Start serving; return the server and the bound port (useful when `port` is 0)."""
    server = grpc.aio.server(options=grpc_options(max_body_bytes))
    server.add_generic_rpc_handlers((generic_handler(servicer),))
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port} for gRPC")
    await server.start()
    return server, bound


class ExtProcServer(Protocol):
    """What the app needs of either transport's server."""

    async def stop(self, grace: float | None) -> None: ...


async def start_extproc_server(
    transport: str, handler: RequestHandler, host: str, port: int, *, max_body_bytes: int
) -> tuple[ExtProcServer, int]:
    """Start the configured transport (`grpcio` or `native`); return the server and the bound port."""
    if transport == "native":
        native = NativeServer(handler, max_message_bytes=max_message_bytes(max_body_bytes))
        return native, await native.start(host, port)
    return await start_grpc_server(ExtProcServicer(handler), host, port, max_body_bytes=max_body_bytes)
