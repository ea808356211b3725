"""Start the configured ext_proc transport, sized for whole agent conversations.

`native` (the default) never imports grpcio: `grpcio_server` is imported only for `grpcio`.
"""

from __future__ import annotations

from typing import Protocol

from brightstaff.extproc.http2.connection import Limits
from brightstaff.extproc.native_server import NativeServer
from brightstaff.extproc.process_stream import ExtProcHandler, HeaderNames

# Envoy sends the BUFFERED body in one gRPC message; grpcio refuses messages over 4 MiB by default.
_GRPC_MESSAGE_HEADROOM = 64 * 1024


def max_message_bytes(max_body_bytes: int) -> int:
    """The largest gRPC message either transport accepts or sends: the body plus the message around it.
    `max_body_bytes` is Envoy's buffer limit (`ServerSettings.envoy_body_limit_bytes`), the largest body
    Envoy sends."""
    return max_body_bytes + _GRPC_MESSAGE_HEADROOM


class ExtProcServer(Protocol):
    """What the app needs of either transport's server."""

    async def stop(self, grace: float | None) -> None: ...


async def start_extproc_server(
    transport: str, handler: ExtProcHandler, names: HeaderNames, host: str, port: int, *, max_body_bytes: int
) -> tuple[ExtProcServer, int]:
    """Start the configured transport (`grpcio` or `native`); return the server and the bound port."""
    limit = max_message_bytes(max_body_bytes)
    if transport == "native":
        native = NativeServer(handler, names, Limits(max_message_bytes=limit))
        return native, await native.start(host, port)
    from brightstaff.extproc.grpcio_server import start_grpc_server  # grpcio is loaded only here

    return await start_grpc_server(handler, names, host, port, max_message_bytes=limit)
