"""A JSON request body as its top-level fields, each kept as raw JSON bytes, and the `model` rewrite.

Invariants:
- `split_fields` accepts exactly the bodies that are one well-formed UTF-8 JSON object: the whole
  document is checked (msgspec validates what it skips), but only the top-level keys are materialised;
  every failure is a 400 `ClientError` saying what is wrong.
- `with_model` writes every field back in the client's order, byte for byte, with only `model` replaced:
  a 50 KB body costs ~20 us instead of ~85 us for a decode and re-encode.
Every client API's parser (chat completions, Anthropic Messages) builds on these, so one body rule has
one implementation.
"""

from __future__ import annotations

import msgspec
import orjson

from brightstaff.core.errors import invalid_body, invalid_json, missing_model

Fields = dict[str, msgspec.Raw]

_FIELDS = msgspec.json.Decoder(Fields)
_ENCODER = msgspec.json.Encoder()
_TRUE = b"true"


def split_fields(body: bytes) -> Fields:
    """The body's top-level fields as raw JSON; raises ClientError 400 for anything but a JSON object."""
    if not body.strip():
        raise invalid_body("The request body is empty; expected a JSON object.")
    try:
        if not body.isascii():
            body.decode("utf-8")  # skipped string contents are not checked by the split below
        return _FIELDS.decode(body)
    except msgspec.ValidationError:
        raise invalid_body("The request body must be a JSON object.") from None
    except msgspec.DecodeError as exc:
        raise invalid_json(str(exc).removeprefix("JSON is malformed: ")) from None
    except UnicodeDecodeError:
        raise invalid_json("the body is not valid UTF-8") from None
    except RecursionError:
        raise invalid_json("the body is nested too deeply") from None


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
    """Whether the field is the JSON literal `true` (as `stream` is read: anything else is false)."""
    raw = fields.get(name)
    return raw is not None and bytes(raw) == _TRUE


def starts_with(raw: msgspec.Raw, prefix: bytes) -> bool:
    with memoryview(raw) as view:
        return view[: len(prefix)] == prefix


def with_model(fields: Fields, model: str) -> bytes:
    """The body to forward: the client's fields, in their order and bytes, with `model` replaced."""
    rewritten = dict(fields)
    rewritten["model"] = msgspec.Raw(orjson.dumps(model))
    return _ENCODER.encode(rewritten)
