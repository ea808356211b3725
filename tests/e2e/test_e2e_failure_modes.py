"""When brightstaff is down or stuck: fail closed with a JSON 503 (default). Fail open: test_e2e_fail_open.py."""

from __future__ import annotations

import signal

import pytest
from e2e_stack import Stack, StackFactory
from test_e2e_bad_input import GOOD, error_of, send

pytestmark = pytest.mark.e2e


def test_fail_closed_answers_503_json_while_down_and_recovers(make_transport_stack: StackFactory) -> None:
    stack = make_transport_stack()
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


def test_sigterm_drains_and_exits_cleanly(make_transport_stack: StackFactory) -> None:
    stack: Stack = make_transport_stack()
    assert stack.stop_brightstaff(signal.SIGTERM) == 0
    assert "brightstaff stopped" in stack.brightstaff_log.read_text()
    stack.start_brightstaff()
