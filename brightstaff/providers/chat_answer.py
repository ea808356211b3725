"""Reading a chat completions answer, whole or streamed: what every translator of an OpenAI-compatible
backend's answer shares (`messages_from_chat` for Anthropic clients, `responses_from_chat` for Responses
clients). Each subclass only says how its client's API writes what was read.

Invariants:
- A whole answer (`read_completion`) yields its first choice's reasoning (`reasoning_content`, or
  `reasoning` as some servers name it), its text (a string, or content parts joined; a `refusal` when
  there is no text), its tool calls in order, the finish reason, the usage and the envelope (id, model,
  created). Missing or malformed pieces read as absent, never as an error.
- A stream (`ChatStreamTranslator`) is read chunk by chunk: the first chunk with a body starts the
  client's answer (`begin`); each delta's reasoning, then content, then tool calls are handed on in that
  order; a tool call is started once per OpenAI tool index (`tool_start`), then its argument fragments
  follow (`tool_arguments`, empty fragments skipped). The finish waits for the usage: when a
  `finish_reason` and a usage have both been seen (OpenAI sends usage in a last chunk with
  `choices: []`, vLLM with `choices: null`), or at `[DONE]`, the subclass's `finish` runs once.
  A chunk that is only `{"error": ...}` is the provider failing mid-stream (`provider_error`, with the
  error's numeric code as the status when it has one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from brightstaff.providers.sse import SSEEvent
from brightstaff.providers.translation import Translator
from brightstaff.providers.upstream_errors import read_error

_DONE = b"[DONE]"


def reasoning_of(message: dict[str, Any]) -> Any:
    """A message's or a delta's reasoning text, under either name servers use."""
    return message.get("reasoning_content") or message.get("reasoning")


@dataclass(frozen=True, slots=True)
class Completion:
    """The first choice of a whole chat completions answer, and its envelope."""

    id: Any
    model: Any
    created: Any
    reasoning: str | None
    text: str | None
    tool_calls: tuple[dict[str, Any], ...]
    finish_reason: Any
    usage: Any


def read_completion(body: bytes) -> Completion:
    """Raises ValueError for a body that is not a JSON object (the translator turns it into an error)."""
    completion = orjson.loads(body)
    if not isinstance(completion, dict):
        raise ValueError("the provider's answer is not a JSON object")
    choices = completion.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    reasoning = reasoning_of(message)
    text = message.get("content")
    if isinstance(text, list):  # some servers answer with content parts
        text = "".join(p.get("text") or "" for p in text if isinstance(p, dict))
    refusal = message.get("refusal")
    text = text or (refusal if isinstance(refusal, str) else None)
    calls = tuple(c for c in message.get("tool_calls") or () if isinstance(c, dict))
    return Completion(
        id=completion.get("id"),
        model=completion.get("model"),
        created=completion.get("created"),
        reasoning=reasoning if isinstance(reasoning, str) and reasoning else None,
        text=text if isinstance(text, str) and text else None,
        tool_calls=calls,
        finish_reason=choice.get("finish_reason"),
        usage=completion.get("usage"),
    )


def function_of(call: dict[str, Any]) -> dict[str, Any]:
    function = call.get("function")
    return function if isinstance(function, dict) else {}


class ChatStreamTranslator(Translator):
    """The chunk-reading skeleton of a chat completions stream; subclasses write their client's events."""

    def __init__(self) -> None:
        super().__init__()
        self.started = False
        self.finish_reason: Any = None
        self.usage: Any = None
        self._tool_keys: set[Any] = set()

    # -- hooks -------------------------------------------------------------------------------------

    def begin(self, chunk: dict[str, Any]) -> bytes:
        """The first chunk: the client's answer begins (the subclass sets `started`)."""
        raise NotImplementedError

    def reasoning(self, text: str) -> bytes:
        raise NotImplementedError

    def text(self, text: str) -> bytes:
        raise NotImplementedError

    def tool_start(self, key: Any, call: dict[str, Any], function: dict[str, Any]) -> bytes:
        raise NotImplementedError

    def tool_arguments(self, key: Any, fragment: str) -> bytes:
        raise NotImplementedError

    def finish(self) -> bytes:
        """The answer is complete: close the client's stream (sets `ended`)."""
        raise NotImplementedError

    def provider_error(self, message: str, status: int) -> bytes:
        """The provider failed mid-stream: end the client's stream with an error (sets `ended`)."""
        raise NotImplementedError

    # -- Translator --------------------------------------------------------------------------------

    def on_event(self, event: SSEEvent) -> bytes:
        if event.data == _DONE:
            return self.finish()
        if not event.data:
            return b""
        chunk = orjson.loads(event.data)
        if not isinstance(chunk, dict):
            return b""
        error = chunk.get("error")
        if error is not None and not chunk.get("choices"):
            message, _ = read_error(event.data, 500)
            code = error.get("code") if isinstance(error, dict) else None
            return self.provider_error(message, code if isinstance(code, int) and 400 <= code < 600 else 500)
        out = b"" if self.started else self.begin(chunk)
        choices = chunk.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            choice = choices[0]
            delta = choice.get("delta")
            if isinstance(delta, dict):
                out += self._delta(delta)
            if choice.get("finish_reason") is not None:
                self.finish_reason = choice["finish_reason"]
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        if self.finish_reason is not None and self.usage is not None:
            out += self.finish()
        return out

    def _delta(self, delta: dict[str, Any]) -> bytes:
        out = b""
        reasoning = reasoning_of(delta)
        if isinstance(reasoning, str) and reasoning:
            out += self.reasoning(reasoning)
        text = delta.get("content")
        if isinstance(text, str) and text:
            out += self.text(text)
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for position, call in enumerate(calls):
                if not isinstance(call, dict):
                    continue
                key = call.get("index", position)
                function = function_of(call)
                if key not in self._tool_keys:
                    self._tool_keys.add(key)
                    out += self.tool_start(key, call, function)
                arguments = function.get("arguments")
                if isinstance(arguments, str) and arguments:
                    out += self.tool_arguments(key, arguments)
        return out
