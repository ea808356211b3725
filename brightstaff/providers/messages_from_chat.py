"""A chat completions response as an Anthropic Messages response: JSON, SSE stream and errors.

The response half of `anthropic_openai` (an Anthropic client served by an OpenAI-compatible backend).

JSON (`message`):
- `content` in Anthropic's order: a `thinking` block from `reasoning_content` (or `reasoning`, as some
  servers name it; its signature is empty, since an OpenAI backend signs nothing), then the text (when
  non-empty), then one `tool_use` block per tool call, its `input` parsed from the arguments (`{}` when
  they are malformed or not an object, rather than failing the whole answer).
- Tool call ids are made valid for Anthropic (`tool_naming.tool_id`: Kimi's `functions.Bash:0` breaks a
  replayed history otherwise); names shortened for the request are restored.
- `stop_reason` from `finish_reason` (`STOP_REASONS`): stop → end_turn, length → max_tokens,
  tool_calls → tool_use, content_filter → refusal; servers that answer tool calls with `stop` get
  tool_use (clients loop on it).
- `usage`: `input_tokens` = prompt − cached (OpenAI's prompt count includes the cached tokens),
  `cache_read_input_tokens` = cached, `cache_creation_input_tokens` 0, `output_tokens` = completion.

SSE (the event sequence the anthropic SDK's accumulator requires):
- `message_start` first, always (even for a stream that is only `[DONE]`).
- Blocks open in order with contiguous indices from 0: reasoning deltas → a `thinking` block, content
  → a `text` block, each new OpenAI tool index → a `tool_use` block (id, name, `input: {}`) whose
  argument fragments are `input_json_delta`s. A new kind of delta closes the open block
  (`content_block_stop`) before the next opens; every opened block is stopped.
- A chunk carrying both content and `finish_reason` is translated as content, then the finish.
- The finish waits for the usage: when `finish_reason` and a usage have both been seen (OpenAI sends
  usage in a last chunk with `choices: []`, vLLM with `choices: null`), or at `[DONE]`, or at the end of
  the stream, the open block is stopped, then ONE `message_delta` (stop reason, usage) and
  `message_stop`. Nothing is sent after `message_stop`.
- A provider error inside the stream (`data: {"error": ...}`) → `event: error` in the Anthropic shape
  (its type from the error's numeric code when it has one, else `api_error`), and the stream ends.
Errors (non-2xx): re-rendered in the Anthropic shape with the status kept (`upstream_errors`).
"""

from __future__ import annotations

from typing import Any

import orjson

from brightstaff.core.errors import Dialect, error_body
from brightstaff.providers import sse
from brightstaff.providers.chat_answer import ChatStreamTranslator, function_of, read_completion
from brightstaff.providers.tool_naming import tool_id

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

_BLOCK_STOP = b"event: content_block_stop\ndata: "


def stop_reason(finish_reason: Any, has_tool_calls: bool) -> str:
    reason = STOP_REASONS.get(finish_reason, "end_turn") if isinstance(finish_reason, str) else "end_turn"
    return "tool_use" if has_tool_calls and reason == "end_turn" else reason


