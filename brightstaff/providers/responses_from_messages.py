"""An Anthropic Messages answer as an OpenAI Responses answer: JSON, SSE stream and errors.

The response half of `responses_anthropic` (a Responses client served by an Anthropic backend). Events are
read by `messages_answer`; the Responses objects and events are written by `responses_events`.

Blocks, in the answer's order (JSON and stream alike):
- `thinking` → a reasoning item whose summary is the thinking text and whose `encrypted_content` is
  `THINKING_PREFIX` + the signature; `redacted_thinking` → a reasoning item with no summary and
  `REDACTED_PREFIX` + its data. Sent back in a later request, `responses_chat` rebuilds the blocks, so
  extended thinking continues across a tool loop.
- `text` → a message item (one per text block; an empty one is not sent).
- `tool_use` → a `function_call` item: `call_id` the block's id, the arguments the JSON of its input
  (streamed: its `input_json_delta` fragments; a call with none gets `{}`).
- Server-tool and other blocks are not sent (a translated request never asks for server tools).
Each block's `content_block_stop` closes its item.

The finish: `message_delta` carries the stop reason and the cumulative usage; `message_stop` closes every
item and sends `response.completed`, or `response.incomplete` when the answer was cut (`max_tokens`,
`model_context_window_exceeded` → `max_output_tokens`; `refusal` → `content_filter`). Usage:
`input_tokens` = input + cache read + cache creation, `cached_tokens` = cache read, `cache_write_tokens`
= cache creation, `reasoning_tokens` from `output_tokens_details.thinking_tokens`.

Errors: an `error` event (an overloaded API mid-answer), a stream that ends before `message_stop`, and an
event brightstaff cannot read end the stream with an `error` event and `response.failed`. `ping` becomes
an SSE comment. Non-2xx answers are re-rendered in the OpenAI error shape, status kept.
"""

from __future__ import annotations

from typing import Any

import orjson

from brightstaff.core.errors import Dialect
from brightstaff.providers.messages_answer import AnthropicUsage, MessagesStreamTranslator
from brightstaff.providers.responses_events import (
    REDACTED_PREFIX,
    THINKING_PREFIX,
    Incomplete,
    ResponseFrame,
    ResponsesWriter,
    usage,
)

INCOMPLETE: dict[str, Incomplete] = {
    "max_tokens": "max_output_tokens",
    "model_context_window_exceeded": "max_output_tokens",
    "refusal": "content_filter",
}
# Anthropic error types whose HTTP status is not 500, for the failure's code.
_ERROR_STATUS = {"rate_limit_error": 429, "overloaded_error": 529}
_PING = b": ping\n\n"


def responses_usage(counts: AnthropicUsage) -> Any:
    return usage(
        counts.prompt,
        counts.output,
        cached=counts.cache_read,
        written=counts.cache_creation,
        reasoning=counts.thinking or 0,
    )


def _incomplete(stop_reason: Any) -> Incomplete | None:
    return INCOMPLETE.get(stop_reason) if isinstance(stop_reason, str) else None


class ResponsesFromMessages(MessagesStreamTranslator):
    """One answer of an Anthropic backend to a Responses client."""

    dialect: Dialect = "openai"

    def __init__(self, frame: ResponseFrame) -> None:
        super().__init__()
        self._frame = frame
        self._writer = frame.writer(streaming=True)
        self._calls: dict[Any, bool] = {}  # tool block index → any argument text sent

    # -- JSON --------------------------------------------------------------------------------------

    def translate_json(self, body: bytes) -> bytes:
        message = orjson.loads(body)
        if not isinstance(message, dict):
            raise ValueError("the provider's answer is not a JSON object")
        writer = self._frame.writer(streaming=False)
        writer.begin(message.get("id"), message.get("model"))
        for index, block in enumerate(message.get("content") or ()):
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "tool_use":
                writer.call(index, _text(block.get("id")), _text(block.get("name")))
                writer.arguments(index, orjson.dumps(block.get("input") or {}).decode())
                writer.close_call(index)
            else:
                _block(writer, block)
                writer.close_open()
        self.usage.update(message.get("usage"))
        return writer.response_json(responses_usage(self.usage), _incomplete(message.get("stop_reason")))

    # -- SSE ---------------------------------------------------------------------------------------

    def ping(self) -> bytes:
        return _PING

    def message_start(self, message: dict[str, Any]) -> bytes:
        return self._writer.begin(message.get("id"), message.get("model"))

    def block_start(self, index: Any, block: dict[str, Any]) -> bytes:
        out = self._writer.begin()
        if block.get("type") == "tool_use":
            self._calls[index] = False
            return out + self._writer.call(index, _text(block.get("id")), _text(block.get("name")))
        return out + _block(self._writer, block)

    def block_delta(self, index: Any, delta: dict[str, Any]) -> bytes:
        out = self._writer.begin()
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta.get("text")
            return out + self._writer.text(text) if isinstance(text, str) and text else out
        if kind == "input_json_delta":
            fragment = delta.get("partial_json")
            if index not in self._calls or not isinstance(fragment, str) or not fragment:
                return out  # a server tool's input, or the empty first fragment
            self._calls[index] = True
            return out + self._writer.arguments(index, fragment)
        if kind == "thinking_delta":
            thinking = delta.get("thinking")
            return out + self._writer.reasoning(thinking) if isinstance(thinking, str) and thinking else out
        if kind == "signature_delta":
            signature = delta.get("signature")
            if isinstance(signature, str) and signature:
                return out + self._writer.reasoning_encrypted(THINKING_PREFIX, signature)
        return out  # citations_delta

    def block_stop(self, index: Any) -> bytes:
        if index in self._calls:
            out = b"" if self._calls[index] else self._writer.arguments(index, "{}")
            return out + self._writer.close_call(index)
        return self._writer.close_open()

    def message_delta(self) -> bytes:
        return b""

    def message_stop(self) -> bytes:
        self.ended = True
        return self._writer.finish(responses_usage(self.usage), _incomplete(self.stop_reason))

    def error(self, message: str, error_type: str | None) -> bytes:
        self.ended = True
        return self._writer.fail(message, _ERROR_STATUS.get(error_type or "", 500))

    def on_end(self) -> bytes:
        self.ended = True
        return self._writer.fail("The provider's stream ended before message_stop.")

    def stream_error(self, message: str) -> bytes:
        return self._writer.fail(message)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _block(writer: ResponsesWriter, block: dict[str, Any]) -> bytes:
    """A text or thinking block's start (its whole content, in a JSON answer) written as it reads."""
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        return writer.text(text) if isinstance(text, str) and text else b""
    if kind == "thinking":
        out = b""
        thinking, signature = block.get("thinking"), block.get("signature")
        if isinstance(thinking, str) and thinking:
            out += writer.reasoning(thinking)
        if isinstance(signature, str) and signature:
            out += writer.reasoning_encrypted(THINKING_PREFIX, signature)
        return out
    if kind == "redacted_thinking":
        data = block.get("data")
        return writer.close_open() + writer.reasoning_encrypted(REDACTED_PREFIX, _text(data))
    return b""
