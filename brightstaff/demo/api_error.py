"""An API's refusal of a request, as the fakes' checks find it, before it is written in the API's error shape.

The checks (anthropic_checks.py, responses_wire.py) are pure functions that return an `ApiError` or None;
each fake writes it as its API does: `{"type":"error","error":{"type","message"}}` for Anthropic,
`{"error":{"message","type","param","code"}}` for OpenAI.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ApiError:
    status: int
    message: str
    kind: str | None = None  # the error `type`; None: the API's type for the status
    code: str | None = None  # OpenAI's `code`
    param: str | None = None  # OpenAI's `param`
