"""Errors a client may see: each carries its HTTP status and renders in the client's API dialect.

Only `ClientError` reaches a client. Anything else raised on the request path is logged and turned into
a generic 500 by the transport, so internal details (and secrets) never leak into a response.

Two dialects, one renderer each (`error_body`), used for brightstaff's own refusals and for provider
errors translated between APIs alike:
- `openai`: `{"error": {"message", "type", "param", "code"}}`.
- `anthropic`: `{"type": "error", "error": {"type", "message"}}`, the `type` chosen by status from the
  documented Anthropic error types (`anthropic_error_type`), since Anthropic bodies carry no code.
Both SDKs pick their exception class by HTTP status, so the status is never changed by a translation.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

Dialect = Literal["openai", "anthropic"]

# The documented Anthropic error type per status; any other 4xx is invalid_request_error, 5xx api_error.
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

# OpenAI's error type per status (when a body must be built for a status alone); the 5xx default is
# server_error, the 4xx default invalid_request_error (413 included: OpenAI has no size-specific type).
_OPENAI_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def anthropic_error_type(status: int) -> str:
    return _ANTHROPIC_TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")


def openai_error_type(status: int) -> str:
    return _OPENAI_TYPES.get(status) or ("server_error" if status >= 500 else "invalid_request_error")


def error_document(
    dialect: Dialect,
    status: int,
    message: str,
    *,
    type: str | None = None,
    code: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    """An error in `dialect`, as a JSON document. `type` defaults to the dialect's type for `status`; the
    Anthropic shape always takes its type from the status (its documented set), `code` and `param` are
    OpenAI's only. Envoy's own error replies are rendered from it too (proxy/local_replies.py)."""
    if dialect == "anthropic":
        return {"type": "error", "error": {"type": anthropic_error_type(status), "message": message}}
    error_type = type or openai_error_type(status)
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def error_body(
    dialect: Dialect,
    status: int,
    message: str,
    *,
    type: str | None = None,
    code: str | None = None,
    param: str | None = None,
) -> bytes:
    """An error body in `dialect` (`error_document`, serialized)."""
    return orjson.dumps(error_document(dialect, status, message, type=type, code=code, param=param))


class ClientError(Exception):
    """A request brightstaff refuses, with the status, `type` and `code` the OpenAI API would use."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str,
        type: str = "invalid_request_error",
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.type = type
        self.param = param

    def render(self, dialect: Dialect) -> bytes:
        """The error body in the client's API dialect."""
        return error_body(dialect, self.status, self.message, type=self.type, code=self.code, param=self.param)

    def to_json(self) -> bytes:
        """The OpenAI-shaped body (chat completions clients)."""
        return self.render("openai")

    def __repr__(self) -> str:
        return f"ClientError({self.status}, {self.code!r}, {self.message!r})"


# Client input quoted back in an error is cut to this many characters: a 1 MB model name must not
# become a 1 MB error (or a 1 MB log line).
ECHO_LIMIT = 96


def echo(text: str) -> str:
    """Client input as an error quotes it: at most ECHO_LIMIT characters, the cut marked."""
    if len(text) <= ECHO_LIMIT:
        return text
    return f"{text[:ECHO_LIMIT]}… ({len(text)} characters)"


def quote(value: object) -> str:
    """A client value quoted in an error message: its repr, cut as `echo` cuts."""
    return echo(repr(value))


def invalid_json(detail: str) -> ClientError:
    return ClientError(400, f"The request body is not valid JSON: {detail}", code="invalid_json")


def invalid_body(message: str, param: str | None = None) -> ClientError:
    return ClientError(400, message, code="invalid_request_body", param=param)


def missing_model() -> ClientError:
    return ClientError(400, "Missing required parameter: 'model'.", code="missing_required_parameter", param="model")


def unknown_model(model: str, configured: list[str]) -> ClientError:
    return ClientError(
        404,
        f"The model '{echo(model)}' is not configured. Configured models: {', '.join(configured)}.",
        code="model_not_found",
        param="model",
    )


def invalid_affinity_id(header: str, reason: str) -> ClientError:
    return ClientError(400, f"Invalid {header} header: {reason}", code="invalid_affinity_id", param=header)


def invalid_tenant(header: str, reason: str) -> ClientError:
    return ClientError(400, f"Invalid {header} header: {reason}", code="invalid_tenant", param=header)


def untranslatable(param: str, message: str) -> ClientError:
    """A valid request the provider's API cannot express: a 400 naming the field, never a silent drop."""
    return ClientError(400, f"{param}: {message}", code="unsupported_parameter", param=param)


def no_adapter(client_api: str, provider: str, backend_api: str) -> ClientError:
    return ClientError(
        400,
        f"The model '{provider}' speaks the {backend_api} API, which brightstaff cannot reach from {client_api} "
        "requests.",
        code="unsupported_api",
        param="model",
    )


def body_too_large(limit: int) -> ClientError:
    return ClientError(413, body_too_large_message(limit), code="request_too_large")


def body_too_large_message(limit: int) -> str:
    """The one wording of the body limit, brightstaff's 413 and Envoy's alike (proxy/local_replies.py)."""
    return f"The request body exceeds the limit of {limit} bytes."


def rewrite_too_large(limit: int, provider: str) -> ClientError:
    """A body within the client-side limit whose rewrite for the provider's API would pass Envoy's buffer."""
    return ClientError(
        413,
        f"The request, rewritten for the provider {echo(provider)}, would exceed {limit} bytes; send a smaller body.",
        code="request_too_large",
    )


def unsupported_content_encoding(encoding: str) -> ClientError:
    return ClientError(
        415,
        f"Content-Encoding {quote(encoding)} is not supported; send the body uncompressed or gzip-encoded.",
        code="unsupported_content_encoding",
        param="content-encoding",
    )


def not_found(method: str, path: str) -> ClientError:
    return ClientError(404, f"No route for {echo(method)} {echo(path)}.", code="not_found", type="not_found_error")


def method_not_allowed(method: str, path: str) -> ClientError:
    return ClientError(405, f"Method {echo(method)} is not allowed on {echo(path)}.", code="method_not_allowed")


def internal_error() -> ClientError:
    return ClientError(500, "brightstaff failed to process the request.", code="internal_error", type="server_error")
