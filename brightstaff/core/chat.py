"""Chat completions request bodies: parsing, the text a router reads, and the model rewrite."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from brightstaff.errors import invalid_body, invalid_json, missing_model


@dataclass(slots=True)
class ChatRequest:
    """A parsed chat completions body. `document` is the whole JSON object, kept for the rewrite."""

    document: dict[str, Any]
    model: str
    stream: bool

    @property
    def messages(self) -> list[Any]:
        messages = self.document.get("messages")
        return messages if isinstance(messages, list) else []


def parse_chat(body: bytes) -> ChatRequest:
    """Parse and check the fields brightstaff relies on; everything else passes through untouched."""
    if not body.strip():
        raise invalid_body("The request body is empty; expected a JSON object.")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise invalid_json(str(exc).split(":", 1)[0]) from None
    if not isinstance(document, dict):
        raise invalid_body("The request body must be a JSON object.")
    model = document.get("model")
    if model is None:
        raise missing_model()
    if not isinstance(model, str) or not model.strip():
        raise invalid_body("'model' must be a non-empty string.", param="model")
    messages = document.get("messages")
    if messages is not None and not isinstance(messages, list):
        raise invalid_body("'messages' must be an array.", param="messages")
    return ChatRequest(document=document, model=model.strip(), stream=document.get("stream") is True)


def with_model(request: ChatRequest, model: str) -> bytes:
    """The body to forward: the client's document with `model` replaced."""
    request.document["model"] = model
    return orjson.dumps(request.document)


def content_text(content: Any) -> str:
    """The text of a message `content`: a string, or the text parts of a content array."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "\n".join(parts)
    return ""
