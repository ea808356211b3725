"""What brightstaff tells Envoy to do with a request, as plain data: forward it (rewritten) or reply.

Invariants:
- A `Forward` carries everything Envoy must change before the request goes upstream: the body, the
  headers to set (the provider's routing header, `:path`, `content-length`, credentials) and to remove,
  and the decision metadata Envoy copies onto the response as `x-brightstaff-*` headers.
- `content-length` is always the length of the forwarded body: Envoy does not fix it after a body
  mutation (a stale length is a 500).
- The upstream request itself (path, credentials, body) comes from a provider adapter as an
  `UpstreamRequest`; this module only adds what every provider shares.
"""

from __future__ import annotations

from dataclasses import dataclass

from brightstaff.core.decision import Decision
from brightstaff.core.errors import ClientError
from brightstaff.core.headers import PROVIDER_HEADER


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """A provider adapter's rewrite of a client request: the provider's path, headers and body."""

    path: str  # the upstream `:path`, query included
    set_headers: tuple[tuple[str, str], ...]  # credentials and any API-specific headers
    remove_headers: tuple[str, ...]  # client headers the provider must not see (client credentials)
    body: bytes


@dataclass(frozen=True, slots=True)
class Forward:
    """Send the request upstream with these edits. `metadata` becomes the response's decision headers."""

    body: bytes | None
    set_headers: tuple[tuple[str, str], ...]
    remove_headers: tuple[str, ...]
    metadata: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer the client directly (errors, the model list); the request never reaches a provider."""

    status: int
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def from_error(cls, error: ClientError) -> Reply:
        return cls(status=error.status, body=error.to_json())


Outcome = Forward | Reply


def decision_metadata(decision: Decision) -> tuple[tuple[str, str], ...]:
    """The `x-brightstaff-*` response headers' values (see core.headers.RESPONSE_HEADERS)."""
    provider = decision.provider
    return (
        ("model", provider.model),
        ("provider", provider.name),
        ("affinity", decision.affinity.value),
        ("route", decision.route or decision.reason),
    )


def forward(decision: Decision, upstream: UpstreamRequest) -> Forward:
    headers = (
        (PROVIDER_HEADER, decision.provider.cluster),
        (":path", upstream.path),
        ("content-length", str(len(upstream.body))),
        *upstream.set_headers,
    )
    return Forward(
        body=upstream.body,
        set_headers=headers,
        remove_headers=upstream.remove_headers,
        metadata=decision_metadata(decision),
    )
