"""What brightstaff tells Envoy to do with a request, as plain data: forward it (rewritten) or reply.

Invariants:
- A `Forward` carries everything Envoy must change before the request goes upstream: the body, the
  headers to set (the provider's routing header, `:path`, `content-length`, credentials) and to remove,
  and the decision metadata Envoy copies onto the response as `x-brightstaff-*` headers.
- `content-length` is always the length of the forwarded body: Envoy does not fix it after a body
  mutation (a stale length is a 500).
- The upstream request itself (path, credentials, body) comes from a provider adapter as an
  `UpstreamRequest`; this module only adds what every provider shares.
- A `Forward` whose `response` is set asks the transport to run the provider's response through that
  translator (the client and the provider speak different APIs); without it the response passes
  through Envoy untouched and brightstaff never sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from brightstaff.core.decision import Decision
from brightstaff.core.errors import ClientError, Dialect
from brightstaff.core.headers import PROVIDER_API_FIELD, PROVIDER_HEADER


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """A provider adapter's rewrite of a client request: the provider's path, headers and body."""

    path: str  # the upstream `:path`, query included
    set_headers: tuple[tuple[str, str], ...]  # credentials and any API-specific headers
    remove_headers: tuple[str, ...]  # client headers the provider must not see (client credentials)
    body: bytes
    # Set only when the client's request lacks them (`forward` drops those the client sent): defaults a
    # client may choose itself, such as the Anthropic API version.
    default_headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ResponseStart:
    """How a translator takes a response, decided from its status and headers.

    `streamed`: the body arrives and is translated chunk by chunk (SSE); otherwise it arrives whole
    (JSON answers and errors) and the transport sets `content-length` to the translated length.
    """

    streamed: bool
    set_headers: tuple[tuple[str, str], ...] = ()
    remove_headers: tuple[str, ...] = ()


class ResponseTranslator(Protocol):
    """One request's response, from the provider's API to the client's: pure, stateful across chunks.

    `start` is called once with the response status and headers (names lower-case); then `body` with
    every chunk in order (one call with the whole body when not streamed), the last with
    `end_of_stream`. Each call returns the bytes the client gets for that chunk (possibly empty). It
    never raises: a body it cannot read becomes an error in the client's API shape.
    """

    def start(self, status: int, headers: Mapping[str, str]) -> ResponseStart: ...

    def body(self, chunk: bytes, end_of_stream: bool) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Forward:
    """Send the request upstream with these edits. `metadata` becomes the response's decision headers."""

    body: bytes | None
    set_headers: tuple[tuple[str, str], ...]
    remove_headers: tuple[str, ...]
    metadata: tuple[tuple[str, str], ...]
    response: ResponseTranslator | None = None  # set when the response must be translated for the client
    default_headers: tuple[tuple[str, str], ...] = ()  # the defaults the client did not send (`forward`)


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer the client directly (errors, the model list, a local token count); the request never reaches
    a provider. `metadata`, when a decision was made (a token count brightstaff answers itself), becomes
    the decision headers as a `Forward`'s does."""

    status: int
    body: bytes
    content_type: str = "application/json"
    metadata: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_error(cls, error: ClientError, dialect: Dialect = "openai") -> Reply:
        return cls(status=error.status, body=error.render(dialect))


Outcome = Forward | Reply


def decision_metadata(decision: Decision, affinity_source: str | None = None) -> tuple[tuple[str, str], ...]:
    """The `x-brightstaff-*` response headers' values (see core.headers.RESPONSE_HEADERS), and the API the
    provider speaks (`PROVIDER_API_FIELD`: the dialect of Envoy's own error replies once routed)."""
    provider = decision.provider
    return (
        ("model", provider.model),
        ("provider", provider.name),
        ("affinity", decision.affinity.value),
        ("route", decision.route_label),
        ("affinity_source", affinity_source or "none"),
        (PROVIDER_API_FIELD, provider.api),
    )


def forward(
    decision: Decision,
    upstream: UpstreamRequest,
    response: ResponseTranslator | None = None,
    *,
    affinity_source: str | None = None,
    sent_defaults: frozenset[str] = frozenset(),
) -> Forward:
    """`sent_defaults`: the defaulted headers the client sent itself (`RequestFacts.sent_defaults`); the
    upstream's defaults for those are left out, since Envoy would overwrite the client's value with them."""
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
        metadata=decision_metadata(decision, affinity_source),
        response=response,
        default_headers=tuple(h for h in upstream.default_headers if h[0] not in sent_defaults),
    )
