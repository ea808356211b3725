"""Reading an Anthropic Messages answer: what every translator of an Anthropic backend's answer shares
(`chat_from_messages` for chat completions clients, `responses_from_messages` for Responses clients).

Invariants:
- `AnthropicUsage` holds the usage counts, replaced (never added) as cumulative updates arrive: a
  `message_delta` usage sent twice is not counted twice; input and cache counts change only when present.
- `MessagesStreamTranslator` dispatches each event by its payload's `type` (or its `event:` name when the
  payload has none) to one hook: `message_start`, `block_start`, `block_delta`, `block_stop`,
  `message_delta` (after the stop reason and usage were taken), `message_stop`, `error` (the message and
  the provider's error type), `ping`. An event type added later is ignored.
"""

from __future__ import annotations

from typing import Any

import orjson

from brightstaff.providers.sse import SSEEvent
from brightstaff.providers.translation import Translator
from brightstaff.providers.upstream_errors import read_error


class AnthropicUsage:
    """Anthropic usage counts, replaced (never added) as cumulative updates arrive."""

    __slots__ = ("cache_creation", "cache_read", "input", "output", "thinking")

    def __init__(self) -> None:
        self.input = self.output = self.cache_read = self.cache_creation = 0
        self.thinking: int | None = None

    def update(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        for key, attribute in (
            ("input_tokens", "input"),
            ("output_tokens", "output"),
            ("cache_read_input_tokens", "cache_read"),
            ("cache_creation_input_tokens", "cache_creation"),
        ):
            value = usage.get(key)
            if isinstance(value, int):
                setattr(self, attribute, value)
        details = usage.get("output_tokens_details")
        if isinstance(details, dict) and isinstance(details.get("thinking_tokens"), int):
            self.thinking = details["thinking_tokens"]

    @property
    def prompt(self) -> int:
        """Every input token, cached and cache-written ones included (how OpenAI's APIs count them)."""
        return self.input + self.cache_read + self.cache_creation


class MessagesStreamTranslator(Translator):
    """The event-dispatch skeleton of an Anthropic stream; subclasses write their client's events."""

    def __init__(self) -> None:
        super().__init__()
        self.usage = AnthropicUsage()
        self.stop_reason: Any = None

    # -- hooks -------------------------------------------------------------------------------------

    def ping(self) -> bytes:
        return b""

    def message_start(self, message: dict[str, Any]) -> bytes:
        raise NotImplementedError

    def block_start(self, index: Any, block: dict[str, Any]) -> bytes:
        raise NotImplementedError

    def block_delta(self, index: Any, delta: dict[str, Any]) -> bytes:
        raise NotImplementedError

    def block_stop(self, index: Any) -> bytes:
        raise NotImplementedError

    def message_delta(self) -> bytes:
        """`stop_reason` and `usage` are updated before this runs."""
        raise NotImplementedError

    def message_stop(self) -> bytes:
        raise NotImplementedError

    def error(self, message: str, error_type: str | None) -> bytes:
        """The provider failed mid-stream: end the client's stream with an error (sets `ended`)."""
        raise NotImplementedError

    # -- Translator --------------------------------------------------------------------------------

    def on_event(self, event: SSEEvent) -> bytes:
        if event.event == "ping":
            return self.ping()
        payload = orjson.loads(event.data) if event.data else {}
        if not isinstance(payload, dict):
            payload = {}
        kind = payload.get("type") or event.event
        if kind == "content_block_delta":
            delta = payload.get("delta")
            return self.block_delta(payload.get("index"), delta if isinstance(delta, dict) else {})
        if kind == "content_block_start":
            block = payload.get("content_block")
            return self.block_start(payload.get("index"), block if isinstance(block, dict) else {})
        if kind == "content_block_stop":
            return self.block_stop(payload.get("index"))
        if kind == "message_start":
            message = payload.get("message")
            message = message if isinstance(message, dict) else {}
            self.usage.update(message.get("usage"))
            return self.message_start(message)
        if kind == "message_delta":
            delta = payload.get("delta")
            reason = delta.get("stop_reason") if isinstance(delta, dict) else None
            self.stop_reason = reason or self.stop_reason
            self.usage.update(payload.get("usage"))
            return self.message_delta()
        if kind == "message_stop":
            return self.message_stop()
        if kind == "error":
            message, error_type = read_error(event.data, 500)
            return self.error(message, error_type)
        return b""  # ping without its event line, or an event type added later
