"""What reaches the provider, through the real Envoy: no client copy of any `x-brightstaff-*` header, a gzip
body decoded (bounded by the body limit) and other encodings refused, and the body limit counted on the
body as the client sent it, not on brightstaff's rewrite of it (issue 12, items 7 and 9)."""

from __future__ import annotations

import gzip
import json
import uuid
import zlib

import pytest
from e2e_stack import Providers, Stack, StackFactory
from test_e2e_bad_input import GOOD, send
from test_e2e_local_replies import CHAT, MESSAGES, MESSAGES_BODY, shaped

pytestmark = pytest.mark.e2e

LIMIT = 64 * 1024  # max_request_body_bytes of the small stack


@pytest.fixture(scope="module")
def small(make_stack: StackFactory) -> Stack:
    return make_stack(max_request_body_bytes=LIMIT)


def chat(content: str, model: str = "gpt-4o-mini") -> bytes:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": content}]}).encode()


def received_with(providers: Providers, marker: str) -> list[dict[str, str]]:
    return [r.headers for r in providers.openai.received if marker in r.raw_body.decode(errors="replace")]


def test_no_client_copy_of_any_internal_header_reaches_the_provider(stack: Stack, providers: Providers) -> None:
    marker = f"hygiene-{uuid.uuid4()}"
    forged = {
        "x-brightstaff-provider": "provider_anthropic_claude-sonnet-4-20250514",
        "x-brightstaff-affinity": "forged-affinity",
        "x-brightstaff-route": "forged-route",
        "x-brightstaff-anything-new": "forged-new",
    }
    status, headers, body = send(stack, "POST", CHAT, chat(marker), forged)
    assert status == 200, body
    assert headers["x-brightstaff-provider"] == "openai/gpt-4o-mini"
    assert headers["x-brightstaff-affinity"] == "none"
    (received,) = received_with(providers, marker)
    assert not [name for name, value in received.items() if value.startswith("forged")], received
    assert "x-brightstaff-anything-new" not in received


def test_a_gzip_body_is_decoded_before_routing(stack: Stack, providers: Providers) -> None:
    marker = f"gzip-{uuid.uuid4()}"
    status, _, body = send(stack, "POST", CHAT, gzip.compress(chat(marker)), {"content-encoding": "gzip"})
    assert status == 200, body
    (received,) = received_with(providers, marker)
    assert "content-encoding" not in received


@pytest.mark.parametrize(("encoding", "compress"), [("deflate", zlib.compress), ("br", lambda b: b)])
@pytest.mark.parametrize(("path", "plain"), [(CHAT, GOOD), (MESSAGES, MESSAGES_BODY)])
def test_another_content_encoding_is_a_json_415(
    stack: Stack, encoding: str, compress: object, path: str, plain: bytes
) -> None:
    assert callable(compress)
    status, headers, body = send(stack, "POST", path, compress(plain), {"content-encoding": encoding})
    assert status == 415
    error = shaped(path, status, headers, body)
    assert encoding in error["message"]
    if path == CHAT:
        assert error["code"] == "unsupported_content_encoding"


def test_a_gzip_bomb_stops_at_the_body_limit(small: Stack) -> None:
    bomb = gzip.compress(chat("x" * (16 * LIMIT)))
    assert len(bomb) < LIMIT // 8
    status, headers, body = send(small, "POST", CHAT, bomb, {"content-encoding": "gzip"})
    assert status == 413
    assert f"limit of {LIMIT} bytes" in shaped(CHAT, status, headers, body)["message"]


def padded(size: int, model: str) -> bytes:
    """A chat request of exactly `size` bytes."""
    body = chat("", model)
    return chat("x" * (size - len(body)), model)


def test_a_body_within_the_limit_is_served_though_the_rewrite_grows_it(small: Stack, providers: Providers) -> None:
    """A model name brightstaff routes ("m") becomes the provider's ("gpt-4o-mini"): the rewrite is longer
    than the client's body, which is 5 bytes under the limit. Envoy refused it (413) after it was counted."""
    body = padded(LIMIT - 5, "m")
    assert len(body) == LIMIT - 5
    before = small.metric("brightstaff_requests_total")
    status, headers, reply = send(small, "POST", CHAT, body)
    assert status == 200, reply
    assert headers["x-brightstaff-model"] == "gpt-4o-mini"
    assert small.metric("brightstaff_requests_total") == before + 1


def test_a_body_over_the_limit_is_refused_and_not_counted_as_routed(small: Stack) -> None:
    before = small.metric("brightstaff_requests_total")
    refused = small.metric("brightstaff_client_errors_total", code="request_too_large")
    status, headers, reply = send(small, "POST", CHAT, padded(LIMIT + 1, "gpt-4o-mini"))
    assert status == 413
    assert shaped(CHAT, status, headers, reply)["code"] == "request_too_large"
    assert small.metric("brightstaff_requests_total") == before
    assert small.metric("brightstaff_client_errors_total", code="request_too_large") == refused + 1
