"""The routing service through Envoy: POST /routing/v1/... answers the decision, forwards nothing, shares pins."""

from __future__ import annotations

import http.client
import json
import uuid
from typing import Any

import pytest
from e2e_stack import Providers, Stack

pytestmark = pytest.mark.e2e

CODE = "Write a Python function for binary search"


def post(stack: Stack, path: str, body: dict[str, Any], **headers: str) -> tuple[int, dict[str, str], Any]:
    conn = http.client.HTTPConnection("127.0.0.1", stack.listener_port, timeout=30)
    try:
        conn.request("POST", path, body=json.dumps(body), headers={"content-type": "application/json", **headers})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read())
    finally:
        conn.close()


def test_the_decision_is_answered_and_nothing_reaches_a_provider(stack: Stack, providers: Providers) -> None:
    marker = f"marker-{uuid.uuid4()}"
    status, headers, answer = post(
        stack,
        "/routing/v1/chat/completions",
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"{CODE} {marker}"}]},
    )
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert answer["models"][0] == "anthropic/claude-sonnet-4-20250514"
    assert (answer["route"], answer["pinned"], answer["affinity"]) == ("code_generation", False, "none")
    assert "session_id" not in answer
    for fake in (providers.openai, providers.anthropic):
        assert not any(marker in str(r.body) for r in fake.received)


def test_a_session_pinned_by_the_service_is_served_by_its_model_when_proxied(stack: Stack) -> None:
    session = f"svc-{uuid.uuid4()}"
    _, _, first = post(
        stack,
        "/routing/v1/messages",
        {"model": "claude-x", "max_tokens": 64, "messages": [{"role": "user", "content": CODE}]},
        **{"X-Model-Affinity": session},
    )
    assert (first["session_id"], first["pinned"], first["affinity"]) == (session, False, "new")
    status, headers, _ = post(
        stack,
        "/v1/chat/completions",
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Explain the trade-offs in detail"}]},
        **{"X-Model-Affinity": session},
    )
    assert status == 200
    assert (headers["x-brightstaff-affinity"], headers["x-brightstaff-provider"]) == ("pinned", first["provider"])
    _, _, again = post(
        stack,
        "/routing/v1/responses",
        {"model": "gpt-4o-mini", "input": "hi there"},
        **{"X-Model-Affinity": session},
    )
    assert (again["pinned"], again["provider"]) == (True, first["provider"])
