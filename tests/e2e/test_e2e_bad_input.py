"""curl-style raw HTTP against the Envoy listener: every bad input gets a JSON error, spoofing fails."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest
from e2e_stack import Providers, Stack

pytestmark = pytest.mark.e2e

GOOD = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'


def send(
    stack: Stack, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", stack.listener_port, timeout=30)
    try:
        all_headers = {"content-type": "application/json", **(headers or {})}
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def error_of(body: bytes) -> dict[str, Any]:
    payload = json.loads(body)
    error: dict[str, Any] = payload["error"]
    assert {"message", "type", "code"} <= error.keys()
    return error


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "code"),
    [
        ("POST", "/v1/chat/completions", b"{not json", {}, 400, "invalid_json"),
        ("POST", "/v1/chat/completions", b'{"messages":[]}', {}, 400, "missing_required_parameter"),
        ("POST", "/v1/chat/completions", b"", {}, 400, "invalid_request_body"),
        ("POST", "/v1/chat/completions", b"[]", {}, 400, "invalid_request_body"),
        ("POST", "/v1/chat/completions", GOOD, {"x-model-affinity": "has spaces"}, 400, "invalid_affinity_id"),
        ("POST", "/v1/chat/completions", GOOD, {"x-model-affinity": "x" * 300}, 400, "invalid_affinity_id"),
        (
            "POST",
            "/v1/chat/completions",
            b'{"model":"acme/nope","messages":[]}',
            {},
            404,
            "model_not_found",
        ),
        ("POST", "/v1/embeddings", GOOD, {}, 404, "not_found"),
        ("GET", "/v1/chat/completions", None, {}, 405, "method_not_allowed"),
        ("DELETE", "/v1/models", None, {}, 405, "method_not_allowed"),
    ],
)
def test_bad_requests_get_openai_style_errors(
    transport_stack: Stack, method: str, path: str, body: bytes | None, headers: dict[str, str], status: int, code: str
) -> None:
    stack = transport_stack
    got_status, got_headers, got_body = send(stack, method, path, body, headers)
    assert got_status == status, got_body
    assert got_headers["content-type"] == "application/json"
    assert error_of(got_body)["code"] == code
    # brightstaff keeps serving every other request
    assert send(stack, "POST", "/v1/chat/completions", GOOD)[0] == 200


def test_oversized_body_is_413_json(stack: Stack) -> None:
    limit = 16 * 1024 * 1024
    huge = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' + b"x" * (limit + 1024) + b'"}]}'
    status, headers, body = send(stack, "POST", "/v1/chat/completions", huge)
    assert status == 413
    assert headers["content-type"] == "application/json"
    assert error_of(body)["code"] == "request_too_large"
    assert send(stack, "POST", "/v1/chat/completions", GOOD)[0] == 200


def test_large_agent_conversation_under_the_limit_is_served(stack: Stack) -> None:
    turns = [{"role": "user" if i % 2 else "assistant", "content": "context " * 5000} for i in range(150)]
    body = json.dumps({"model": "gpt-4o-mini", "messages": turns}).encode()
    assert 5 * 1024 * 1024 < len(body) < 16 * 1024 * 1024  # past Envoy's 1 MiB and grpcio's 4 MiB defaults
    status, headers, _ = send(stack, "POST", "/v1/chat/completions", body)
    assert status == 200
    assert headers["x-brightstaff-provider"]


def test_client_cannot_pick_the_cluster_with_the_internal_header(stack: Stack, providers: Providers) -> None:
    code_prompt = (
        b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Write a Python function that sorts a list."}]}'
    )
    status, headers, body = send(
        stack, "POST", "/v1/chat/completions", code_prompt, {"x-brightstaff-provider": "provider_openai_gpt-4o"}
    )
    assert status == 200
    assert headers["x-brightstaff-provider"] == "anthropic/claude-sonnet-4-20250514"
    assert json.loads(body)["model"] == "claude-sonnet-4-20250514"


def test_chunked_request_body_is_rewritten_with_a_content_length(stack: Stack, providers: Providers) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", stack.listener_port, timeout=30)
    try:
        conn.putrequest("POST", "/v1/chat/completions")
        conn.putheader("content-type", "application/json")
        conn.putheader("transfer-encoding", "chunked")
        conn.endheaders()
        for part in (GOOD[:20], GOOD[20:]):
            conn.send(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["model"] == "gpt-4o-mini"
    finally:
        conn.close()


def test_an_affinity_header_sent_twice_is_refused_not_joined(stack: Stack, providers: Providers) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", stack.listener_port, timeout=30)
    try:
        conn.putrequest("POST", "/v1/chat/completions")
        conn.putheader("content-type", "application/json")
        conn.putheader("content-length", str(len(GOOD)))
        conn.putheader("x-model-affinity", "a1")
        conn.putheader("x-model-affinity", "b2")
        conn.endheaders(GOOD)
        response = conn.getresponse()
        status, body = response.status, response.read()
    finally:
        conn.close()
    assert status == 400
    assert error_of(body)["code"] == "invalid_affinity_id"
    assert "must be sent once" in error_of(body)["message"]
