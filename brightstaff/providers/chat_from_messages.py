"""An Anthropic Messages response as a chat completions response: JSON, SSE stream and errors.

The response half of `openai_anthropic` (an OpenAI client served by an Anthropic backend).

JSON (`chat.completion`):
- `id` and `model` are the provider's; `created` is now. `content` is every text block concatenated,
  or null when there is none (tool-only answers); `tool_calls` carry `arguments` as JSON text;
  `reasoning_content` is the thinking text, and `thinking_blocks` (LiteLLM's field) the thinking blocks
  with their signatures, so a client can send them back (`openai_anthropic` accepts them).
- `finish_reason` from `stop_reason` (`FINISH_REASONS`): end_turn/stop_sequence/pause_turn → stop,
  max_tokens/model_context_window_exceeded → length, tool_use → tool_calls, refusal → content_filter;
  any other (a reason added later) → stop.
- `usage`: `prompt_tokens` = input + cache read + cache creation (OpenAI's prompt count includes cached
  tokens, Anthropic's input count does not), `completion_tokens` = output, `total_tokens` their sum,
  `prompt_tokens_details.cached_tokens` = cache read (+ `cache_creation_tokens` when there were any),
  `completion_tokens_details.reasoning_tokens` from `output_tokens_details.thinking_tokens` when given.

SSE (`chat.completion.chunk`s, one `id`, `created` and `model` throughout):
- `message_start` → the first chunk, `{role: assistant, content: ""}`: the only one with a role.
- text deltas → `content`; thinking deltas → `reasoning_content`; signature and citation deltas and
  server-tool blocks are not sent.
- each `tool_use` block start → a tool call with the next tool index (0, 1, ... whatever the block
  indices are), its id, name and `arguments: ""`; `input_json_delta` fragments → its arguments (an
  empty fragment, as the first one often is, sends nothing); a tool block that ends with no argument
  text gets `"{}"` (no-argument tools).
- `message_delta` → the finish chunk, sent once; its usage is cumulative, so it replaces what is held
  (input and cache counts only when present): sent twice, it is not counted twice.
- `message_stop` → the finish chunk if not sent yet, then the usage chunk (`choices: []`) only when
  the client asked for `stream_options.include_usage`, then `data: [DONE]`.
- `ping` → an SSE comment (keeps idle connections open; clients ignore comments).
- `error` (a provider error after the 200) → `data: {"error": {...}}` (the openai SDK raises
  `APIError` on it), then `[DONE]`; so does a stream that ends without `message_stop`.
Errors (non-2xx): re-rendered in the OpenAI shape with the status kept (`upstream_errors`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from brightstaff.core.errors import Dialect, error_body
from brightstaff.providers import sse
from brightstaff.providers.messages_answer import AnthropicUsage, MessagesStreamTranslator

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

_DONE = b"data: [DONE]\n\n"
_PING = b": ping\n\n"
_OPEN_TAIL = b',"finish_reason":null}]}\n\n'


def finish_reason(stop_reason: Any) -> str:
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def openai_usage(usage: AnthropicUsage) -> dict[str, Any]:
    """Anthropic usage as chat completions counts it (its prompt count includes cached tokens)."""
    prompt = usage.prompt
    prompt_details: dict[str, int] = {"cached_tokens": usage.cache_read}
    if usage.cache_creation:
        prompt_details["cache_creation_tokens"] = usage.cache_creation
    counts: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": usage.output,
        "total_tokens": prompt + usage.output,
        "prompt_tokens_details": prompt_details,
    }
    if usage.thinking is not None:
        counts["completion_tokens_details"] = {"reasoning_tokens": usage.thinking}
    return counts


class ChatFromMessages(MessagesStreamTranslator):
    """One response of an Anthropic backend to an OpenAI chat completions client."""

    dialect: Dialect = "openai"

    def __init__(self, *, include_usage: bool, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._include_usage = include_usage
        self._clock = clock
        self._head = b""  # every chunk's bytes up to its delta, fixed at message_start
        self._envelope: dict[str, Any] = {}
        self._tools: dict[int, int] = {}  # block index → tool index, for tool_use blocks
        self._args_seen: dict[int, bool] = {}  # block index → any non-empty argument text sent
        self._finish_sent = False

    # -- JSON --------------------------------------------------------------------------------------

    def translate_json(self, body: bytes) -> bytes:
        message = orjson.loads(body)
        if not isinstance(message, dict):
            raise ValueError("the provider's answer is not a JSON object")
        texts: list[str] = []
        reasoning: list[str] = []
        thinking_blocks: list[Any] = []
        calls: list[dict[str, Any]] = []
        for block in message.get("content") or ():
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "text":
                texts.append(block.get("text") or "")
            elif kind == "thinking":
                reasoning.append(block.get("thinking") or "")
                thinking_blocks.append(block)
            elif kind == "redacted_thinking":
                thinking_blocks.append(block)
            elif kind == "tool_use":
                arguments = orjson.dumps(block.get("input") or {}).decode()
                calls.append(
                    {
                        "id": block.get("id"),
                        "type": "function",
                        "function": {"name": block.get("name"), "arguments": arguments},
                    }
                )
        reply: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
        if calls:
            reply["tool_calls"] = calls
        if thinking_blocks:
            reply["reasoning_content"] = "".join(reasoning)
            reply["thinking_blocks"] = thinking_blocks
        self.usage.update(message.get("usage"))
        return orjson.dumps(
            {
                "id": message.get("id"),
                "object": "chat.completion",
                "created": int(self._clock()),
                "model": message.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "message": reply,
                        "finish_reason": finish_reason(message.get("stop_reason")),
                        "logprobs": None,
                    }
                ],
                "usage": openai_usage(self.usage),
            }
        )

    # -- SSE ---------------------------------------------------------------------------------------

    def ping(self) -> bytes:
        return _PING

    def message_start(self, message: dict[str, Any]) -> bytes:
        return b"" if self._head else self._message_start(message)

    def message_delta(self) -> bytes:
        return self._finish()

    def message_stop(self) -> bytes:
        return self._stop()

    def error(self, message: str, error_type: str | None) -> bytes:
        self.ended = True
        return self._error(message, error_type)

    def on_end(self) -> bytes:
        self.ended = True
        return self._error("The provider's stream ended before message_stop.", "api_error")

    def stream_error(self, message: str) -> bytes:
        return self._error(message, "api_error")

    def _error(self, message: str, error_type: str | None) -> bytes:
        return sse.data(error_body("openai", 500, message, type=error_type or "api_error")) + _DONE

    def _chunk(self, delta: dict[str, Any]) -> bytes:
        first = b"" if self._head else self._message_start({})  # a stream without message_start
        return first + self._head + orjson.dumps(delta) + _OPEN_TAIL

    def _message_start(self, message: dict[str, Any]) -> bytes:
        self._envelope = {
            "id": message.get("id") or "msg_unknown",
            "object": "chat.completion.chunk",
            "created": int(self._clock()),
            "model": message.get("model") or "unknown",
        }
        envelope = orjson.dumps(self._envelope)
        self._head = b"data: " + envelope[:-1] + b',"choices":[{"index":0,"delta":'
        return self._head + b'{"role":"assistant","content":""}' + _OPEN_TAIL

    def block_start(self, index: Any, block: dict[str, Any]) -> bytes:
        kind = block.get("type")
        if kind == "tool_use" and isinstance(index, int):
            tool_index = len(self._tools)
            self._tools[index] = tool_index
            self._args_seen[index] = False
            call = {
                "index": tool_index,
                "id": block.get("id"),
                "type": "function",
                "function": {"name": block.get("name"), "arguments": ""},
            }
            return self._chunk({"tool_calls": [call]})
        if kind == "text" and block.get("text"):
            return self._chunk({"content": block["text"]})
        return b""

    def block_delta(self, index: Any, delta: dict[str, Any]) -> bytes:
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta.get("text")
            return self._chunk({"content": text}) if text else b""
        if kind == "input_json_delta":
            fragment = delta.get("partial_json")
            if index not in self._tools or not fragment:
                return b""  # a server tool's input, or the empty first fragment
            self._args_seen[index] = True
            return self._chunk({"tool_calls": [{"index": self._tools[index], "function": {"arguments": fragment}}]})
        if kind == "thinking_delta":
            thinking = delta.get("thinking")
            return self._chunk({"reasoning_content": thinking}) if thinking else b""
        return b""  # signature_delta, citations_delta

    def block_stop(self, index: Any) -> bytes:
        if index in self._tools and not self._args_seen[index]:
            self._args_seen[index] = True
            return self._chunk({"tool_calls": [{"index": self._tools[index], "function": {"arguments": "{}"}}]})
        return b""

    def _finish(self) -> bytes:
        if self._finish_sent:
            return b""
        self._finish_sent = True
        first = b"" if self._head else self._message_start({})
        reason = orjson.dumps(finish_reason(self.stop_reason))
        return first + self._head + b'{},"finish_reason":' + reason + b"}]}\n\n"

    def _stop(self) -> bytes:
        out = self._finish()
        if self._include_usage:
            out += sse.data(orjson.dumps({**self._envelope, "choices": [], "usage": openai_usage(self.usage)}))
        self.ended = True
        return out + _DONE
