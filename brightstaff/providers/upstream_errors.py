"""A provider's error response, re-rendered in the client's API dialect.

Invariants:
- The status is never changed (both SDKs pick the exception class by status, and retry on 429/5xx);
  `retry-after` and the other response headers are not touched here (they pass through Envoy).
- Any body is accepted: an Anthropic error object, an OpenAI one, the shapes OpenAI-compatible servers
  use (`{"error": "text"}`, `{"message": ...}`, FastAPI's `{"detail": ...}`), or no JSON at all (an
  HTML or plain-text page from a proxy, an empty body): its message is kept, cut to 1,000 characters.
- Toward an OpenAI client the `type` is OpenAI's for the status and `code` keeps the provider's own
  error type (`overloaded_error`), so nothing the provider said is lost; toward an Anthropic client the
  type is the documented Anthropic type for the status (`core.errors.anthropic_error_type`).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson

from brightstaff.core.errors import Dialect, error_body

MAX_MESSAGE = 1000


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, (list, dict)) and value:
        return orjson.dumps(value).decode()
    return None


def read_error(body: bytes, status: int) -> tuple[str, str | None]:
    """(message, the provider's error type if it named one) of any error body."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        payload = None
    message: str | None = None
    error_type: str | None = None
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            message = _text(error.get("message"))
            error_type = error.get("type") if isinstance(error.get("type"), str) else None
        else:
            message = _text(error)
        message = message or _text(payload.get("message")) or _text(payload.get("detail"))
    if message is None:
        message = body.decode("utf-8", "replace").strip() or None
    if message is None:
        try:
            message = f"The provider answered {status} {HTTPStatus(status).phrase} with no body."
        except ValueError:
            message = f"The provider answered {status} with no body."
    return message[:MAX_MESSAGE], error_type


def translate_error(body: bytes, status: int, dialect: Dialect) -> bytes:
    """The provider's error body as the client's dialect renders it, for the same status."""
    message, provider_type = read_error(body, status)
    return error_body(dialect, status, message, code=provider_type)
