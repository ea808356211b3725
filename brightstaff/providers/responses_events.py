"""A Responses answer built from what another API's backend said: the `response` object and its events.

The response halves of `responses_chat` and `responses_anthropic` read their backend's answer (chat
completions chunks, Anthropic events) and tell one `ResponsesWriter` what happened: text, reasoning, a
function call started, its argument fragments, the finish. The writer owns every Responses shape, so both
translators emit the same objects and the same event sequence.

Invariants of `ResponsesWriter` (one per response):
- Streamed, the events are the Responses API's, in its order, each with `sequence_number` from 0:
  `response.created`, `response.in_progress`; per output item `response.output_item.added`, then for a
  message `response.content_part.added`, `response.output_text.delta`s, `response.output_text.done`,
  `response.content_part.done`; for reasoning `response.reasoning_summary_part.added`,
  `response.reasoning_summary_text.delta`s, `.done`, `response.reasoning_summary_part.done`; for a
  function call `response.function_call_arguments.delta`s and `.done`; then `response.output_item.done`.
  The stream ends with exactly one of `response.completed`, `response.incomplete` (the answer was cut by
  its token limit or a content filter: `incomplete_details.reason`) or, on a failure, an `error` event
  and `response.failed`. Nothing is written after that.
- Output indices are contiguous from 0 in the order items open; a message or reasoning item is closed
  when another item opens; function calls stay open until `close_call` or the finish (chat completions
  servers may interleave parallel calls' fragments). Every opened item is closed before the end, its
  `output_item.done` carrying the complete item, and the final `response` lists every item.
- Unstreamed (a JSON answer) the same calls build the same items and `response_json` is the object.
- The `response` object echoes what the request asked for (`response_echo`) and says `store: false`:
  nothing is stored on a translated path. Ids are `resp_`, `msg_`, `fc_` and `rs_` plus a token taken
  from the backend's own id (or a random one), so they are unique and stable within a response.
- Anthropic thinking becomes a reasoning item whose summary is the thinking text; its signature (or a
  redacted block's data) rides in `encrypted_content` behind a prefix (`THINKING_PREFIX`,
  `REDACTED_PREFIX`), so a client that sends the item back lets `responses_chat` rebuild the block.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from brightstaff.core.responses import ResponsesRequest
from brightstaff.providers import sse

THINKING_PREFIX = "anthropic.thinking:"
REDACTED_PREFIX = "anthropic.redacted_thinking:"

Incomplete = Literal["max_output_tokens", "content_filter"]
_TOKEN_UNSAFE = re.compile(r"[^A-Za-z0-9]")
_KIND_PREFIX = {"message": "msg", "reasoning": "rs", "function_call": "fc"}
_TEXT_DELTA = b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":'
_REASONING_DELTA = (
    b'event: response.reasoning_summary_text.delta\ndata: {"type":"response.reasoning_summary_text.delta",'
    b'"sequence_number":'
)
_ARGUMENTS_DELTA = (
    b'event: response.function_call_arguments.delta\ndata: {"type":"response.function_call_arguments.delta",'
    b'"sequence_number":'
)


def _random_token() -> str:
    return secrets.token_hex(12)


def usage(input_tokens: int, output_tokens: int, *, cached: int = 0, written: int = 0, reasoning: int = 0) -> Any:
    """A Responses `usage` object (`input_tokens` counts cached and cache-written tokens too)."""
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": written},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input_tokens + output_tokens,
    }


def _function_tool(tool: Any) -> Any:
    if isinstance(tool, dict) and tool.get("type") == "function":
        return {"description": None, "parameters": None, "strict": None, **tool}
    return tool


def response_echo(request: ResponsesRequest) -> dict[str, Any]:
    """What every `response` object repeats of the request, with the API's defaults where it said nothing."""
    reasoning = request.decoded("reasoning")
    text = request.decoded("text")
    tools = request.decoded("tools")
    parallel = request.decoded("parallel_tool_calls")
    return {
        "instructions": request.decoded("instructions"),
        "max_output_tokens": request.decoded("max_output_tokens"),
        "max_tool_calls": request.decoded("max_tool_calls"),
        "metadata": request.decoded("metadata") or {},
        "parallel_tool_calls": parallel if isinstance(parallel, bool) else True,
        "previous_response_id": None,
        "prompt_cache_key": request.decoded("prompt_cache_key"),
        "reasoning": {"effort": None, "summary": None, **(reasoning if isinstance(reasoning, dict) else {})},
        "safety_identifier": request.decoded("safety_identifier"),
        "service_tier": "default",
        "store": False,
        "temperature": request.decoded("temperature"),
        "text": {"format": {"type": "text"}, **(text if isinstance(text, dict) else {})},
        "tool_choice": request.decoded("tool_choice") or "auto",
        "tools": [_function_tool(t) for t in tools] if isinstance(tools, list) else [],
        "top_p": request.decoded("top_p"),
        "truncation": "disabled",
        "user": request.decoded("user"),
    }


