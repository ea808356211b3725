"""Held requests cannot deny service (issue 12, item 4), through the real Envoy.

Thousands of clients send their headers and part of a body (or part of their headers) and stop; one more
connection opens a thousand such streams over HTTP/2. Meanwhile every other client is served at once, and
each held request ends with a JSON 408 when its timer runs out. Before: each held request held an ext_proc
stream from its headers on, and past Envoy's default circuit breaker (1,024) everyone else got 503.

The scale is what one test machine allows in a bounded time: HELD connections (each a socket on both sides,
well under the file limit), all on 127.0.0.1.
"""

from __future__ import annotations

import json
import resource
import selectors
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import h2.config
import h2.connection
import h2.events
import pytest
from e2e_stack import Stack, StackFactory
from test_e2e_bad_input import GOOD, send

pytestmark = pytest.mark.e2e

HELD = 3000  # TCP connections holding a request: past Envoy's default ext_proc circuit breaker (1,024) threefold
HTTP2_STREAMS = 1024  # streams one HTTP/2 client tries to hold on ONE connection
HEADERS_TIMEOUT_MS = 4000
REQUEST_TIMEOUT_MS = 6000
CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def held_stack(make_stack: StackFactory) -> Stack:
    return make_stack(request_headers_timeout_ms=HEADERS_TIMEOUT_MS, request_timeout_ms=REQUEST_TIMEOUT_MS)


def head(content_length: int) -> bytes:
    return (
        f"POST {CHAT} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {content_length}\r\n\r\n"
    ).encode()


def hold(stack: Stack, count: int) -> Iterator[socket.socket]:
    """`count` connections: two in three send their headers and part of the body, the rest part of their
    headers; none sends more."""
    for i in range(count):
        sock = socket.create_connection(("127.0.0.1", stack.listener_port), timeout=10)
        sock.sendall(head(len(GOOD)) + GOOD[:10] if i % 3 else b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n")
        yield sock


def http2_held(stack: Stack) -> tuple[socket.socket, h2.connection.H2Connection, int]:
    """One HTTP/2 connection with HTTP2_STREAMS requests opened, each with part of its body sent: returns
    the socket, the connection and how many streams Envoy lets it have open at once."""
    sock = socket.create_connection(("127.0.0.1", stack.listener_port), timeout=10)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    settings_seen = False
    deadline = time.monotonic() + 10
    while not settings_seen and time.monotonic() < deadline:
        for event in conn.receive_data(sock.recv(65536)):
            settings_seen |= isinstance(event, h2.events.RemoteSettingsChanged)
        sock.sendall(conn.data_to_send())
    assert settings_seen, "Envoy sent no SETTINGS"
    allowed = conn.remote_settings.max_concurrent_streams
    opened = 0
    for _ in range(HTTP2_STREAMS):
        if conn.open_outbound_streams >= allowed:
            break  # a compliant client queues here: the server's limit holds
        stream = conn.get_next_available_stream_id()
        headers = [(":method", "POST"), (":path", CHAT), (":scheme", "http"), (":authority", "x")]
        conn.send_headers(stream, [*headers, ("content-type", "application/json")])
        conn.send_data(stream, GOOD[:10])
        opened += 1
    sock.sendall(conn.data_to_send())
    return sock, conn, opened


def served(stack: Stack) -> tuple[int, float]:
    started = time.monotonic()
    status, _, _ = send(stack, "POST", CHAT, GOOD)
    return status, time.monotonic() - started


def responses(socks: list[socket.socket], deadline: float) -> dict[socket.socket, bytes]:
    """Everything each socket receives until it is closed or `deadline`."""
    received = {sock: b"" for sock in socks}
    selector = selectors.DefaultSelector()
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    open_count = len(socks)
    while open_count and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(65536)
            except ConnectionError:
                data = b""
            received[sock] += data
            if not data:
                selector.unregister(sock)
                open_count -= 1
    selector.close()
    return received


def test_held_requests_do_not_starve_others_and_end_with_a_json_408(held_stack: Stack) -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft > 2 * HELD + 512, f"the file limit ({soft}) is too low for {HELD} held connections"
    started = time.monotonic()
    held = list(hold(held_stack, HELD))
    h2_sock, _, h2_opened = http2_held(held_stack)
    opened_s = time.monotonic() - started
    try:
        deadline = time.monotonic() + 20
        active = 0
        while time.monotonic() < deadline:
            active = held_stack.envoy.stats("http.brightstaff.downstream_cx_active").get(
                "http.brightstaff.downstream_cx_active", 0
            )
            if active >= HELD + 1:
                break
            time.sleep(0.1)
        assert active >= HELD + 1, f"Envoy holds {active} connections of {HELD + 1}"
        # Everyone else is served, at once, while all of those are held (and well before any timer fires).
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: served(held_stack), range(40)))
        assert [status for status, _ in results] == [200] * 40
        slowest = max(seconds for _, seconds in results)
        assert slowest < 2, f"a request took {slowest:.2f}s while {HELD} were held"
        assert time.monotonic() - started < HEADERS_TIMEOUT_MS / 1000 + opened_s

        # Each held request ends with a JSON 408 when its timer runs out, and the connection is closed.
        replies = responses(held, time.monotonic() + REQUEST_TIMEOUT_MS / 1000 + 15)
        statuses = [
            reply.split(b" ", 2)[1] if reply.startswith(b"HTTP/1.1 ") else reply[:20] for reply in replies.values()
        ]
        assert statuses.count(b"408") == HELD, {s: statuses.count(s) for s in set(statuses)}
        sample = next(iter(replies.values()))
        head_part, _, body = sample.partition(b"\r\n\r\n")
        assert b"content-type: application/json" in head_part.lower()
        assert json.loads(body)["error"]["code"] == "request_timeout"
        # The scale reached, for the record (pytest -s shows it).
        print(
            f"\nheld {HELD} TCP + {h2_opened} HTTP/2 streams (opened in {opened_s:.1f}s); 40 others served, "
            f"slowest {slowest:.3f}s; every held request ended 408 by {time.monotonic() - started:.1f}s"
        )
    finally:
        for sock in held:
            sock.close()
        h2_sock.close()
    # A client HTTP/2 connection holds at most Envoy's stream limit, never a thousand.
    assert h2_opened == 100
