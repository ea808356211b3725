"""The demo's scripted model: what a fake chat completions provider answers, as pure functions of the request.

Nothing here does I/O or reads a clock: the same request document always gets the same `Plan` (tool call
ids included), and `completion_json` / `completion_chunks` turn a plan into the OpenAI chat completion
object or the chunk objects of its stream, given the id and timestamp the caller picked. The model
honours the request: tool-call arguments are valid for the tool's JSON schema, `tool_choice` and
`parallel_tool_calls` are obeyed, and a `response_format` gets JSON of that shape (see `plan_reply`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from brightstaff.demo.schema_instance import instance

# The demo agent's tools, in the order a careful analyst would use them; see `plan_reply`.
DEMO_TOOLS = frozenset({"get_db_benchmarks", "get_case_studies", "check_feature_support"})
GENERIC_TOOL_ROUNDS = 3

_STREAM_PIECE = re.compile(r"(?:\S+\s*){1,3}")


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the API sends it


@dataclass(frozen=True, slots=True)
class Plan:
    """What the fake model answers: text, or tool calls (then `content` is None)."""

    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


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


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    parameters: dict[str, Any]  # the JSON schema of its arguments (always an object schema)


def _tools(document: dict[str, Any]) -> list[Tool]:
    """The request's function tools, in order (other tool types are not the model's to call here)."""
    tools: list[Tool] = []
    for tool in document.get("tools") or []:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            parameters = fn.get("parameters")
            schema = parameters if isinstance(parameters, dict) else {}
            # OpenAI's arguments are always a JSON object, also when the schema leaves the type out.
            tools.append(Tool(fn["name"], schema if "type" in schema else {"type": "object", **schema}))
    return tools


def _tool_choice(document: dict[str, Any], tools: list[Tool]) -> tuple[str, list[Tool]]:
    """("none" | "auto" | "required", the tools the model may call); a named choice leaves one tool."""
    choice = document.get("tool_choice")
    if isinstance(choice, str) and choice in ("none", "auto", "required"):
        return choice, tools
    if isinstance(choice, dict):
        if choice.get("type") == "allowed_tools" and isinstance(choice.get("allowed_tools"), dict):
            allowed = choice["allowed_tools"]
            names = {t.get("function", {}).get("name") for t in allowed.get("tools") or [] if isinstance(t, dict)}
            mode = allowed.get("mode") if allowed.get("mode") in ("auto", "required") else "auto"
            return str(mode), [t for t in tools if t.name in names]
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        named = [t for t in tools if t.name == name]
        if named:
            return "required", named
    return "auto", tools


def arguments_for(tool: Tool, wanted: dict[str, Any] | None = None) -> dict[str, Any]:
    """Arguments the tool's schema accepts: `wanted` where the schema allows it, the schema's own otherwise."""
    value = instance(tool.parameters) if wanted is None else instance(tool.parameters, wanted)
    return value if isinstance(value, dict) else {}


def _call(conversation_key: str, round_number: int, index: int, name: str, arguments: dict[str, Any]) -> ToolCall:
    args = json.dumps(arguments, separators=(",", ":"))
    # Deterministic ids: the same conversation gets the same calls, so recorded runs compare equal.
    digest = hashlib.sha256(f"{conversation_key}|{round_number}|{index}|{name}|{args}".encode()).hexdigest()
    return ToolCall(id=f"call_{digest[:24]}", name=name, arguments=args)


# The database investigation: per round, the calls and the arguments the model would like to pass. Each
# agent's own schema has the last word (arguments_for): brightstaff's demo agent takes these as they
# are; an agent whose schema spells the workload `read_heavy`, or requires a database, gets that.
DEMO_SCRIPT: tuple[tuple[tuple[str, dict[str, Any]], ...], ...] = (
    (("get_db_benchmarks", {"workload": "read-heavy"}), ("get_db_benchmarks", {"workload": "write-heavy"})),
    (("get_case_studies", {"database": "postgresql"}), ("get_case_studies", {"database": "mongodb"})),
    (("check_feature_support", {"database": "mongodb", "feature": "multi-document ACID transactions"}),),
)

DEMO_ANSWER = (
    "Recommendation: PostgreSQL.\n"
    "- Orders need multi-row ACID transactions; PostgreSQL gives them with no caveats, MongoDB only "
    "with replica-set transactions and extra latency.\n"
    "- The read-heavy catalogue benchmark is close (PostgreSQL with JSONB indexes is within 10% of "
    "MongoDB), while write-heavy checkout traffic favours PostgreSQL's p99.\n"
    "- Flexible product attributes fit a JSONB column, as the case studies did.\n"
    "Start with the orders/order_items schema and a JSONB attributes column on products."
)


def _script(parallel: bool) -> tuple[tuple[tuple[str, dict[str, Any]], ...], ...]:
    # parallel_tool_calls: false allows one call per answer: the same calls, one round each.
    return DEMO_SCRIPT if parallel else tuple((call,) for calls in DEMO_SCRIPT for call in calls)


def plan_reply(document: dict[str, Any], provider_name: str = "fake") -> Plan:
    """The scripted model: a pure function of the request, so every run of a conversation is the same.

    Every tool call's arguments are valid for that tool's JSON schema (schema_instance.instance).
    With the demo's three tools it follows the database investigation script (benchmarks, case
    studies, a feature check, then the recommendation); with other tools it calls them one per round,
    in order, then answers; without tools it answers with text. `tool_choice` is obeyed: "none" never
    calls, "required" and a named function always call (the named one), `allowed_tools` narrows the
    choice; `parallel_tool_calls: false` makes one call per answer. A `response_format` of
    `json_schema` makes the answer a JSON document valid for that schema; `json_object` a JSON object.
    """
    messages = document.get("messages")
    messages = messages if isinstance(messages, list) else []
    model = str(document.get("model", ""))
    tools = _tools(document)
    mode, callable_tools = _tool_choice(document, tools)
    parallel = document.get("parallel_tool_calls") is not False
    rounds = tool_rounds(messages)
    key = _text(next((m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"), ""))
    by_name = {t.name: t for t in callable_tools}
    scripted = DEMO_TOOLS.issubset(t.name for t in tools)

    if callable_tools and mode != "none":
        calls: list[tuple[Tool, dict[str, Any] | None]] = []
        script = _script(parallel)
        if scripted and rounds < len(script):
            calls = [(by_name[name], wanted) for name, wanted in script[rounds] if name in by_name]
        elif not scripted and rounds < min(len(tools), GENERIC_TOOL_ROUNDS):
            calls = [(by_name[tools[rounds].name], None)] if tools[rounds].name in by_name else []
        if not calls and mode == "required":
            calls = [(callable_tools[rounds % len(callable_tools)], None)]
        if calls:
            return Plan(
                None, tuple(_call(key, rounds, i, t.name, arguments_for(t, w)) for i, (t, w) in enumerate(calls))
            )

    if tools and mode != "none":
        results = sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "tool")
        text = DEMO_ANSWER if scripted else f"Done: {model} used {results} tool result(s) to answer."
    else:
        last_user = next(
            (_text(m.get("content")) for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"), ""
        )
        snippet = " ".join(last_user.split())[:200]
        text = (
            f"This is the fake {provider_name} provider answering as {model}. "
            f"You sent {len(messages)} message(s); the last user message was: {snippet}"
        )
    return Plan(_formatted(document.get("response_format"), text))


def _formatted(response_format: Any, text: str) -> str:
    """The answer in the shape `response_format` asks for: a schema-valid JSON document, a JSON object, or text."""
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return json.dumps(instance(schema if isinstance(schema, dict) else {"type": "object"}))
    if kind == "json_object":
        return json.dumps({"answer": text})
    return text


def _usage(document: dict[str, Any], plan: Plan) -> dict[str, int]:
    # A rough 4-characters-a-token count: deterministic, and in the ballpark clients expect.
    prompt = sum(len(_text(m.get("content"))) for m in document.get("messages", []) if isinstance(m, dict))
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
        chunks += [chunk({"content": piece}) for piece in _STREAM_PIECE.findall(plan.content)]
    for index, call in enumerate(plan.tool_calls):
        chunks.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": ""},
                        }
                    ]
                }
            )
        )
        for start in range(0, len(call.arguments), 12):
            piece = call.arguments[start : start + 12]
            chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    chunks.append(chunk({}, plan.finish_reason))
    if include_usage:
        chunks.append({**base, "choices": [], "usage": _usage(document, plan)})
    return chunks
