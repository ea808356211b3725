"""Errors a client may see: each carries its HTTP status and renders as an OpenAI-style JSON body.

Only `ClientError` reaches a client. Anything else raised on the request path is logged and turned into
a generic 500 by the transport, so internal details (and secrets) never leak into a response.
"""

from __future__ import annotations

import orjson


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

    def to_json(self) -> bytes:
        return orjson.dumps(
            {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        )

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


def no_adapter(client_api: str, provider: str, backend_api: str) -> ClientError:
    return ClientError(
        400,
        f"The model '{provider}' speaks the {backend_api} API, which brightstaff cannot reach from {client_api} "
        "requests.",
        code="unsupported_api",
        param="model",
    )


def body_too_large(limit: int) -> ClientError:
    return ClientError(413, f"The request body exceeds the limit of {limit} bytes.", code="request_too_large")


def not_found(method: str, path: str) -> ClientError:
    return ClientError(404, f"No route for {echo(method)} {echo(path)}.", code="not_found", type="not_found_error")


def method_not_allowed(method: str, path: str) -> ClientError:
    return ClientError(405, f"Method {echo(method)} is not allowed on {echo(path)}.", code="method_not_allowed")


def internal_error() -> ClientError:
    return ClientError(500, "brightstaff failed to process the request.", code="internal_error", type="server_error")
