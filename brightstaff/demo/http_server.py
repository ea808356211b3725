"""The one HTTP/1.1 server of the demo's and the tests' fakes: h11 reads and frames, this module does the I/O.

What it guarantees to a handler and to clients:
- A handler gets one whole request at a time (`Request`: method, target, headers, body) and answers with a
  `Response`, a `StreamingResponse` (each piece its own HTTP chunk, flushed before the next is asked
  for), or None to hang up without an answer, like a crashed upstream.
- Keep-alive: a connection serves requests one after the other (pipelined ones wait their turn) until
  the client closes it, asks for `connection: close` or speaks HTTP/1.0 without keep-alive, or stays
  idle for `Limits.idle_timeout`.
- Limits: a request head still incomplete past `max_head_bytes`, or one with more than `max_headers`
  fields, gets 431; a body over `max_body_bytes` gets 413 (announced by Content-Length, or found while
  reading a chunked one); `Expect: 100-continue` gets its interim 100 only once the body will be read.
- Whatever h11 refuses (a malformed head or framing, a missing Host, a connection closed mid-request),
  a request with both Content-Length and Transfer-Encoding (a smuggling vector, RFC 9112 6.3), and
  whatever a handler raises, is answered with `error_response(status, message)` and `connection: close`.
- A close is clean: after the last answer the server shuts its side down and reads what the client
  still sends (bounded in time and bytes) before closing, so the kernel never turns unread input into
  a reset that destroys the answer in flight. `HttpServer.close` stops listening, then cancels every
  connection (streams in flight included) and waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import h11

log = logging.getLogger(__name__)

_READ_SIZE = 65536


@dataclass(frozen=True, slots=True)
class Limits:
    # Envoy forwards at most brightstaff's own body limit (16 MiB by default), so 32 MiB never refuses
    # a request brightstaff would have let through.
    max_head_bytes: int = 64 * 1024
    max_headers: int = 128
    max_body_bytes: int = 32 * 1024 * 1024
    # An idle keep-alive connection is dropped after this long, like real providers do, so a client
    # pool that never closes cannot pin server tasks forever.
    idle_timeout: float = 75.0
    # After the last answer, how long (and how much) the server still reads before it closes.
    linger_seconds: float = 2.0
    linger_max_bytes: int = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    target: str  # as sent: path and query
    headers: tuple[tuple[str, str], ...]  # lowercased names, in arrival order
    body: bytes
    http_version: str  # "1.1" or "1.0"

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]

    def header(self, name: str) -> str | None:
        """The field's value, repeated fields joined with ", " (RFC 9110 5.3); None when absent."""
        values = [v for k, v in self.headers if k == name]
        return ", ".join(values) if values else None

    def header_map(self) -> dict[str, str]:
        """Every field by lowercased name, repeated fields joined with ", "."""
        return {name: value for name in dict.fromkeys(k for k, _ in self.headers) if (value := self.header(name))}


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Sequence[tuple[str, str]] = ()  # content-length is added by the server
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class StreamingResponse:
    status: int
    headers: Sequence[tuple[str, str]]
    chunks: AsyncIterator[bytes]  # each one is written and flushed before the next is asked for


Reply = Response | StreamingResponse | None
Handler = Callable[[Request], Awaitable[Reply]]
ErrorResponder = Callable[[int, str], Response]


def json_response(status: int, value: object, headers: Sequence[tuple[str, str]] = ()) -> Response:
    return Response(status, [("content-type", "application/json"), *headers], json.dumps(value).encode())


def plain_error(status: int, message: str) -> Response:
    """The default answer to a refused request: `{"error": {"message": ...}}`."""
    return json_response(status, {"error": {"message": message}})


