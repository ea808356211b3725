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
from brightstaff.providers.sse import SSEEvent
from brightstaff.providers.translation import Translator
from brightstaff.providers.upstream_errors import read_error

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


class _Usage:
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

    def openai(self) -> dict[str, Any]:
        prompt = self.input + self.cache_read + self.cache_creation
        prompt_details: dict[str, int] = {"cached_tokens": self.cache_read}
        if self.cache_creation:
            prompt_details["cache_creation_tokens"] = self.cache_creation
        usage: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": self.output,
            "total_tokens": prompt + self.output,
            "prompt_tokens_details": prompt_details,
        }
        if self.thinking is not None:
            usage["completion_tokens_details"] = {"reasoning_tokens": self.thinking}
        return usage


class ChatFromMessages(Translator):
    """One response of an Anthropic backend to an OpenAI chat completions client."""

    dialect: Dialect = "openai"

    def __init__(self, *, include_usage: bool, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._include_usage = include_usage
        self._clock = clock
        self._usage = _Usage()
        self._head = b""  # every chunk's bytes up to its delta, fixed at message_start
        self._envelope: dict[str, Any] = {}
        self._tools: dict[int, int] = {}  # block index → tool index, for tool_use blocks
        self._args_seen: dict[int, bool] = {}  # block index → any non-empty argument text sent
        self._stop_reason: Any = None
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
        self._usage.update(message.get("usage"))
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
                "usage": self._usage.openai(),
            }
        )

    # -- SSE ---------------------------------------------------------------------------------------

    def on_event(self, event: SSEEvent) -> bytes:
        if event.event == "ping":
            return _PING
        payload = orjson.loads(event.data) if event.data else {}
        kind = payload.get("type") if isinstance(payload, dict) else None
        kind = kind or event.event
        if kind == "content_block_delta":
            return self._delta(payload)
        if kind == "content_block_start":
            return self._block_start(payload)
        if kind == "content_block_stop":
            return self._block_stop(payload)
        if kind == "message_start":
            return b"" if self._head else self._message_start(payload.get("message") or {})
        if kind == "message_delta":
            self._stop_reason = (payload.get("delta") or {}).get("stop_reason") or self._stop_reason
            self._usage.update(payload.get("usage"))
            return self._finish()
        if kind == "message_stop":
            return self._stop()
        if kind == "error":
            message, error_type = read_error(event.data, 500)
            self.ended = True
            return self._error(message, error_type)
        return b""  # ping without its event line, or an event type added later

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
        self._usage.update(message.get("usage"))
        self._envelope = {
            "id": message.get("id") or "msg_unknown",
            "object": "chat.completion.chunk",
            "created": int(self._clock()),
            "model": message.get("model") or "unknown",
        }
        envelope = orjson.dumps(self._envelope)
        self._head = b"data: " + envelope[:-1] + b',"choices":[{"index":0,"delta":'
        return self._head + b'{"role":"assistant","content":""}' + _OPEN_TAIL

    def _block_start(self, payload: dict[str, Any]) -> bytes:
        block = payload.get("content_block") or {}
        kind = block.get("type")
        index = payload.get("index")
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

    def _delta(self, payload: dict[str, Any]) -> bytes:
        delta = payload.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta.get("text")
            return self._chunk({"content": text}) if text else b""
        if kind == "input_json_delta":
            index = payload.get("index")
            fragment = delta.get("partial_json")
            if index not in self._tools or not fragment:
                return b""  # a server tool's input, or the empty first fragment
            self._args_seen[index] = True
            return self._chunk({"tool_calls": [{"index": self._tools[index], "function": {"arguments": fragment}}]})
        if kind == "thinking_delta":
            thinking = delta.get("thinking")
            return self._chunk({"reasoning_content": thinking}) if thinking else b""
        return b""  # signature_delta, citations_delta

    def _block_stop(self, payload: dict[str, Any]) -> bytes:
        index = payload.get("index")
        if index in self._tools and not self._args_seen[index]:
            self._args_seen[index] = True
            return self._chunk({"tool_calls": [{"index": self._tools[index], "function": {"arguments": "{}"}}]})
        return b""

    def _finish(self) -> bytes:
        if self._finish_sent:
            return b""
        self._finish_sent = True
        first = b"" if self._head else self._message_start({})
        reason = orjson.dumps(finish_reason(self._stop_reason))
        return first + self._head + b'{},"finish_reason":' + reason + b"}]}\n\n"

    def _stop(self) -> bytes:
        out = self._finish()
        if self._include_usage:
            out += sse.data(orjson.dumps({**self._envelope, "choices": [], "usage": self._usage.openai()}))
        self.ended = True
        return out + _DONE