def _usage(usage: Any) -> dict[str, int]:
    prompt = completion = cached = 0
    if isinstance(usage, dict):
        prompt = usage.get("prompt_tokens") or 0
        completion = usage.get("completion_tokens") or 0
        details = usage.get("prompt_tokens_details")
        cached = (details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
    return {
        "input_tokens": max(prompt - cached, 0),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "output_tokens": completion,
    }


def _input(arguments: Any) -> dict[str, Any]:
    try:
        parsed = orjson.loads(arguments) if isinstance(arguments, str) and arguments.strip() else {}
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


class MessagesFromChat(ChatStreamTranslator):
    """One response of an OpenAI-compatible backend to an Anthropic Messages client."""

    dialect: Dialect = "anthropic"

    def __init__(self, *, tool_names: dict[str, str] | None = None) -> None:
        super().__init__()
        self._names = tool_names or {}
        self._next_index = 0
        self._open: str | None = None  # "text", "thinking" or "tool:<openai index>"
        self._open_index = 0
        self._tool_blocks: dict[Any, int] = {}  # OpenAI tool index → block index
        self._message_id = "msg_unknown"

    def _name(self, name: Any) -> Any:
        return self._names.get(name, name) if isinstance(name, str) else name

    # -- JSON --------------------------------------------------------------------------------------

    def translate_json(self, body: bytes) -> bytes:
        answer = read_completion(body)
        content: list[dict[str, Any]] = []
        if answer.reasoning is not None:
            content.append({"type": "thinking", "thinking": answer.reasoning, "signature": ""})
        if answer.text is not None:
            content.append({"type": "text", "text": answer.text})
        for call in answer.tool_calls:
            function = function_of(call)
            content.append(
                {
                    "type": "tool_use",
                    "id": tool_id(call.get("id") or f"call_{len(content)}"),
                    "name": self._name(function.get("name")),
                    "input": _input(function.get("arguments")),
                }
            )
        has_tools = any(block["type"] == "tool_use" for block in content)
        return orjson.dumps(
            {
                "id": answer.id or self._message_id,
                "type": "message",
                "role": "assistant",
                "model": answer.model,
                "content": content,
                "stop_reason": stop_reason(answer.finish_reason, has_tools),
                "stop_sequence": None,
                "usage": _usage(answer.usage),
            }
        )

    # -- SSE ---------------------------------------------------------------------------------------

    def on_end(self) -> bytes:
        return self.finish()

    def stream_error(self, message: str) -> bytes:
        return sse.event("error", error_body("anthropic", 500, message))

    def provider_error(self, message: str, status: int) -> bytes:
        self.ended = True
        return sse.event("error", error_body("anthropic", status, message))

    def begin(self, chunk: dict[str, Any]) -> bytes:
        self.started = True
        self._message_id = chunk.get("id") or self._message_id
        message: dict[str, Any] = {
            "id": self._message_id,
            "type": "message",
            "role": "assistant",
            "model": chunk.get("model") or "unknown",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return sse.event("message_start", orjson.dumps({"type": "message_start", "message": message}))

    def _open_block(self, kind: str, block: dict[str, Any]) -> bytes:
        out = self._close_block()
        self._open, self._open_index = kind, self._next_index
        self._next_index += 1
        payload = {"type": "content_block_start", "index": self._open_index, "content_block": block}
        return out + sse.event("content_block_start", orjson.dumps(payload))

    def _close_block(self) -> bytes:
        if self._open is None:
            return b""
        self._open = None
        return _BLOCK_STOP + b'{"type":"content_block_stop","index":%d}\n\n' % self._open_index

    def _block_delta(self, index: int, delta: dict[str, Any]) -> bytes:
        payload = {"type": "content_block_delta", "index": index, "delta": delta}
        return sse.event("content_block_delta", orjson.dumps(payload))

    def reasoning(self, text: str) -> bytes:
        out = b""
        if self._open != "thinking":
            out += self._open_block("thinking", {"type": "thinking", "thinking": "", "signature": ""})
        return out + self._block_delta(self._open_index, {"type": "thinking_delta", "thinking": text})

    def text(self, text: str) -> bytes:
        out = b""
        if self._open != "text":
            out += self._open_block("text", {"type": "text", "text": ""})
        return out + self._block_delta(self._open_index, {"type": "text_delta", "text": text})

    def tool_start(self, key: Any, call: dict[str, Any], function: dict[str, Any]) -> bytes:
        raw_id = call.get("id") or f"{self._message_id}_tool_{key}"
        block = {"type": "tool_use", "id": tool_id(str(raw_id)), "name": self._name(function.get("name")), "input": {}}
        out = self._open_block(f"tool:{key}", block)
        self._tool_blocks[key] = self._open_index
        return out

    def tool_arguments(self, key: Any, fragment: str) -> bytes:
        return self._block_delta(self._tool_blocks[key], {"type": "input_json_delta", "partial_json": fragment})

    def finish(self) -> bytes:
        out = b"" if self.started else self.begin({})
        out += self._close_block()
        payload = {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(self.finish_reason, bool(self._tool_blocks)), "stop_sequence": None},
            "usage": _usage(self.usage),
        }
        out += sse.event("message_delta", orjson.dumps(payload))
        out += sse.event("message_stop", b'{"type":"message_stop"}')
        self.ended = True
        return out
