"""A chat completions answer as an OpenAI Responses answer: JSON, SSE stream and errors.

The response half of `responses_chat` (a Responses client served by an OpenAI-compatible backend). The
chunks are read by `chat_answer`; the Responses objects and events are written by `responses_events`.

JSON (`response` object): the reasoning (`reasoning_content`) as a reasoning item, the text (or the
refusal) as a message, then one `function_call` item per tool call (`call_id` the call's id, the name the
client declared, the arguments as the model wrote them).

SSE: `response.created` and `response.in_progress` at the first chunk (even a stream that is only
`[DONE]` gets them); reasoning deltas → a reasoning item's summary text; content → a message's
`output_text.delta`s; each new OpenAI tool index → a `function_call` item whose argument fragments are
`function_call_arguments.delta`s. A new kind of output closes the open message or reasoning item; calls
close at the finish. The finish waits for the usage as `chat_answer` says, then closes every item and
sends `response.completed`, or `response.incomplete` when the answer was cut (`finish_reason` length →
`max_output_tokens`, content_filter → `content_filter`).

Usage: `input_tokens` = prompt tokens (cached included, as both APIs count them), `cached_tokens` from
`prompt_tokens_details`, `output_tokens` = completion tokens, `reasoning_tokens` from
`completion_tokens_details`.

Errors: a provider error inside the stream, a stream that ends before any finish or `[DONE]`, and an
event brightstaff cannot read end the stream with an `error` event and `response.failed` (after
`response.created`, which the openai SDK needs first). Non-2xx answers are re-rendered in the OpenAI
error shape with the status kept (`upstream_errors`).
"""

from __future__ import annotations

from typing import Any

from brightstaff.core.errors import Dialect
from brightstaff.providers.chat_answer import ChatStreamTranslator, function_of, read_completion
from brightstaff.providers.responses_events import Incomplete, ResponseFrame, usage

INCOMPLETE: dict[str, Incomplete] = {"length": "max_output_tokens", "content_filter": "content_filter"}


def responses_usage(chat_usage: Any) -> Any:
    """A chat completions `usage` as a Responses one; None when the backend reported none."""
    if not isinstance(chat_usage, dict):
        return None
    prompt_details = chat_usage.get("prompt_tokens_details")
    completion_details = chat_usage.get("completion_tokens_details")
    cached = prompt_details.get("cached_tokens") if isinstance(prompt_details, dict) else None
    reasoning = completion_details.get("reasoning_tokens") if isinstance(completion_details, dict) else None
    return usage(
        chat_usage.get("prompt_tokens") or 0,
        chat_usage.get("completion_tokens") or 0,
        cached=cached or 0,
        reasoning=reasoning or 0,
    )


class ResponsesFromChat(ChatStreamTranslator):
    """One answer of an OpenAI-compatible backend to a Responses client."""

    dialect: Dialect = "openai"

    def __init__(self, frame: ResponseFrame, *, tool_names: dict[str, str] | None = None) -> None:
        super().__init__()
        self._frame = frame
        self._names = tool_names or {}
        self._writer = frame.writer(streaming=True)

    def _name(self, name: Any) -> str:
        return self._names.get(name, name) if isinstance(name, str) else ""

    # -- JSON --------------------------------------------------------------------------------------

    def translate_json(self, body: bytes) -> bytes:
        answer = read_completion(body)
        writer = self._frame.writer(streaming=False)
        writer.begin(answer.id, answer.model, answer.created)
        if answer.reasoning is not None:
            writer.reasoning(answer.reasoning)
        if answer.text is not None:
            writer.text(answer.text)
        for position, call in enumerate(answer.tool_calls):
            function = function_of(call)
            writer.call(position, _call_id(call, position), self._name(function.get("name")))
            arguments = function.get("arguments")
            writer.arguments(position, arguments if isinstance(arguments, str) else "")
        return writer.response_json(responses_usage(answer.usage), _incomplete(answer.finish_reason))

    # -- SSE ---------------------------------------------------------------------------------------

    def begin(self, chunk: dict[str, Any]) -> bytes:
        self.started = True
        return self._writer.begin(chunk.get("id"), chunk.get("model"), chunk.get("created"))

    def reasoning(self, text: str) -> bytes:
        return self._writer.reasoning(text)

    def text(self, text: str) -> bytes:
        return self._writer.text(text)

    def tool_start(self, key: Any, call: dict[str, Any], function: dict[str, Any]) -> bytes:
        return self._writer.call(key, _call_id(call, key), self._name(function.get("name")))

    def tool_arguments(self, key: Any, fragment: str) -> bytes:
        return self._writer.arguments(key, fragment)

    def finish(self) -> bytes:
        self.ended = True
        return self._writer.finish(responses_usage(self.usage), _incomplete(self.finish_reason))

    def provider_error(self, message: str, status: int) -> bytes:
        self.ended = True
        return self._writer.fail(message, status)

    def on_end(self) -> bytes:
        if self.finish_reason is not None:
            return self.finish()
        return self.provider_error("The provider's stream ended before the answer was complete.", 502)

    def stream_error(self, message: str) -> bytes:
        return self._writer.fail(message)


def _incomplete(finish_reason: Any) -> Incomplete | None:
    return INCOMPLETE.get(finish_reason) if isinstance(finish_reason, str) else None


def _call_id(call: dict[str, Any], key: Any) -> str:
    call_id = call.get("id")
    return call_id if isinstance(call_id, str) and call_id else f"call_{key}"