@dataclass(frozen=True, slots=True)
class ResponseFrame:
    """What one request's answer is written with: the echo, the model until the backend names its own,
    the clock and the id token source (injected by tests)."""

    echo: dict[str, Any]
    model: str
    clock: Callable[[], float] = time.time
    new_token: Callable[[], str] | None = None

    def writer(self, *, streaming: bool) -> ResponsesWriter:
        return ResponsesWriter(self, streaming=streaming)


def response_frame(request: ResponsesRequest, model: str) -> ResponseFrame:
    return ResponseFrame(response_echo(request), model)


@dataclass(slots=True)
class _Item:
    kind: Literal["message", "reasoning", "function_call"]
    index: int
    id: str
    pieces: list[str]  # text, reasoning summary or argument fragments
    call_id: str = ""
    name: str = ""
    encrypted: str | None = None
    done: dict[str, Any] | None = None  # the complete item, once closed
    delta_head: bytes = b""  # the bytes after a delta's sequence_number, up to the delta's value

    def complete(self, status: str) -> dict[str, Any]:
        joined = "".join(self.pieces)
        if self.kind == "message":
            part = {"type": "output_text", "text": joined, "annotations": [], "logprobs": []}
            return {"id": self.id, "type": "message", "status": status, "role": "assistant", "content": [part]}
        if self.kind == "function_call":
            return {
                "id": self.id,
                "type": "function_call",
                "status": "completed",
                "arguments": joined,
                "call_id": self.call_id,
                "name": self.name,
            }
        item: dict[str, Any] = {"id": self.id, "type": "reasoning", "summary": []}
        if joined:
            item["summary"] = [{"type": "summary_text", "text": joined}]
        if self.encrypted is not None:
            item["encrypted_content"] = self.encrypted
        return item


