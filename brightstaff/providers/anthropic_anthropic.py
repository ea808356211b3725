"""Anthropic Messages client → Anthropic backend: the body passes through, `model` rewritten.

Invariants:
- Every field but `model` reaches the provider byte for byte, in the client's order: thinking blocks,
  `cache_control`, images, documents, server tools and fields brightstaff does not know included.
- The path is the provider's base path plus `/messages` (or `/messages/count_tokens`), with the client's
  query string kept (the SDK's `?beta=true`).
- The provider's key goes in `x-api-key`; client credentials are removed unless `passthrough_auth`.
- `anthropic-version` and `anthropic-beta` are the client's when it sent them: the SDKs and Claude Code
  always send the version they were built for, and a beta header names features the client opted
  into. Only when the client sent no version does brightstaff add `2023-06-01` (a default header,
  set only if absent), since the API refuses a request without one.
- The response is the client's API already: no translator, Envoy passes it through.
"""

from __future__ import annotations

from brightstaff.config import Provider
from brightstaff.core.messages import MessagesRequest, with_model
from brightstaff.core.outcome import UpstreamRequest
from brightstaff.providers.backends import (
    ANTHROPIC_VERSION,
    COUNT_TOKENS,
    MESSAGES,
    anthropic_credentials,
    upstream_path,
)


def _upstream(request: MessagesRequest, provider: Provider, endpoint: str, query: str) -> UpstreamRequest:
    set_headers, remove_headers = anthropic_credentials(provider)
    return UpstreamRequest(
        path=upstream_path(provider, endpoint, query),
        set_headers=set_headers,
        remove_headers=remove_headers,
        body=with_model(request, provider.model),
        default_headers=(ANTHROPIC_VERSION,),
    )


def request(
    messages: MessagesRequest, provider: Provider, query: str, *, cache_key: str | None = None
) -> UpstreamRequest:
    """`POST /v1/messages`. `cache_key` is not sent: Anthropic has no such parameter."""
    return _upstream(messages, provider, MESSAGES, query)


def count_tokens(
    messages: MessagesRequest, provider: Provider, query: str, *, cache_key: str | None = None
) -> UpstreamRequest:
    """`POST /v1/messages/count_tokens`, answered by the provider itself."""
    return _upstream(messages, provider, COUNT_TOKENS, query)
