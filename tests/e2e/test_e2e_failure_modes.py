"""When brightstaff is down or stuck: fail closed with a JSON 503 (default) or fail open to the default model."""

from __future__ import annotations

import json
import signal
import uuid

import pytest
from e2e_stack import Providers, Stack, StackFactory
from test_e2e_bad_input import GOOD, error_of, send

pytestmark = pytest.mark.e2e


def test_fail_closed_answers_503_json_while_down_and_recovers(make_stack: StackFactory) -> None:
    stack = make_stack()
    assert send(stack, "POST", "/v1/chat/completions", GOOD)[0] == 200
    assert stack.stop_brightstaff() == 0
    status, headers, body = send(stack, "POST", "/v1/chat/completions", GOOD)
    assert status == 503
    assert headers["content-type"] == "application/json"
    assert error_of(body)["type"] == "server_error"
    stack.start_brightstaff()
    assert send(stack, "POST", "/v1/chat/completions", GOOD)[0] == 200


def test_stuck_brightstaff_hits_the_message_timeout_not_a_hang(make_stack: StackFactory) -> None:
    stack = make_stack(message_timeout_ms=500)
    assert stack.brightstaff is not None
    stack.brightstaff.send_signal(signal.SIGSTOP)
    try:
        status, headers, body = send(stack, "POST", "/v1/chat/completions", GOOD)
    finally:
        stack.brightstaff.send_signal(signal.SIGCONT)
    assert status in (503, 504)
    assert headers["content-type"] == "application/json"
    assert error_of(body)["type"] == "server_error"
    assert send(stack, "POST", "/v1/chat/completions", GOOD)[0] == 200


def test_fail_open_forwards_the_original_request_to_the_default_provider(
    make_stack: StackFactory, providers: Providers
) -> None:
    stack = make_stack(failure_mode="open")
    marker = f"fail-open-{uuid.uuid4()}"
    stack.stop_brightstaff()
    body = json.dumps({"model": "client-model", "messages": [{"role": "user", "content": f"Write code {marker}"}]})
    status, _, response = send(
        stack,
        "POST",
        "/v1/chat/completions",
        body.encode(),
        {"x-brightstaff-provider": "provider_anthropic_claude-sonnet-4-20250514"},
    )
    assert status == 200
    assert json.loads(response)["model"] == "client-model"  # untouched: brightstaff never saw it
    assert any(marker in str(r.body) for r in providers.openai.received)
    assert not any(marker in str(r.body) for r in providers.anthropic.received)
    stack.start_brightstaff()
    status, headers, _ = send(stack, "POST", "/v1/chat/completions", GOOD)
    assert status == 200
    assert headers["x-brightstaff-affinity"] == "none"


def test_sigterm_drains_and_exits_cleanly(make_stack: StackFactory) -> None:
    stack: Stack = make_stack()
    assert stack.stop_brightstaff(signal.SIGTERM) == 0
    assert "brightstaff stopped" in stack.brightstaff_log.read_text()
    stack.start_brightstaff()
