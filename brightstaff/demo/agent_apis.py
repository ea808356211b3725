"""The demo agent's side of each client API: one conversation, asked and continued through chat completions
(openai SDK), Anthropic Messages (anthropic SDK) or OpenAI Responses (openai SDK's `responses`).

Whatever the API, `Conversation.ask` sends the whole conversation so far with the agent's tools and gives
back a `Reply` (the body's model, the answer's text, the tool calls with their arguments as JSON text)
and the response headers (brightstaff's decision headers among them); `Conversation.answer` appends the
reply and the tools' results in that API's own shapes (an assistant message and `tool` messages; an
assistant turn of `tool_use` blocks and a user turn of `tool_result` blocks; the output items and
`function_call_output` items). Streaming assembles the same `Reply` from the stream. Nothing here
prints or decides; `agent.run_agent` runs the loop.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import anthropic
import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionToolParam

from brightstaff.demo.scenario import AgentApi

# What each API raises for a failed request (the agent reports it and stops).
API_ERRORS: tuple[type[Exception], ...] = (openai.APIError, anthropic.APIError)
MAX_TOKENS = 4096  # the Messages API requires a limit; the demo's answers are a few hundred tokens


@dataclass(frozen=True, slots=True)
class Call:
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


@dataclass(frozen=True, slots=True)
class Reply:
    model: str  # the response body's `model`
    content: str | None
    calls: tuple[Call, ...]
    finish_reason: str | None  # the API's own word: stop/tool_calls, end_turn/tool_use, completed


class Conversation(Protocol):
    def ask(self, model: str, headers: Mapping[str, str], *, stream: bool) -> tuple[Reply, Mapping[str, str]]: ...

    def answer(self, reply: Reply, results: Sequence[str]) -> None:
        """Append `reply` and the result of each of its calls, in order."""

    def close(self) -> None: ...


def open_conversation(
    api: AgentApi,
    base_url: str,
    *,
    api_key: str,
    timeout: float,
    system_prompt: str,
    prompt: str,
    tools: Sequence[ChatCompletionToolParam],
) -> Conversation:
    """A conversation through `api` on `base_url` (the OpenAI-style `.../v1`; the anthropic SDK adds its own
    `/v1`). No retries: one turn is one request, so what a printout shows is what the router decided."""
    if api == "messages":
        client = anthropic.Anthropic(
            base_url=base_url.removesuffix("/").removesuffix("/v1"), api_key=api_key, max_retries=0, timeout=timeout
        )
        return _Messages(client, system_prompt, prompt, tools)
    openai_client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout)
    if api == "responses":
        return _Responses(openai_client, system_prompt, prompt, tools)
    return _Chat(openai_client, system_prompt, prompt, tools)


def _function(tool: ChatCompletionToolParam) -> Mapping[str, Any]:
    function: Mapping[str, Any] = tool["function"]
    return function


# -- chat completions ----------------------------------------------------------------------------------


class _Chat:
    def __init__(
        self, client: openai.OpenAI, system: str, prompt: str, tools: Sequence[ChatCompletionToolParam]
    ) -> None:
        self._client = client
        self._tools = list(tools)
        self._messages: list[Any] = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]

    def ask(self, model: str, headers: Mapping[str, str], *, stream: bool) -> tuple[Reply, Mapping[str, str]]:
        create = self._client.chat.completions.with_raw_response.create
        common: dict[str, Any] = {"model": model, "messages": self._messages, "tools": self._tools}
        if stream:
            raw_stream = create(**common, tool_choice="auto", stream=True, extra_headers=dict(headers))
            with raw_stream.parse() as chunks:
                return _from_chunks(list(chunks)), raw_stream.headers
        raw = create(**common, tool_choice="auto", extra_headers=dict(headers))
        return _from_completion(raw.parse()), raw.headers

    def answer(self, reply: Reply, results: Sequence[str]) -> None:
        calls = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in reply.calls
        ]
        self._messages.append({"role": "assistant", "content": reply.content, "tool_calls": calls})
        for call, result in zip(reply.calls, results, strict=True):
            self._messages.append({"role": "tool", "tool_call_id": call.id, "content": result})

    def close(self) -> None:
        self._client.close()


def _from_completion(completion: ChatCompletion) -> Reply:
    if not completion.choices:
        return Reply(completion.model, None, (), None)
    choice = completion.choices[0]
    calls = tuple(
        Call(c.id, c.function.name, c.function.arguments)
        for c in choice.message.tool_calls or []
        if c.type == "function"
    )
    return Reply(completion.model, choice.message.content, calls, choice.finish_reason)


def _from_chunks(chunks: Sequence[ChatCompletionChunk]) -> Reply:
    """Assemble a streamed answer: content deltas in order, tool calls by their index."""
    model = ""
    content: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    finish: str | None = None
    for chunk in chunks:
        model = chunk.model or model
        for choice in chunk.choices:
            delta = choice.delta
            if delta.content:
                content.append(delta.content)
            for part in delta.tool_calls or []:
                slot = calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
                slot["id"] = part.id or slot["id"]
                if part.function is not None:
                    slot["name"] += part.function.name or ""
                    slot["arguments"] += part.function.arguments or ""
            finish = choice.finish_reason or finish
    assembled = tuple(Call(c["id"], c["name"], c["arguments"]) for _, c in sorted(calls.items()))
    return Reply(model, "".join(content) if content else None, assembled, finish)


# -- Anthropic Messages --------------------------------------------------------------------------------


class _Messages:
    def __init__(
        self, client: anthropic.Anthropic, system: str, prompt: str, tools: Sequence[ChatCompletionToolParam]
    ) -> None:
        self._client = client
        self._system = system
        self._tools: list[Any] = [
            {"name": f["name"], "description": f.get("description", ""), "input_schema": f["parameters"]}
            for f in map(_function, tools)
        ]
        self._messages: list[Any] = [{"role": "user", "content": prompt}]
        self._last: list[Any] = []  # the content blocks of the latest answer, replayed as they came

    def ask(self, model: str, headers: Mapping[str, str], *, stream: bool) -> tuple[Reply, Mapping[str, str]]:
        common: dict[str, Any] = {
            "model": model,
            "max_tokens": MAX_TOKENS,
            "system": self._system,
            "messages": self._messages,
            "tools": self._tools,
            "tool_choice": {"type": "auto"},
            "extra_headers": dict(headers),
        }
        if stream:
            with self._client.messages.stream(**common) as events:
                message = events.get_final_message()
                response_headers = events.response.headers
        else:
            raw = self._client.messages.with_raw_response.create(**common)
            message, response_headers = raw.parse(), raw.headers
        texts = [block.text for block in message.content if block.type == "text"]
        calls = tuple(
            Call(block.id, block.name, json.dumps(block.input)) for block in message.content if block.type == "tool_use"
        )
        reply = Reply(message.model, "".join(texts) if texts else None, calls, message.stop_reason)
        self._last = [block.model_dump(exclude_none=True) for block in message.content]
        return reply, response_headers

    def answer(self, reply: Reply, results: Sequence[str]) -> None:
        # The assistant turn as it came (text and tool_use blocks), then one user turn of tool results.
        self._messages.append({"role": "assistant", "content": self._last})
        self._messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": call.id, "content": result}
                    for call, result in zip(reply.calls, results, strict=True)
                ],
            }
        )

    def close(self) -> None:
        self._client.close()


# -- OpenAI Responses ----------------------------------------------------------------------------------


class _Responses:
    """Stateless, as agent harnesses use it (`store: false`, the whole conversation in `input`), so it works
    whether brightstaff passes it to OpenAI or translates it for another backend."""

    def __init__(
        self, client: openai.OpenAI, system: str, prompt: str, tools: Sequence[ChatCompletionToolParam]
    ) -> None:
        self._client = client
        self._instructions = system
        self._tools: list[Any] = [
            {
                "type": "function",
                "name": f["name"],
                "description": f.get("description", ""),
                "parameters": f["parameters"],
                "strict": False,
            }
            for f in map(_function, tools)
        ]
        self._input: list[Any] = [{"role": "user", "content": prompt}]
        self._last: list[Any] = []

    def ask(self, model: str, headers: Mapping[str, str], *, stream: bool) -> tuple[Reply, Mapping[str, str]]:
        create = self._client.responses.with_raw_response.create
        common: dict[str, Any] = {
            "model": model,
            "instructions": self._instructions,
            "input": self._input,
            "tools": self._tools,
            "tool_choice": "auto",
            "store": False,
            "extra_headers": dict(headers),
        }
        if stream:
            raw_stream = create(**common, stream=True)
            with raw_stream.parse() as events:
                finals = [e.response for e in events if e.type in ("response.completed", "response.incomplete")]
            if not finals:
                raise ValueError("the Responses stream ended without response.completed")
            response, response_headers = finals[-1], raw_stream.headers
        else:
            raw = create(**common)
            response, response_headers = raw.parse(), raw.headers
        calls = tuple(
            Call(item.call_id, item.name, item.arguments) for item in response.output if item.type == "function_call"
        )
        self._last = [item.model_dump(exclude_none=True) for item in response.output]
        return Reply(response.model, response.output_text or None, calls, response.status), response_headers

    def answer(self, reply: Reply, results: Sequence[str]) -> None:
        self._input += self._last
        self._input += [
            {"type": "function_call_output", "call_id": call.id, "output": result}
            for call, result in zip(reply.calls, results, strict=True)
        ]

    def close(self) -> None:
        self._client.close()
