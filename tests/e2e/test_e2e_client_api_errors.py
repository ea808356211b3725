"""Errors through real Envoy in the dialect of the client's API, for Anthropic Messages and OpenAI Responses.

A provider's error keeps its status and `retry-after` and is re-rendered in the client's shape when the
backend speaks another API (the SDKs pick their exception class by status and retry on 429/5xx); a bad
request brightstaff refuses itself is a JSON error in the shape of the API it was sent to.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import openai
import pytest
from client_apis import CLAUDE, anthropic_client, openai_client
from e2e_stack import Stack
from openai.types.responses import ResponseFailedEvent

from brightstaff.demo.fake_backend import FAIL_HEADER

pytestmark = pytest.mark.e2e

NATIVE_ANTHROPIC = f"anthropic/{CLAUDE}"
OPENAI = "openai/gpt-4o"
STATUSES = [429, 529, 401]
ANTHROPIC_TYPES = {429: "rate_limit_error", 529: "overloaded_error", 401: "authentication_error"}
ANTHROPIC_CLASSES = {429: anthropic.RateLimitError, 529: anthropic.OverloadedError, 401: anthropic.AuthenticationError}
OPENAI_TYPES = {429: "rate_limit_error", 529: "server_error", 401: "authentication_error"}
OPENAI_CLASSES = {429: openai.RateLimitError, 529: openai.InternalServerError, 401: openai.AuthenticationError}
OPENAI_FAKE_MESSAGE = "Simulated failure of the fake openai provider."
CODE = "fake_failure"  # the OpenAI fake's code for a failure asked for


def _raised(call: Callable[[], object], expected: type[Exception]) -> Any:
    with pytest.raises(expected) as raised:
        call()
    return raised.value


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    return None if value is None else float(value)


@pytest.mark.parametrize("model", [OPENAI, NATIVE_ANTHROPIC], ids=["openai-translated", "anthropic-native"])
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_provider_errors_reach_an_anthropic_client_as_anthropic_errors(
    stack: Stack, model: str, status: int, stream: bool
) -> None:
    with anthropic_client(stack, headers={FAIL_HEADER: str(status)}) as claude:
        error = _raised(
            lambda: claude.messages.create(
                model=model, max_tokens=64, messages=[{"role": "user", "content": "hi"}], stream=stream
            ),
            ANTHROPIC_CLASSES[status],
        )
    assert error.status_code == status
    assert error.response.headers["content-type"].startswith("application/json")
    assert error.response.headers["x-brightstaff-provider"] == model
    if model == OPENAI:
        # Re-rendered from the OpenAI body: Anthropic's type for the status, the provider's message.
        assert error.body == {
            "type": "error",
            "error": {"type": ANTHROPIC_TYPES[status], "message": OPENAI_FAKE_MESSAGE},
        }
        # The OpenAI fake sends retry-after with its 429 only, as OpenAI does; it is kept.
        assert _retry_after(error.response.headers) == (1.0 if status == 429 else None)
    else:
        # Same API: Anthropic's own body, untouched (its request_id included), and its retry-after.
        assert error.body["type"] == "error" and error.body["error"]["type"] == ANTHROPIC_TYPES[status]
        assert error.body["request_id"].startswith("req_")
        assert _retry_after(error.response.headers) == (None if status == 401 else 1.0)


@pytest.mark.parametrize("model", [NATIVE_ANTHROPIC, OPENAI], ids=["anthropic-translated", "openai-native"])
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_provider_errors_reach_a_responses_client_as_openai_errors(
    stack: Stack, model: str, status: int, stream: bool
) -> None:
    with openai_client(stack, headers={FAIL_HEADER: str(status)}) as client:
        error = _raised(lambda: client.responses.create(model=model, input="hi", stream=stream), OPENAI_CLASSES[status])
    assert error.status_code == status
    assert error.response.headers["content-type"].startswith("application/json")
    assert error.response.headers["x-brightstaff-provider"] == model
    body = error.body  # the SDK hands over the `error` object of {"error": {...}}
    if model == NATIVE_ANTHROPIC:
        # Re-rendered from Anthropic's body: OpenAI's type for the status, Anthropic's own type as `code`.
        assert set(body) == {"message", "type", "param", "code"}
        assert (body["type"], body["code"], body["param"]) == (OPENAI_TYPES[status], ANTHROPIC_TYPES[status], None)
        assert body["message"] and "Simulated failure" not in body["message"]  # the Anthropic fake's wording
        assert _retry_after(error.response.headers) == (None if status == 401 else 1.0)
    else:
        assert body == {
            "message": OPENAI_FAKE_MESSAGE,
            "type": OPENAI_TYPES[status],
            "param": None,
            "code": "fake_failure",
        }
        assert _retry_after(error.response.headers) == (1.0 if status == 429 else None)


def post(stack: Stack, path: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        f"{stack.base_url}{path}",
        content=body,
        headers={"content-type": "application/json", **(headers or {})},
        timeout=30,
    )


MESSAGES_OK = json.dumps({"model": CLAUDE, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}).encode()
RESPONSES_OK = json.dumps({"model": "gpt-4o-mini", "input": "hi"}).encode()
BAD_INPUT = [
    ("malformed JSON", b'{"model": "x", "messages": [', {}, 400),
    ("not an object", b"[]", {}, 400),
    ("unknown model", None, {}, 404),
    ("bad affinity id", None, {"x-model-affinity": "has spaces"}, 400),
    ("affinity id too long", None, {"x-model-affinity": "x" * 300}, 400),
]


def bad_input_body(case: str, body: bytes | None, ok: bytes) -> bytes:
    """The case's own body, else the API's good body (with a model nobody serves for "unknown model")."""
    if body is not None:
        return body
    sent = json.loads(ok)
    return json.dumps({**sent, "model": "acme/nope"} if case == "unknown model" else sent).encode()


@pytest.mark.parametrize(("case", "body", "headers", "status"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_on_messages_is_an_anthropic_error(
    stack: Stack, case: str, body: bytes | None, headers: dict[str, str], status: int
) -> None:
    body = bad_input_body(case, body, MESSAGES_OK)
    response = post(stack, "/v1/messages", body, headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    payload = response.json()
    assert payload["type"] == "error"
    assert payload["error"]["type"] == {400: "invalid_request_error", 404: "not_found_error"}[status]
    assert isinstance(payload["error"]["message"], str) and payload["error"]["message"]
    assert post(stack, "/v1/messages", MESSAGES_OK).status_code == 200  # and serving goes on


@pytest.mark.parametrize(("case", "body", "headers", "status"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_on_responses_is_an_openai_error(
    stack: Stack, case: str, body: bytes | None, headers: dict[str, str], status: int
) -> None:
    body = bad_input_body(case, body, RESPONSES_OK)
    response = post(stack, "/v1/responses", body, headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"  # OpenAI's type for an unknown model's 404 too
    code = {
        "malformed JSON": "invalid_json",
        "not an object": "invalid_request_body",
        "unknown model": "model_not_found",
    }.get(case, "invalid_affinity_id")
    assert error["code"] == code
    assert post(stack, "/v1/responses", RESPONSES_OK).status_code == 200


def test_an_invalid_responses_field_is_named_in_the_error(stack: Stack) -> None:
    sent = {"model": "gpt-4o-mini", "input": [{"role": "user", "content": [{"type": "input_text", "text": 7}]}]}
    response = post(stack, "/v1/responses", json.dumps(sent).encode())
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "input[0].content[0].text"


def test_an_invalid_messages_field_is_refused_in_anthropic_shape(stack: Stack) -> None:
    sent = {"model": CLAUDE, "max_tokens": 16, "messages": [{"role": "robot", "content": "hi"}]}
    response = post(stack, "/v1/messages", json.dumps(sent).encode())
    assert response.status_code == 400
    payload = response.json()
    assert payload["type"] == "error" and payload["error"]["type"] == "invalid_request_error"
    assert payload["error"]["message"].startswith("messages.0.role: ")  # Anthropic's way of naming a field


@pytest.mark.parametrize("model", [OPENAI, NATIVE_ANTHROPIC], ids=["openai-translated", "anthropic-native"])
def test_a_stream_that_breaks_off_reaches_an_anthropic_client_as_an_error_event(stack: Stack, model: str) -> None:
    """After the 200 the status cannot change: the provider's mid-stream failure arrives as Anthropic's
    `event: error`, which the SDK raises, after the events that did arrive."""
    seen: list[str] = []
    with anthropic_client(stack, headers={FAIL_HEADER: "midstream"}) as claude:
        stream = claude.messages.create(
            model=model, max_tokens=256, messages=[{"role": "user", "content": "Tell me about heaps."}], stream=True
        )
        with pytest.raises(anthropic.APIStatusError) as broken:
            seen.extend(event.type for event in stream)  # what arrived stays, up to the raise
    assert seen[0] == "message_start" and "content_block_delta" in seen
    assert "message_stop" not in seen
    body = broken.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] in ("api_error", "overloaded_error")


@pytest.mark.parametrize("model", [NATIVE_ANTHROPIC, OPENAI], ids=["anthropic-translated", "openai-native"])
def test_a_stream_that_breaks_off_reaches_a_responses_client_as_response_failed(stack: Stack, model: str) -> None:
    with openai_client(stack, headers={FAIL_HEADER: "midstream"}) as client:
        events = list(client.responses.create(model=model, input="Tell me about heaps.", stream=True))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert "response.output_text.delta" in kinds
    assert kinds[-1] == "response.failed"
    assert "response.completed" not in kinds
    failed = events[-1]
    assert isinstance(failed, ResponseFailedEvent)
    assert failed.response.status == "failed"
    assert failed.response.error is not None
    assert [e.sequence_number for e in events] == list(range(len(events)))