class ResponsesWriter:
    """One Responses answer, streamed (`streaming=True`: each call returns its events' bytes) or whole."""

    def __init__(self, frame: ResponseFrame, *, streaming: bool) -> None:
        self._echo = frame.echo
        self._streaming = streaming
        self._model = frame.model
        self._clock = frame.clock
        self._new_token = frame.new_token or _random_token
        self._token = ""
        self._created_at = 0
        self._sequence = 0
        self._items: list[_Item] = []
        self._open: _Item | None = None  # the open message or reasoning item
        self._calls: dict[Any, _Item] = {}  # open function calls by the backend's key
        self.started = False
        self.ended = False

    # -- the response ------------------------------------------------------------------------------

    def begin(self, upstream_id: Any = None, model: Any = None, created: Any = None) -> bytes:
        """Fix the response's identity; streamed, `response.created` and `response.in_progress`."""
        if self.started:
            return b""
        self.started = True
        token = _TOKEN_UNSAFE.sub("", upstream_id) if isinstance(upstream_id, str) else ""
        self._token = token or self._new_token()
        if isinstance(model, str) and model:
            self._model = model
        self._created_at = created if isinstance(created, int) and created > 0 else int(self._clock())
        if not self._streaming:
            return b""
        snapshot = self._response("in_progress", None)
        return self._event("response.created", {"response": snapshot}) + self._event(
            "response.in_progress", {"response": snapshot}
        )

    def finish(self, usage: Any, incomplete: Incomplete | None = None) -> bytes:
        """Close every open item, then `response.completed` (or `response.incomplete`) with the usage."""
        status = "completed" if incomplete is None else "incomplete"
        out = self._close_all(status)
        return out + self._event(f"response.{status}", {"response": self._response(status, usage, incomplete)})

    def fail(self, message: str, status: int = 500) -> bytes:
        """The answer failed: an `error` event, then `response.failed` (after `response.created` if it
        was not sent yet: the openai SDK reads nothing before it)."""
        if self.ended:
            return b""
        out = self.begin()
        self.ended = True
        code = "rate_limit_exceeded" if status == 429 else "server_error"
        out += self._event("error", {"code": code, "message": message, "param": None})
        response = self._response("failed", None)
        response["error"] = {"code": code, "message": message}
        return out + self._event("response.failed", {"response": response})

    def response_json(self, usage: Any, incomplete: Incomplete | None = None) -> bytes:
        """The whole `response` object of an unstreamed answer, once its items were given."""
        status = "completed" if incomplete is None else "incomplete"
        self._close_all(status)
        return orjson.dumps(self._response(status, usage, incomplete))

    # -- output items ------------------------------------------------------------------------------

    def text(self, delta: str) -> bytes:
        out = b"" if self._open is not None and self._open.kind == "message" else self._open_item("message")
        return out + self._delta(_TEXT_DELTA, delta)

    def reasoning(self, delta: str) -> bytes:
        out = b"" if self._open is not None and self._open.kind == "reasoning" else self._open_item("reasoning")
        assert self._open is not None  # opened just above
        if self._streaming and not self._open.pieces:  # the summary part is announced with its first text
            at = {"item_id": self._open.id, "output_index": self._open.index, "summary_index": 0}
            part = {"type": "summary_text", "text": ""}
            out += self._event("response.reasoning_summary_part.added", {**at, "part": part})
        return out + self._delta(_REASONING_DELTA, delta)

    def reasoning_encrypted(self, prefix: str, value: str) -> bytes:
        """Add to the open reasoning item's `encrypted_content`: `prefix` (what the value is) then `value`
        (an Anthropic signature or redacted data, which may arrive in pieces)."""
        out = b"" if self._open is not None and self._open.kind == "reasoning" else self._open_item("reasoning")
        assert self._open is not None  # opened just above
        self._open.encrypted = (self._open.encrypted or prefix) + value
        return out

    def call(self, key: Any, call_id: str, name: str) -> bytes:
        """A function call starts; its argument fragments follow under the same `key`."""
        out = self.close_open()
        item = self._new_item("function_call")
        item.call_id, item.name = call_id, name
        self._calls[key] = item
        added = {"id": item.id, "type": "function_call", "status": "in_progress", "arguments": ""}
        added |= {"call_id": call_id, "name": name}
        item.delta_head = b',"item_id":"%s","output_index":%d,"delta":' % (item.id.encode(), item.index)
        return out + self._event("response.output_item.added", {"output_index": item.index, "item": added})

    def arguments(self, key: Any, fragment: str) -> bytes:
        item = self._calls.get(key)
        if item is None or not fragment:
            return b""
        item.pieces.append(fragment)
        if not self._streaming:
            return b""
        return self._raw_delta(_ARGUMENTS_DELTA, item, fragment)

    def has_calls(self) -> bool:
        return any(item.kind == "function_call" for item in self._items)

    def close_open(self, status: str = "completed") -> bytes:
        """Close the open message or reasoning item, if any."""
        item, self._open = self._open, None
        if item is None:
            return b""
        done = item.done = item.complete(status)
        if not self._streaming:
            return b""
        at = {"item_id": item.id, "output_index": item.index}
        text = "".join(item.pieces)
        if item.kind == "message":
            part = done["content"][0]
            out = self._event("response.output_text.done", {**at, "content_index": 0, "text": text, "logprobs": []})
            out += self._event("response.content_part.done", {**at, "content_index": 0, "part": part})
        else:
            out = b""
            if item.pieces:
                summary = {"type": "summary_text", "text": text}
                out += self._event("response.reasoning_summary_text.done", {**at, "summary_index": 0, "text": text})
                out += self._event("response.reasoning_summary_part.done", {**at, "summary_index": 0, "part": summary})
        return out + self._event("response.output_item.done", {"output_index": item.index, "item": done})

    def close_call(self, key: Any) -> bytes:
        item = self._calls.pop(key, None)
        if item is None:
            return b""
        done = item.done = item.complete("completed")
        if not self._streaming:
            return b""
        at = {"item_id": item.id, "output_index": item.index}
        arguments = {**at, "name": item.name, "arguments": done["arguments"]}
        out = self._event("response.function_call_arguments.done", arguments)
        return out + self._event("response.output_item.done", {"output_index": item.index, "item": done})

    # -- internals ---------------------------------------------------------------------------------

    def _close_all(self, status: str) -> bytes:
        out = self.begin() + self.close_open(status)
        for key in list(self._calls):
            out += self.close_call(key)
        self.ended = True
        return out

    def _new_item(self, kind: Literal["message", "reasoning", "function_call"]) -> _Item:
        if not self.started:
            raise RuntimeError("an output item before the response began")
        index = len(self._items)
        item = _Item(kind, index, f"{_KIND_PREFIX[kind]}_{self._token}_{index}", [])
        self._items.append(item)
        return item

    def _open_item(self, kind: Literal["message", "reasoning"]) -> bytes:
        out = self.close_open()
        item = self._open = self._new_item(kind)
        if not self._streaming:
            return out
        if kind == "message":
            at = {"item_id": item.id, "output_index": item.index}
            added = {"id": item.id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            out += self._event("response.output_item.added", {"output_index": item.index, "item": added})
            out += self._event("response.content_part.added", {**at, "content_index": 0, "part": part})
            item.delta_head = b',"item_id":"%s","output_index":%d,"content_index":0,"logprobs":[],"delta":' % (
                item.id.encode(),
                item.index,
            )
        else:
            added = {"id": item.id, "type": "reasoning", "summary": []}
            out += self._event("response.output_item.added", {"output_index": item.index, "item": added})
            item.delta_head = b',"item_id":"%s","output_index":%d,"summary_index":0,"delta":' % (
                item.id.encode(),
                item.index,
            )
        return out

    def _delta(self, head: bytes, delta: str) -> bytes:
        item = self._open
        assert item is not None  # the caller opened it
        item.pieces.append(delta)
        return self._raw_delta(head, item, delta) if self._streaming else b""

    def _raw_delta(self, head: bytes, item: _Item, delta: str) -> bytes:
        sequence = self._sequence
        self._sequence += 1
        return head + b"%d" % sequence + item.delta_head + orjson.dumps(delta) + b"}\n\n"

    def _event(self, kind: str, payload: dict[str, Any]) -> bytes:
        if not self._streaming:
            return b""
        sequence = self._sequence
        self._sequence += 1
        return sse.event(kind, orjson.dumps({"type": kind, "sequence_number": sequence, **payload}))

    def _response(self, status: str, usage: Any, incomplete: Incomplete | None = None) -> dict[str, Any]:
        finished = status in ("completed", "incomplete")
        output = [item.done or item.complete("incomplete") for item in self._items] if status != "in_progress" else []
        return {
            "id": f"resp_{self._token}",
            "object": "response",
            "created_at": self._created_at,
            "status": status,
            "background": False,
            "completed_at": int(self._clock()) if finished else None,
            "error": None,
            "incomplete_details": {"reason": incomplete} if incomplete is not None else None,
            "model": self._model,
            **self._echo,
            "output": output,
            "usage": usage,
        }
