"""Error bodies in both client dialects: the documented type per status, the status itself never changed."""

from __future__ import annotations

import orjson
import pytest

from brightstaff.core.errors import (
    ClientError,
    anthropic_error_type,
    error_body,
    invalid_body,
    not_found,
    openai_error_type,
)
from brightstaff.core.outcome import Reply


@pytest.mark.parametrize(
    ("status", "anthropic", "openai"),
    [
        (400, "invalid_request_error", "invalid_request_error"),
        (401, "authentication_error", "authentication_error"),
        (402, "billing_error", "invalid_request_error"),
        (403, "permission_error", "permission_error"),
        (404, "not_found_error", "not_found_error"),
        (405, "invalid_request_error", "invalid_request_error"),
        (413, "request_too_large", "invalid_request_error"),
        (422, "invalid_request_error", "invalid_request_error"),
        (429, "rate_limit_error", "rate_limit_error"),
        (500, "api_error", "server_error"),
        (502, "api_error", "server_error"),
        (503, "api_error", "server_error"),
        (504, "timeout_error", "server_error"),
        (529, "overloaded_error", "server_error"),
    ],
)
def test_type_per_status(status: int, anthropic: str, openai: str) -> None:
    assert anthropic_error_type(status) == anthropic
    assert openai_error_type(status) == openai


def test_a_client_error_renders_in_either_dialect() -> None:
    error = invalid_body("messages.0.role: must be user or assistant.", param="messages.0.role")
    assert orjson.loads(error.render("openai")) == {
        "error": {
            "message": "messages.0.role: must be user or assistant.",
            "type": "invalid_request_error",
            "param": "messages.0.role",
            "code": "invalid_request_body",
        }
    }
    assert orjson.loads(error.render("anthropic")) == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "messages.0.role: must be user or assistant."},
    }
    assert error.to_json() == error.render("openai")


def test_the_anthropic_type_follows_the_status_not_the_openai_type() -> None:
    error = ClientError(404, "No route for POST /v2/x.", code="not_found", type="not_found_error")
    assert orjson.loads(error.render("anthropic"))["error"]["type"] == "not_found_error"
    too_large = ClientError(413, "too big", code="request_too_large")
    assert orjson.loads(too_large.render("anthropic"))["error"]["type"] == "request_too_large"


def test_replies_carry_the_dialect() -> None:
    assert orjson.loads(Reply.from_error(not_found("GET", "/x")).body)["error"]["code"] == "not_found"
    reply = Reply.from_error(not_found("GET", "/x"), "anthropic")
    assert (reply.status, orjson.loads(reply.body)["type"]) == (404, "error")


def test_error_body_defaults_the_openai_type_from_the_status() -> None:
    assert orjson.loads(error_body("openai", 429, "slow down", code="rate_limit_error")) == {
        "error": {"message": "slow down", "type": "rate_limit_error", "param": None, "code": "rate_limit_error"}
    }
