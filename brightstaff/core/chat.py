"""Chat completions request bodies: parsing, the text a router reads, and the model rewrite.

The body is split into its top-level fields, each kept as its raw JSON bytes (`msgspec.Raw`): the whole
body is checked to be well-formed JSON, but only `model` and `stream` are decoded on every request, the
messages only when a router reads them, and the rewrite writes every other field back byte for byte.
For a 50 KB agent conversation that is ~4x less CPU than decoding and re-encoding the whole document.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from brightstaff.core.conversation import Conversation, from_chat_messages
from brightstaff.core.errors import invalid_body
from brightstaff.core.json_body import is_true, required_model, split_object, starts_with, with_field

_NULL = b"null"


class ChatRequest:
    """A parsed chat completions body: its top-level fields as raw JSON, plus the values brightstaff reads."""

    __slots__ = ("_conversation", "_messages", "fields", "model", "stream")

    def __init__(self, fields: dict[str, msgspec.Raw], model: str, stream: bool) -> None:
        self.fields = fields
        self.model = model
        self.stream = stream
        self._messages: list[Any] | None = None
        self._conversation: Conversation | None = None

    @classmethod
    def from_messages(cls, messages: list[Any], model: str) -> ChatRequest:
        """A request built in process (router evaluation), as if the client had sent it."""
        return parse_chat(orjson.dumps({"model": model, "messages": messages}))

    @classmethod
    def from_fields(cls, model: str, body: dict[str, Any]) -> ChatRequest:
        """A request built in process from decoded values (a translation's chat completions body, `messages`
        a list): what `parse_chat` makes of them encoded, without encoding and decoding the messages, which
        are kept as given (its `fields` hold every other field: a translator's input, not a body to forward)."""
        fields = {"model": msgspec.Raw(orjson.dumps(model))}
        fields.update((name, msgspec.Raw(orjson.dumps(value))) for name, value in body.items() if name != "messages")
        request = cls(fields, required_model(fields), is_true(fields, "stream"))
        request._messages = body.get("messages")
        return request

    @property
    def messages(self) -> list[Any]:
        """The conversation, decoded on first use (only routing needs it)."""
        if self._messages is None:
            raw = self.fields.get("messages")
            decoded = msgspec.json.decode(raw) if raw is not None else None
            self._messages = decoded if isinstance(decoded, list) else []
        return self._messages

    @property
    def conversation(self) -> Conversation:
        """What a router reads, built on first use (pin hits never build it)."""
        if self._conversation is None:
            self._conversation = from_chat_messages(self.messages)
        return self._conversation


def parse_chat(body: bytes) -> ChatRequest:
    """Parse and check the fields brightstaff relies on; everything else passes through untouched."""
    fields = split_object(body)
    model = required_model(fields)
    raw_messages = fields.get("messages")
    if raw_messages is not None and not starts_with(raw_messages, b"[") and bytes(raw_messages) != _NULL:
        raise invalid_body("'messages' must be an array.", param="messages")
    return ChatRequest(fields, model, is_true(fields, "stream"))


def with_model(request: ChatRequest, model: str) -> bytes:
    """The body to forward: the client's fields, in their order and bytes, with `model` replaced."""
    return with_field(request.fields, "model", model)
