"""Envoy's own replies (malformed requests, limits, brightstaff or the provider unreachable) are JSON errors in
the shape of the client's API, and brightstaff's own refusals reach the client as brightstaff wrote them."""

from __future__ import annotations

import http.client
import json
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_stack import Providers, Stack, StackFactory, e2e_config, launch, retire
from test_e2e_bad_input import GOOD, send

from harness.free_port import free_port

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
MESSAGES_BODY = (
    b'{"model":"anthropic/claude-sonnet-4-20250514","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}'
)
LIMIT = 64 * 1024  # max_request_body_bytes of the small stack


def raw(stack: Stack, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (requests http.client would not write) and read one response."""
    with socket.create_connection(("127.0.0.1", stack.listener_port), timeout=30) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def shaped(path: str, status: int, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The error in `body`, checked to be JSON in the shape of the API `path` belongs to; returns its `error`."""
    assert headers.get("content-type") == "application/json", (status, headers, body)
    payload = json.loads(body)
    error: dict[str, Any] = payload["error"]
    if path.startswith(MESSAGES):
        assert payload["type"] == "error", payload
        assert set(error) == {"type", "message"}, payload
        if status in (500, 503):
            assert error["type"] == "api_error", payload
    else:
        assert set(error) == {"message", "type", "param", "code"}, payload
    assert error["message"], payload
    return error


@pytest.fixture(scope="module")
def small(make_stack: StackFactory) -> Stack:
    """A stack whose body limit is small enough to pass quickly."""
    return make_stack(max_request_body_bytes=LIMIT)


def test_a_malformed_request_head_is_a_json_400(stack: Stack) -> None:
    """Before its headers are whole, a request has no path, so no API: the OpenAI shape."""
    status, headers, body = raw(stack, f"POST {MESSAGES} HTTP/1.1\r\nhost: x\r\ncontent-length: zz\r\n\r\n".encode())
    assert status == 400
    shaped(CHAT, status, headers, body)


@pytest.mark.parametrize("path", [CHAT, MESSAGES])
def test_a_malformed_request_body_is_a_json_400_in_the_clients_shape(stack: Stack, path: str) -> None:
    head = f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    status, headers, body = raw(stack, head.encode() + b"2\r\n{}\r\nzz\r\n")
    assert status == 400
    shaped(path, status, headers, body)


@pytest.mark.parametrize("path", [CHAT, MESSAGES])
def test_headers_too_large_is_a_json_431(stack: Stack, path: str) -> None:
    """Refused before the headers are whole, so (like a malformed head) without a path: the OpenAI shape."""
    status, headers, body = send(stack, "POST", path, GOOD, {"x-padding": "a" * 70_000})
    assert status == 431
    shaped(CHAT, status, headers, body)


@pytest.mark.parametrize("path", [CHAT, MESSAGES])
def test_a_body_past_envoys_buffer_is_a_json_413(small: Stack, path: str) -> None:
    status, headers, body = send(small, "POST", path, b"x" * (3 * LIMIT))
    assert status == 413
    error = shaped(path, status, headers, body)
    assert f"limit of {LIMIT} bytes" in error["message"]


@pytest.mark.parametrize("path", [CHAT, MESSAGES])
def test_brightstaffs_own_413_keeps_the_clients_shape(small: Stack, path: str) -> None:
    """Between the limit and Envoy's buffer (room for the rewrite) brightstaff refuses the body itself."""
    body = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' + b"x" * LIMIT + b'"}]}'
    status, headers, reply = send(small, "POST", path, body)
    assert status == 413
    error = shaped(path, status, headers, reply)
    assert f"limit of {LIMIT} bytes" in error["message"]
    if path == MESSAGES:
        assert error["type"] == "request_too_large"


def test_brightstaffs_own_400_is_not_replaced(stack: Stack) -> None:
    status, headers, body = send(stack, "POST", MESSAGES, b"{not json")
    assert status == 400
    assert "not valid JSON" in shaped(MESSAGES, status, headers, body)["message"]


def test_http_1_0_is_served(stack: Stack) -> None:
    request = f"POST {CHAT} HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: {len(GOOD)}\r\n\r\n"
    status, headers, body = raw(stack, request.encode() + GOOD)
    assert status == 200, body
    assert json.loads(body)["object"] == "chat.completion"
    assert headers["x-brightstaff-provider"]


@pytest.mark.parametrize(("path", "body"), [(CHAT, GOOD), (MESSAGES, MESSAGES_BODY)])
def test_brightstaff_down_is_a_json_503_in_the_clients_shape(make_stack: StackFactory, path: str, body: bytes) -> None:
    stack = make_stack()
    stack.stop_brightstaff()
    status, headers, reply = send(stack, "POST", path, body)
    assert status == 503
    assert "brightstaff is unavailable" in shaped(path, status, headers, reply)["message"]


def test_brightstaff_stuck_is_a_json_error_in_the_clients_shape(make_stack: StackFactory) -> None:
    stack = make_stack(message_timeout_ms=300)
    assert stack.brightstaff is not None
    stack.brightstaff.send_signal(signal.SIGSTOP)
    try:
        status, headers, reply = send(stack, "POST", MESSAGES, MESSAGES_BODY)
    finally:
        stack.brightstaff.send_signal(signal.SIGCONT)
    assert status in (503, 504)
    shaped(MESSAGES, status, headers, reply)


def providers_on(providers: Providers, port: int) -> dict[str, Any]:
    """The e2e config with every provider at 127.0.0.1:`port`, under a base path that is not the client's."""
    config = e2e_config(providers.openai, providers.anthropic)
    for provider in config["model_providers"]:
        prefix = "/v1" if "openai" in provider["model"] else "/anthropic"
        provider["base_url"] = f"http://127.0.0.1:{port}{prefix}"
    return config


@pytest.fixture(scope="module")
def dead_providers(tmp_path_factory: pytest.TempPathFactory, providers: Providers) -> Iterator[Stack]:
    """A stack whose providers listen nowhere: every upstream connection is refused."""
    config = providers_on(providers, free_port())
    stack = launch(Path(tmp_path_factory.mktemp("dead")), config)
    yield stack
    retire(stack)


@pytest.mark.parametrize(
    ("path", "body", "provider"),
    [
        (CHAT, GOOD, "openai/gpt-4o-mini"),  # same API
        (MESSAGES, MESSAGES_BODY, "anthropic/claude-sonnet-4-20250514"),  # same API, another base path
        (MESSAGES, MESSAGES_BODY.replace(b"anthropic/claude-sonnet-4-20250514", b"gpt-4o-mini"), "openai/gpt-4o-mini"),
        (
            CHAT,
            GOOD.replace(b"gpt-4o-mini", b"anthropic/claude-sonnet-4-20250514"),
            "anthropic/claude-sonnet-4-20250514",
        ),
    ],
)
def test_an_unreachable_provider_is_a_json_503_in_the_clients_shape(
    dead_providers: Stack, path: str, body: bytes, provider: str
) -> None:
    status, headers, reply = send(dead_providers, "POST", path, body)
    assert status == 503
    assert headers["x-brightstaff-provider"] == provider
    assert "could not be reached" in shaped(path, status, headers, reply)["message"]


@pytest.fixture(scope="module")
def silent_providers(tmp_path_factory: pytest.TempPathFactory, providers: Providers) -> Iterator[Stack]:
    """A stack whose providers take the connection and never answer, and whose upstream timeout is 1 s.

    The kernel completes the handshake into the listening socket's backlog and buffers the request; nothing
    ever accepts it, so Envoy's route timeout (the listener's `timeout`) is what ends the request."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as silent:
        config = providers_on(providers, silent.getsockname()[1])
        config["listeners"][0]["timeout"] = "1s"
        stack = launch(Path(tmp_path_factory.mktemp("silent")), config)
        yield stack
        retire(stack)


@pytest.mark.parametrize(
    ("path", "body", "provider", "kind"),
    [
        (CHAT, GOOD, "openai/gpt-4o-mini", "upstream_timeout"),
        (MESSAGES, MESSAGES_BODY, "anthropic/claude-sonnet-4-20250514", "timeout_error"),
        # Routed to Anthropic: Envoy's reply is Anthropic's error, which the response translator turns into
        # chat's shape, its type becoming the code.
        (
            CHAT,
            GOOD.replace(b"gpt-4o-mini", b"anthropic/claude-sonnet-4-20250514"),
            "anthropic/claude-sonnet-4-20250514",
            "timeout_error",
        ),
    ],
)
def test_a_provider_that_does_not_answer_in_time_is_a_json_504_in_the_clients_shape(
    silent_providers: Stack, path: str, body: bytes, provider: str, kind: str
) -> None:
    status, headers, reply = send(silent_providers, "POST", path, body)
    assert status == 504
    assert headers["x-brightstaff-provider"] == provider
    error = shaped(path, status, headers, reply)
    assert error["message"] == "The provider did not answer in time."
    assert error["type" if path.startswith(MESSAGES) else "code"] == kind
