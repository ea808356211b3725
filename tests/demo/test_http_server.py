"""The fakes' HTTP/1.1 server (brightstaff/demo/http_server.py): what it promises handlers and clients.

h11 does the parsing and framing; these tests cover what the module adds on top: limits, refusals as
the caller's error bodies, keep-alive and close, 100-continue, streaming, hang-ups, shutdown.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from loop_thread import LoopThread
from raw_http import exchange, get, parse_responses, post

from brightstaff.demo.http_server import HttpServer, Limits, Reply, Request, Response, StreamingResponse

TIMEOUT = 10


class Echo:
    """A handler that records requests and answers with what they asked for (by path)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.release = asyncio.Event()

    async def __call__(self, request: Request) -> Reply:
        self.requests.append(request)
        if request.path == "/hang-up":
            return None
        if request.path == "/raise":
            raise RuntimeError("handler bug")
        if request.path == "/stream":
            return StreamingResponse(200, [("content-type", "text/event-stream")], self._pieces())
        if request.path == "/wait":
            await self.release.wait()
        body = {"method": request.method, "target": request.target, "body": request.body.decode()}
        return Response(200, [("content-type", "application/json")], json.dumps(body).encode())

    async def _pieces(self) -> AsyncIterator[bytes]:
        for i in range(3):
            if i:
                await asyncio.sleep(0.1)
            yield f"data: {i}\n\n".encode()


def teapot_error(status: int, message: str) -> Response:
    return Response(status, [("x-refused-by", "test")], json.dumps({"status": status, "why": message}).encode())


LIMITS = Limits(max_head_bytes=4096, max_headers=20, max_body_bytes=1000, idle_timeout=5, linger_seconds=1)


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture
def handler() -> Echo:
    return Echo()


@pytest.fixture
def server(loop: LoopThread, handler: Echo) -> Iterator[HttpServer]:
    running = loop.run(HttpServer(handler, teapot_error, LIMITS).start())
    yield running
    loop.run(running.close())


def test_a_request_arrives_whole_with_its_headers_in_order(server: HttpServer, handler: Echo) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        conn.putrequest("POST", "/v1/x?a=1&b=2")
        for name, value in [("X-Seen", "one"), ("Content-Type", "text/plain"), ("x-seen", "two")]:
            conn.putheader(name, value)
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for piece in (b"hello ", b"chunked ", b"world"):
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        assert response.status == 200
        assert response.reason == "OK"
        assert json.loads(response.read())["body"] == "hello chunked world"
    finally:
        conn.close()
    [request] = handler.requests
    assert (request.method, request.target, request.path, request.query) == (
        "POST",
        "/v1/x?a=1&b=2",
        "/v1/x",
        "a=1&b=2",
    )
    assert request.http_version == "1.1"
    assert [k for k, _ in request.headers if k.startswith("x-")] == ["x-seen", "x-seen"]
    assert request.header("x-seen") == "one, two"
    assert request.header("missing") is None
    assert request.header_map()["content-type"] == "text/plain"


def test_keep_alive_serves_pipelined_requests_in_order_until_connection_close(
    server: HttpServer, handler: Echo
) -> None:
    data = get("/1") + post("/2", b"body") + get("/3", "Connection: close\r\n") + get("/never")
    answers = parse_responses(exchange(server.port, data, half_close=False))
    assert [json.loads(body)["target"] for _, _, body in answers] == ["/1", "/2", "/3"]
    assert [h.get("connection") for _, h, _ in answers] == [None, None, "close"]
    assert [r.path for r in handler.requests] == ["/1", "/2", "/3"]


