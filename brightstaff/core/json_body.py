"""A JSON request body split into its top-level fields, or the client error that says what is wrong with it.

Invariants:
- `split_object` accepts exactly the bodies that are one well-formed JSON object in valid UTF-8 (strings
  inside skipped values are checked too), and returns each top-level field as its raw JSON bytes, in the
  client's order. Anything else raises a 400 `ClientError` whose message says what is wrong and where
  (the byte offset), without echoing the body.
- `with_field` writes the fields back, one replaced, every other field byte for byte.
- `required_model`, `is_true` and `starts_with` read single fields the same way for every client API's
  parser (chat completions, Anthropic Messages, Responses), decoding nothing else.
- `ParsedBody` is what a parser returns beneath its API's own class: the fields, `model`, `stream`, and
  each other field decoded once, on first use (`decoded`). A parser may defer its content checks to
  the body's first read: `decoded` runs them before it decodes anything, so nothing reads an unchecked
  field through it; a check that fails raises its 400 again on every read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec
import orjson

from brightstaff.core.errors import invalid_body, invalid_json, missing_model

Fields = dict[str, msgspec.Raw]
Check = Callable[[Fields], None]  # raises a ClientError for fields its API does not accept

_FIELDS = msgspec.json.Decoder(Fields)
_TRUE = b"true"
_ENCODER = msgspec.json.Encoder()
# A UTF-16 high surrogate escape not followed by a low one: msgspec reports it as truncated input.
_LONE_HIGH_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})")


def _decode_error_detail(error: msgspec.DecodeError, body: bytes) -> str:
    detail = str(error).removeprefix("JSON is malformed: ")
    if detail == "Input data was truncated":
        lone = _LONE_HIGH_SURROGATE.search(body)
        if lone is not None:
            return f"a \\u escape of a lone UTF-16 high surrogate (byte {lone.start()}); JSON needs the pair"
        return "the body ends before the JSON value is complete"
    return detail


def split_object(body: bytes) -> dict[str, msgspec.Raw]:
    if not body.strip():
        raise invalid_body("The request body is empty; expected a JSON object.")
    try:
        if not body.isascii():
            body.decode("utf-8")  # names the failure precisely; msgspec would also refuse it
        return _FIELDS.decode(body)
    except msgspec.ValidationError:
        raise invalid_body("The request body must be a JSON object.") from None
    except msgspec.DecodeError as exc:
        raise invalid_json(_decode_error_detail(exc, body)) from None
    except UnicodeDecodeError as exc:
        raise invalid_json(f"the body is not valid UTF-8 (byte {exc.start})") from None
    except RecursionError:
        raise invalid_json("the body is nested too deeply") from None


def with_field(fields: dict[str, msgspec.Raw], name: str, value: object, **added: object) -> bytes:
    """The body with `name` set to `value` (and each of `added` set, a new one after the client's fields),
    every other field in its place and bytes."""
    replaced = dict(fields)
    replaced[name] = msgspec.Raw(orjson.dumps(value))
    for key, extra in added.items():
        replaced[key] = msgspec.Raw(orjson.dumps(extra))
    return _ENCODER.encode(replaced)


def required_model(fields: Fields) -> str:
    """The `model` field, stripped; a 400 naming it when it is missing, not a string, or blank."""
    raw_model = fields.get("model")
    if raw_model is None:
        raise missing_model()
    model = msgspec.json.decode(raw_model)
    if not isinstance(model, str) or not model.strip():
        raise invalid_body("'model' must be a non-empty string.", param="model")
    return model.strip()


def is_true(fields: Fields, name: str) -> bool:
    """Whether the field is the JSON literal `true` (how `stream` is read: anything else is false)."""
    raw = fields.get(name)
    return raw is not None and bytes(raw) == _TRUE


def starts_with(raw: msgspec.Raw, prefix: bytes) -> bool:
    with memoryview(raw) as view:
        return view[: len(prefix)] == prefix


class ParsedBody:
    """A parsed request body: its top-level fields as raw JSON, plus the values every API reads."""

    __slots__ = ("_decoded", "_pending", "fields", "model", "stream")

    def __init__(self, fields: Fields, model: str, stream: bool, deferred: Check | None = None) -> None:
        self.fields = fields
        self.model = model
        self.stream = stream
        self._decoded: dict[str, Any] = {}
        self._pending = deferred

    def check(self) -> None:
        """Run the parser's deferred checks, if any are still pending (they pass once, or raise every time)."""
        if self._pending is not None:
            self._pending(self.fields)
            self._pending = None

    def decoded(self, name: str) -> Any:
        """A top-level field as Python values, decoded once on first use; None when absent. The deferred
        checks run first."""
        if self._pending is not None:
            self.check()
        if name not in self._decoded:
            raw = self.fields.get(name)
            self._decoded[name] = msgspec.json.decode(raw) if raw is not None else None
        return self._decoded[name]
