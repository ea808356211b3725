"""What `ServerConnection.receive_data` reports, in the order it happened on the wire.

Guarantees: events are immutable. A `MessageReceived.message` is a view into bytes that never change (the
data given to `receive_data`, or a message joined from several frames): it stays valid as long as it is
referenced, and parsing it in place copies nothing. Events about one stream come in stream order:
`CallReceived` first, then any `MessageReceived`, then at most one of `RequestEnded`, `StreamReset` or
`CallAborted` (or the connection's `ConnectionTerminated`).
"""

from __future__ import annotations

from typing import NamedTuple

from brightstaff.extproc.http2.request_headers import RequestHead


class CallReceived(NamedTuple):
    """A well-formed gRPC request's headers (POST, content-type application/grpc…) opened a stream."""

    stream_id: int
    head: RequestHead


class MessageReceived(NamedTuple):
    """One complete, uncompressed gRPC message of a call (without its 5-byte prefix)."""

    stream_id: int
    message: memoryview


class RequestEnded(NamedTuple):
    """The client half-closed the call (END_STREAM) on a message boundary: it sends no more messages."""

    stream_id: int


class StreamReset(NamedTuple):
    """The stream ended abnormally: reset by the client (`by_peer`), or by this side for a stream error."""

    stream_id: int
    error_code: int
    by_peer: bool
    detail: str


class CallAborted(NamedTuple):
    """The connection ended a call itself with a non-OK gRPC status (message too large, compressed,
    cut short, over the connection's buffer limit). Its trailers are already queued."""

    stream_id: int
    status: int
    detail: str


class WindowUpdated(NamedTuple):
    """The peer opened a send window (stream 0: the connection's); pending replies went out as it allowed."""

    stream_id: int
    increment: int


class ConnectionTerminated(NamedTuple):
    """The connection is over: a GOAWAY from the peer (`by_peer`; its streams in flight still finish), or
    a connection error found here (GOAWAY with `error_code` queued; every stream is gone)."""

    error_code: int
    last_stream_id: int
    by_peer: bool
    detail: str


Event = CallReceived | MessageReceived | RequestEnded | StreamReset | CallAborted | WindowUpdated | ConnectionTerminated
