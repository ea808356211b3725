"""Held requests cannot deny service (issue 12, item 4), through the real Envoy.

Thousands of clients send their headers and part of a body (or part of their headers) and stop; one more
connection opens a thousand such streams over HTTP/2. Meanwhile every other client is served at once, and
each held request ends with a JSON 408 when its timer runs out. Before: each held request held an ext_proc
stream from its headers on, and past Envoy's default circuit breaker (1,024) everyone else got 503.

The scale is what the machine allows, bounded: up to MAX_HELD connections, each a socket in this process
and one in Envoy, so as many as half the open-file limit (raised to its hard limit) leaves room for; at
least MIN_HELD, past Envoy's default ext_proc circuit breaker (1,024), or the test fails saying why. All on
127.0.0.1.
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

MAX_HELD = 8000  # TCP connections holding a request, at most (8,000: 0.5 s to open, 1 s to answer here)
MIN_HELD = 1500
HTTP2_STREAMS = 1024  # streams one HTTP/2 client tries to hold on ONE connection
HEADERS_TIMEOUT_MS = 4000
REQUEST_TIMEOUT_MS = 6000
CHAT = "/v1/chat/completions"


def held_count() -> int:
    """How many connections to hold: the open-file limit raised as far as allowed (Envoy, started after,
    inherits it), half of it for each side, less room for everything else."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * MAX_HELD + 1024
    if soft < wanted and (hard == resource.RLIM_INFINITY or hard > soft):
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    held = min(MAX_HELD, (soft - 1024) // 2)
    assert held >= MIN_HELD, f"the open-file limit ({soft}) allows {held} held connections, fewer than {MIN_HELD}"
    return held


@pytest.fixture(scope="module")
def held_stack(make_stack: StackFactory) -> tuple[Stack, int]:
    held = held_count()
    return make_stack(request_headers_timeout_ms=HEADERS_TIMEOUT_MS, request_timeout_ms=REQUEST_TIMEOUT_MS), held


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


def http2_statuses(sock: socket.socket, conn: h2.connection.H2Connection, streams: int, deadline: float) -> list[int]:
    """The status of each of `streams` responses on the HTTP/2 connection, read until all came or `deadline`."""
    statuses: list[int] = []
    sock.settimeout(0.5)
    while len(statuses) < streams and time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                statuses.extend(int(value) for name, value in event.headers or () if name in (":status", b":status"))
        sock.sendall(conn.data_to_send())
    return statuses


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
            ready = key.fileobj
            assert isinstance(ready, socket.socket)
            try:
                data = ready.recv(65536)
            except ConnectionError:
                data = b""
            received[ready] += data
            if not data:
                selector.unregister(ready)
                open_count -= 1
    selector.close()
    return received


def test_held_requests_do_not_starve_others_and_end_with_a_json_408(held_stack: tuple[Stack, int]) -> None:
    stack, count = held_stack
    started = time.monotonic()
    held = list(hold(stack, count))
    h2_sock, h2_conn, h2_opened = http2_held(stack)
    opened_s = time.monotonic() - started
    try:
        deadline = time.monotonic() + 20
        active = 0
        while time.monotonic() < deadline:
            active = stack.envoy.stats("http.brightstaff.downstream_cx_active").get(
                "http.brightstaff.downstream_cx_active", 0
            )
            if active >= count + 1:
                break
            time.sleep(0.1)
        assert active >= count + 1, f"Envoy holds {active} connections of {count + 1}"
        # Everyone else is served, at once, while all of those are held (and well before any timer fires).
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: served(stack), range(40)))
        assert [status for status, _ in results] == [200] * 40
        slowest = max(seconds for _, seconds in results)
        assert slowest < 2, f"a request took {slowest:.2f}s while {count} were held"
        assert time.monotonic() - started < HEADERS_TIMEOUT_MS / 1000 + opened_s

        # Each held request ends with a JSON 408 when its timer runs out, and the connection is closed.
        replies = responses(held, time.monotonic() + REQUEST_TIMEOUT_MS / 1000 + 15)
        statuses = [
            reply.split(b" ", 2)[1] if reply.startswith(b"HTTP/1.1 ") else reply[:20] for reply in replies.values()
        ]
        assert statuses.count(b"408") == count, {s: statuses.count(s) for s in set(statuses)}
        for reply in replies.values():
            head_part, _, body = reply.partition(b"\r\n\r\n")
            assert b"content-type: application/json" in head_part.lower(), reply
            assert json.loads(body)["error"]["code"] == "request_timeout", reply
        assert http2_statuses(h2_sock, h2_conn, h2_opened, time.monotonic() + 10) == [408] * h2_opened
        # The scale reached, for the record (pytest -s shows it).
        print(
            f"\nheld {count} TCP + {h2_opened} HTTP/2 streams (opened in {opened_s:.1f}s); 40 others served, "
            f"slowest {slowest:.3f}s; every held request ended 408 by {time.monotonic() - started:.1f}s"
        )
    finally:
        for sock in held:
            sock.close()
        h2_sock.close()
    # A client HTTP/2 connection holds at most Envoy's stream limit, never a thousand.
    assert h2_opened == 100
