"""OpenAI chat completions for the scripted model: a request read into an `Ask`, a `Plan` rendered back.

Pure functions, no I/O and no clock: `chat_ask` reads the request document, `plan_reply` plans its
answer, and `completion_json` / `completion_chunks` turn a plan into the chat.completion object or the
chunk objects of its stream, given the id and timestamp the caller picked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from brightstaff.demo.scripted_model import (
    AnswerFormat,
    Ask,
    Plan,
    Tool,
    ToolChoice,
    argument_pieces,
    object_schema,
    plan,
    stream_pieces,
    text_of,
)


def tool_rounds(messages: Sequence[Any]) -> int:
    """How many tool-calling rounds the model already did since the latest user message."""
    rounds = 0
    for message in messages:
        if not isinstance(message, dict):
            continue
        if message.get("role") == "user":
            rounds = 0
        elif message.get("role") == "assistant" and message.get("tool_calls"):
            rounds += 1
    return rounds


def _tools(document: dict[str, Any]) -> tuple[Tool, ...]:
    """The request's function tools, in order (other tool types are not the model's to call here)."""
    tools: list[Tool] = []
    for tool in document.get("tools") or []:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            tools.append(Tool(fn["name"], object_schema(fn.get("parameters"))))
    return tuple(tools)


_MODES = {"none": ToolChoice("none"), "auto": ToolChoice("auto"), "required": ToolChoice("required")}


def _choice(choice: Any, tools: Sequence[Tool]) -> ToolChoice:
    if isinstance(choice, str) and choice in _MODES:
        return _MODES[choice]
    if isinstance(choice, dict):
        if choice.get("type") == "allowed_tools" and isinstance(choice.get("allowed_tools"), dict):
            allowed = choice["allowed_tools"]
            names = {t.get("function", {}).get("name") for t in allowed.get("tools") or [] if isinstance(t, dict)}
            only = frozenset(n for n in names if isinstance(n, str))
            return ToolChoice("required" if allowed.get("mode") == "required" else "auto", only)
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if any(t.name == name for t in tools):
            return ToolChoice("required", frozenset({str(name)}))
    return ToolChoice("auto")


def _answer_format(response_format: Any) -> AnswerFormat | None:
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return AnswerFormat(schema if isinstance(schema, dict) else {"type": "object"})
    if kind == "json_object":
        return AnswerFormat(None)
    return None


def chat_ask(document: dict[str, Any]) -> Ask:
    """A chat completions request as the scripted model reads it."""
    messages = document.get("messages")
    messages = messages if isinstance(messages, list) else []
    dicts = [m for m in messages if isinstance(m, dict)]
    tools = _tools(document)
    users = [text_of(m.get("content")) for m in dicts if m.get("role") == "user"]
    return Ask(
        model=str(document.get("model", "")),
        conversation_key=users[0] if users else "",
        last_user_text=users[-1] if users else "",
        message_count=len(messages),
        rounds=tool_rounds(messages),
        tool_results=sum(1 for m in dicts if m.get("role") == "tool"),
        tools=tools,
        choice=_choice(document.get("tool_choice"), tools),
        parallel=document.get("parallel_tool_calls") is not False,
        answer_format=_answer_format(document.get("response_format")),
    )


def plan_reply(document: dict[str, Any], provider_name: str = "fake") -> Plan:
    """The scripted model's answer to a chat completions request (see scripted_model.plan)."""
    return plan(chat_ask(document), provider_name)


def _usage(document: dict[str, Any], plan: Plan) -> dict[str, int]:
    # A rough 4-characters-a-token count: deterministic, and in the ballpark clients expect.
    prompt = sum(len(text_of(m.get("content"))) for m in document.get("messages", []) if isinstance(m, dict))
    completion = len(plan.content or "") + sum(len(c.name) + len(c.arguments) for c in plan.tool_calls)
    p, c = max(1, prompt // 4), max(1, completion // 4)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def completion_json(document: dict[str, Any], plan: Plan, completion_id: str, created: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": plan.content, "refusal": None}
    if plan.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in plan.tool_calls
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": document["model"],
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": plan.finish_reason}],
        "usage": _usage(document, plan),
    }


def completion_chunks(document: dict[str, Any], plan: Plan, completion_id: str, created: int) -> list[dict[str, Any]]:
    """The chat.completion.chunk objects of a streamed answer, in order (without the [DONE] marker)."""
    options = document.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    base = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": document["model"]}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        out = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if include_usage:
            out["usage"] = None
        return out

    chunks = [chunk({"role": "assistant", "content": "" if plan.content is not None else None})]
    if plan.content:
        chunks += [chunk({"content": piece}) for piece in stream_pieces(plan.content)]
    for index, call in enumerate(plan.tool_calls):
        opening = {"index": index, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        chunks.append(chunk({"tool_calls": [opening]}))
        chunks += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            for piece in argument_pieces(call.arguments)
        ]
    chunks.append(chunk({}, plan.finish_reason))
    if include_usage:
        chunks.append({**base, "choices": [], "usage": _usage(document, plan)})
    return chunks