def test_http_1_0_gets_one_answer_then_the_close(server: HttpServer) -> None:
    answers = parse_responses(
        exchange(server.port, b"GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n", half_close=False)
    )
    assert len(answers) == 1
    assert answers[0][1]["connection"] == "close"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        pytest.param(post("/p", b"x" * 1001), 413, id="announced-body-over-the-limit"),
        pytest.param(
            b"POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"1f4\r\n"
            + b"x" * 500
            + b"\r\n"
            + b"1f4\r\n"
            + b"x" * 500
            + b"\r\n0\r\n\r\n",
            200,
            id="chunked-body-at-the-limit",
        ),
        pytest.param(
            b"POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"3e9\r\n"
            + b"x" * 1001
            + b"\r\n0\r\n\r\n",
            413,
            id="chunked-body-over-the-limit",
        ),
        pytest.param(get("/g", "X-Many: 1\r\n" * 20), 431, id="too-many-header-fields"),
        pytest.param(b"GET /g HTTP/1.1\r\nX-Big: " + b"a" * 5000, 431, id="head-incomplete-past-the-limit"),
        pytest.param(
            b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n0\r\n\r\n",
            400,
            id="content-length-and-transfer-encoding",
        ),
        pytest.param(b"GET /g HTTP/1.1\r\n\r\n", 400, id="no-host"),
        pytest.param(b"this is not http\r\n\r\n", 400, id="not-a-request-line"),
        pytest.param(b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nshort", 400, id="body-cut-short"),
    ],
)
def test_refused_requests_get_the_callers_error_body_and_the_connection_closes(
    server: HttpServer, handler: Echo, request_bytes: bytes, status: int
) -> None:
    # Cut-short requests are cut by the client's close: nothing may follow them.
    follow = b"" if request_bytes.endswith((b"short", b"a" * 100)) else get("/after")
    answers = parse_responses(exchange(server.port, request_bytes + follow))
    if status == 200:  # the control case: at the limit is still served, and so is the next request
        assert [s for s, _, _ in answers] == [200, 200]
        assert len(handler.requests[0].body) == 1000
        return
    # The valid request after the refused one is never served: the connection closed after the error.
    [(got, headers, body)] = answers
    assert got == status
    assert headers["x-refused-by"] == "test"
    assert headers["connection"] == "close"
    assert json.loads(body)["status"] == status
    assert handler.requests == []


def test_expect_100_continue_is_answered_only_when_the_body_will_be_read(server: HttpServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"ping")
        sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    [(status, _, body)] = parse_responses(bytes(received))
    assert status == 200
    assert json.loads(body)["body"] == "ping"
    # Too large: refused straight away, without inviting the body first.
    refused = exchange(
        server.port, b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n"
    )
    assert refused.startswith(b"HTTP/1.1 413 ")


def test_a_failing_handler_is_a_500_and_a_none_answer_hangs_up(
    server: HttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    [(status, headers, body)] = parse_responses(exchange(server.port, get("/raise") + get("/after")))
    assert status == 500
    assert headers["connection"] == "close"
    assert json.loads(body)["status"] == 500
    assert "handler bug" in caplog.text
    assert exchange(server.port, get("/hang-up")) == b""


def test_head_gets_the_headers_without_the_body(server: HttpServer) -> None:
    raw = exchange(server.port, b"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n")
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert int(parse_responses(head + b"\r\n\r\n")[0][1]["content-length"]) > 0
    assert rest == b""


def test_a_stream_goes_out_chunk_by_chunk_as_it_is_produced(server: HttpServer) -> None:
    arrivals: list[tuple[float, bytes]] = []
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(get("/stream", "Connection: close\r\n"))
        while chunk := sock.recv(65536):
            arrivals.append((time.monotonic(), chunk))
    [(status, headers, body)] = parse_responses(b"".join(c for _, c in arrivals))
    assert status == 200
    assert headers["transfer-encoding"] == "chunked"
    assert "content-length" not in headers
    assert body == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
    # Buffered, it would all land at once; streamed, the pieces arrive across the handler's two pauses.
    assert len(arrivals) >= 3
    assert arrivals[-1][0] - arrivals[0][0] >= 0.15


def test_idle_connections_are_dropped(loop: LoopThread, handler: Echo) -> None:
    quick = loop.run(HttpServer(handler, limits=Limits(idle_timeout=0.2)).start())
    try:
        with socket.create_connection(("127.0.0.1", quick.port), timeout=TIMEOUT) as sock:
            sock.sendall(get("/1"))
            received = bytearray()
            while chunk := sock.recv(65536):  # ends only when the server closes (else the socket times out)
                received += chunk
        assert [status for status, _, _ in parse_responses(bytes(received))] == [200]
    finally:
        loop.run(quick.close())


def test_close_cancels_requests_in_flight_and_stops_listening(
    loop: LoopThread, server: HttpServer, handler: Echo
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(get("/wait"))
        deadline = time.monotonic() + TIMEOUT
        while not handler.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.open_connections == 1
        loop.run(server.close())
        assert sock.recv(65536) == b"", "the connection in flight was dropped"
    assert (server.open_connections, server.max_open_connections) == (0, 1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT).close()
