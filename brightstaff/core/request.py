"""What brightstaff knows about a request before it reads the body: plain data, no protobuf."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """The request line and the few headers brightstaff acts on (values as the client sent them)."""

    method: str
    path: str
    affinity: str | None = None  # raw X-Model-Affinity value, None when absent
    tenant: str | None = None  # raw tenant header value, None when absent or not configured
    has_body: bool = True
    request_id: str = "-"  # Envoy's x-request-id, for log lines
    # The affinity or tenant header sent more than once (HTTP allows it; a pin key cannot be two ids).
    affinity_repeated: bool = False
    tenant_repeated: bool = False
    # The agent-identity headers present (`core.affinity_sources.HARNESS_HEADERS`), as (lower-case name,
    # value) pairs in the order sent, repeats kept: the implicit affinity sources read them.
    identity_headers: tuple[tuple[str, str], ...] = ()
    # The client's W3C trace context, the parent of the decision span when tracing is on.
    traceparent: str | None = None
    # The body's Content-Encoding as it reaches brightstaff: Envoy decodes gzip before ext_proc, so any
    # other value (br, zstd, deflate) is a body brightstaff cannot read. None when absent.
    content_encoding: str | None = None
    # Which of the headers an adapter would add by default (`core.headers.DEFAULTED_REQUEST_HEADERS`) the
    # client sent itself: its own values are kept.
    sent_defaults: frozenset[str] = frozenset()

    @property
    def route_path(self) -> str:
        """The path without its query string."""
        return self.path.split("?", 1)[0]