class _Refused(Exception):
    """A request the server will not hand to the handler; answered with `status`, then the connection closes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(eq=False)
class HttpServer:
    """An asyncio HTTP/1.1 server; `start` listens, `close` stops it and drops every connection."""

    handler: Handler
    error_response: ErrorResponder = plain_error
    limits: Limits = field(default_factory=Limits)
    host: str = "127.0.0.1"
    port: int = 0
    open_connections: int = 0
    max_open_connections: int = 0  # the most connections open at once since the start
    _server: asyncio.Server | None = field(default=None, repr=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> HttpServer:
        """Listen on host:port; port 0 picks a free port (read it back from `.port`)."""
        self._server = await asyncio.start_server(self._connection, host, port)
        self.host = host
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def close(self) -> None:
        """Stop listening, then cancel every connection task (streams included) and wait for them."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.open_connections += 1
        self.max_open_connections = max(self.max_open_connections, self.open_connections)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_head_bytes)
        try:
            await self._serve(conn, reader, writer)
        except (ConnectionError, h11.LocalProtocolError):
            pass  # the client went away, or the answer could not be framed: nothing more to say
        except asyncio.CancelledError:
            # Only close() cancels a connection. Ending quietly keeps asyncio's start_server from logging
            # the cancellation as an "unhandled exception in client_connected_cb".
            pass
        finally:
            self.open_connections -= 1
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _serve(self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                request = await self._read_request(conn, reader, writer)
            except _Refused as refused:
                await self._send(conn, writer, self._closing(self.error_response(refused.status, refused.message)))
                await self._linger(reader, writer)
                return
            if request is None:
                return
            try:
                reply = await self.handler(request)
            except Exception:
                log.exception("the handler failed on %s %s", request.method, request.target)
                reply = self._closing(self.error_response(500, "The server failed to answer this request."))
            if reply is None:
                return  # hang up without an answer
            await self._send(conn, writer, reply, head_only=request.method == "HEAD")
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                await self._linger(reader, writer)
                return
            conn.start_next_cycle()

    @staticmethod
    def _closing(response: Response) -> Response:
        return Response(response.status, [*response.headers, ("connection", "close")], response.body)

    async def _read_request(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> Request | None:
        """The next whole request; None when the client closed (or idled) between requests."""
        head: h11.Request | None = None
        body = bytearray()
        limits = self.limits
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                raise _Refused(exc.error_status_hint, f"Malformed request: {exc}.") from None
            if event is h11.NEED_DATA:
                if conn.they_are_waiting_for_100_continue:
                    # curl waits about a second for this before sending a large body on its own.
                    writer.write(
                        conn.send(h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")) or b""
                    )
                    await writer.drain()
                try:
                    data = await asyncio.wait_for(reader.read(_READ_SIZE), limits.idle_timeout)
                except TimeoutError:
                    return None
                conn.receive_data(data)
            elif isinstance(event, h11.Request):
                if len(event.headers) > limits.max_headers:
                    raise _Refused(431, f"More than {limits.max_headers} header fields.")
                names = {k for k, _ in event.headers}
                if b"transfer-encoding" in names and b"content-length" in names:
                    # RFC 9112 6.3 lets a server refuse both framings at once: it is how requests get smuggled.
                    raise _Refused(400, "Both Transfer-Encoding and Content-Length were sent.")
                length = _content_length(event)
                if length is not None and length > limits.max_body_bytes:
                    raise _Refused(413, f"Request body larger than {limits.max_body_bytes} bytes.")
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > limits.max_body_bytes:
                    raise _Refused(413, f"Request body larger than {limits.max_body_bytes} bytes.")
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                return Request(
                    method=head.method.decode("ascii"),
                    target=head.target.decode("latin-1"),
                    headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in head.headers),
                    body=bytes(body),
                    http_version=head.http_version.decode("ascii"),
                )
            else:  # ConnectionClosed between requests, or PAUSED (a protocol switch this server never agrees to)
                return None

    async def _send(
        self,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        reply: Response | StreamingResponse,
        *,
        head_only: bool = False,
    ) -> None:
        headers = list(reply.headers)
        if isinstance(reply, Response):
            headers.append(("content-length", str(len(reply.body))))
        head = conn.send(h11.Response(status_code=reply.status, headers=headers, reason=_reason(reply.status))) or b""
        if isinstance(reply, Response):
            # One write for the whole answer, so that it leaves in as few segments as it fits in.
            body = b""
            if reply.body and not head_only:
                body = conn.send(h11.Data(data=reply.body)) or b""
            writer.write(head + body + (conn.send(h11.EndOfMessage()) or b""))
            await writer.drain()
            return
        writer.write(head)
        await writer.drain()
        async for chunk in reply.chunks:
            if chunk and not head_only:
                # One HTTP chunk per piece, flushed before the next: what a proxy must pass on unbuffered.
                writer.write(conn.send(h11.Data(data=chunk)) or b"")
                await writer.drain()
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()

    async def _linger(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Half-close, then drop the client's leftovers until it closes too (bounded in bytes and time)."""
        with contextlib.suppress(OSError, TimeoutError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()
            async with asyncio.timeout(self.limits.linger_seconds):
                drained = 0
                while drained < self.limits.linger_max_bytes:
                    chunk = await reader.read(_READ_SIZE)
                    if not chunk:
                        return
                    drained += len(chunk)


def _content_length(request: h11.Request) -> int | None:
    # h11 has already refused a malformed or conflicting Content-Length; this only reads it.
    for name, value in request.headers:
        if name == b"content-length":
            return int(value)
    return None


def _reason(status: int) -> bytes:
    try:
        return http.HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""


async def serve_http(
    handler: Handler,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    error_response: ErrorResponder = plain_error,
    limits: Limits | None = None,
) -> HttpServer:
    """Start an `HttpServer` for `handler` on host:port (port 0 picks a free one)."""
    server = HttpServer(handler, error_response, limits or Limits())
    return await server.start(host, port)
