"""Envoy's own error replies, rendered as JSON errors in the shape of the client's API.

Envoy answers some requests itself: a malformed request (400), one not received in time (408), a body
or headers too large (413, 431), brightstaff unreachable (500/503/504 from ext_proc), the provider
unreachable or too slow (503/504). Its default body is text; this module renders its
`local_reply_config` so that every one of them is a JSON error a client SDK can read.

Guarantees:
- brightstaff's own refusals (ext_proc ImmediateResponses, already JSON in the client's shape) are local
  replies too, and are left as they are: the first mapper matches their response details
  (`REPLY_DETAILS_PREFIX`) and stops the evaluation without changing anything.
- The shape is `core.errors.error_document`'s, in the dialect of the API whose error the body stands
  for: once brightstaff routed a request, the provider's API (the `PROVIDER_API_FIELD` of the decision
  metadata), since a translated request's response, local replies included, goes through the response
  translator, which reads the provider's errors and answers in the client's shape; before (or without)
  a decision, the client's API, told by its path (`ANTHROPIC_PATH_PREFIXES` are Anthropic's, any other
  path OpenAI's).
- Every local reply gets a JSON body: the cases below have their own message, any other status gets
  Envoy's own text as the message. The status code is never changed (SDKs pick their exception by it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brightstaff.config.model import ServerSettings
from brightstaff.core.errors import Dialect, body_too_large_message, error_document
from brightstaff.core.headers import METADATA_NAMESPACE, PROVIDER_API_FIELD, REPLY_DETAILS_PREFIX
from brightstaff.providers.endpoints import ANTHROPIC_PATH_PREFIXES

# Response flags of a request whose provider could not be reached (no healthy host, connection failure or
# reset, overflow, retry limit, max stream duration) or answered too late (UT).
UPSTREAM_FAILURE_FLAGS = ("UF", "UH", "URX", "UO", "UC", "UMSDR")
UPSTREAM_TIMEOUT_FLAGS = ("UT",)


def _cel(expression: str) -> dict[str, Any]:
    return {
        "extension_filter": {
            "name": "envoy.access_loggers.extension_filters.cel",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter",
                "expression": expression,
            },
        }
    }


def _status(op: str, value: int) -> dict[str, Any]:
    # The runtime key is required by the schema; no runtime layer sets it, so the default applies.
    comparison = {"op": op, "value": {"default_value": value, "runtime_key": f"brightstaff.local_reply_{value}"}}
    return {"status_code_filter": {"comparison": comparison}}


def _flags(flags: tuple[str, ...]) -> dict[str, Any]:
    return {"response_flag_filter": {"flags": list(flags)}}


def _all(filters: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    return filters[0] if len(filters) == 1 else {"and_filter": {"filters": list(filters)}}


# brightstaff's own replies: its ImmediateResponse details.
_BRIGHTSTAFF_REPLY = _cel(f"response.code_details.startsWith('{REPLY_DETAILS_PREFIX}')")

# Anthropic's shape: the decision says the provider speaks Anthropic's API, or, without a decision, the
# client asked for a path of Anthropic's API.
_DECIDED_API = f"metadata.filter_metadata['{METADATA_NAMESPACE}']['{PROVIDER_API_FIELD}']"
_ANTHROPIC_PATH = " || ".join(f"request.path.startsWith('{prefix}')" for prefix in ANTHROPIC_PATH_PREFIXES)
_ANTHROPIC = _cel(
    f"('{METADATA_NAMESPACE}' in metadata.filter_metadata"
    f" && '{PROVIDER_API_FIELD}' in metadata.filter_metadata['{METADATA_NAMESPACE}'])"
    f" ? {_DECIDED_API} == 'anthropic' : ({_ANTHROPIC_PATH})"
)


@dataclass(frozen=True)
class _Case:
    """One kind of local reply: which replies it matches, and the error they get. `status` picks the
    error type (both dialects type errors by status); the reply keeps its own status."""

    match: tuple[dict[str, Any], ...]  # all of these
    status: int
    message: str
    code: str


def _cases(server: ServerSettings) -> list[_Case]:
    headers_s = server.request_headers_timeout_ms / 1000
    request_s = server.request_timeout_ms / 1000
    details = "%RESPONSE_CODE_DETAILS%"
    unavailable = "brightstaff is unavailable; the request was not forwarded."
    return [
        _Case(
            (_status("EQ", 504), _flags(UPSTREAM_TIMEOUT_FLAGS)),
            504,
            "The provider did not answer in time.",
            "upstream_timeout",
        ),
        _Case(
            (_flags(UPSTREAM_FAILURE_FLAGS),),
            503,
            "The provider could not be reached: %LOCAL_REPLY_BODY%",
            details,
        ),
        _Case(
            (_status("EQ", 408),),
            408,
            f"The request was not received in time (its headers within {headers_s:g}s, "
            f"the whole request within {request_s:g}s).",
            "request_timeout",
        ),
        _Case((_status("EQ", 413),), 413, body_too_large_message(server.max_request_body_bytes), "request_too_large"),
        _Case((_status("EQ", 431),), 431, "The request headers are too large.", "request_headers_too_large"),
        _Case((_status("EQ", 400),), 400, f"The HTTP request is malformed ({details}).", "invalid_http_request"),
        _Case((_status("EQ", 504),), 504, unavailable, details),
        _Case((_status("GE", 500),), 503, unavailable, details),
        # Anything else Envoy answers itself: its own words, in JSON.
        _Case((_status("LE", 499),), 400, "%LOCAL_REPLY_BODY%", details),
    ]


def _mapper(case: _Case, dialect: Dialect, only: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    document = error_document(dialect, case.status, case.message, code=case.code)
    return {
        "filter": _all((*only, *case.match)),
        "body_format_override": {"json_format": document, "content_type": "application/json"},
    }


def local_reply_config(server: ServerSettings) -> dict[str, Any]:
    """The connection manager's `local_reply_config`: the mappers, first match wins."""
    keep_own = {"filter": _BRIGHTSTAFF_REPLY}  # matches and changes nothing: evaluation stops here
    cases = _cases(server)
    return {
        "mappers": [
            keep_own,
            *(_mapper(case, "anthropic", (_ANTHROPIC,)) for case in cases),
            *(_mapper(case, "openai") for case in cases),
        ]
    }
