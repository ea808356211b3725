"""The demo's scripted model: what a fake chat completions provider answers, as pure functions of the request.

Nothing here does I/O or reads a clock: the same request document always gets the same `Plan` (tool call
ids included), and `completion_json` / `completion_chunks` turn a plan into the OpenAI chat completion
object or the chunk objects of its stream, given the id and timestamp the caller picked.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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


def _tool_names(tools: Any) -> list[str]:
    names: list[str] = []
    if isinstance(tools, list):
        for tool in tools:
            fn = tool.get("function") if isinstance(tool, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                names.append(fn["name"])
    return names


def _tool_schema(tools: Any, name: str) -> dict[str, Any]:
    for tool in tools if isinstance(tools, list) else []:
        fn = tool.get("function") if isinstance(tool, dict) else None
        parameters = fn.get("parameters") if isinstance(fn, dict) and fn.get("name") == name else None
        if isinstance(parameters, dict):
            return parameters
    return {}


def _example_value(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return "example"
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return _example_arguments(schema)
    return "example"


def _example_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments that satisfy a JSON schema's required properties (all of them, if none are required)."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    required = schema.get("required")
    names = [n for n in required if n in properties] if isinstance(required, list) else list(properties)
    return {n: _example_value(properties[n]) for n in names}


def _call(conversation_key: str, round_number: int, index: int, name: str, arguments: dict[str, Any]) -> ToolCall:
    args = json.dumps(arguments, separators=(",", ":"))
    # Deterministic ids: the same conversation gets the same calls, so recorded runs compare equal.
    digest = hashlib.sha256(f"{conversation_key}|{round_number}|{index}|{name}|{args}".encode()).hexdigest()
    return ToolCall(id=f"call_{digest[:24]}", name=name, arguments=args)


_DEMO_SCRIPT: tuple[tuple[tuple[str, dict[str, Any]], ...], ...] = (
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


def plan_reply(document: dict[str, Any], provider_name: str = "fake") -> Plan:
    """The scripted model: a pure function of the request, so every run of a conversation is the same.

    With the demo agent's tools it follows the database investigation script (benchmarks, case studies,
    a feature check, then the recommendation); with other tools it calls them one per round, in order,
    then answers; without tools (or with tool_choice "none") it answers with text.
    """
    messages = document.get("messages")
    messages = messages if isinstance(messages, list) else []
    model = str(document.get("model", ""))
    tools = document.get("tools")
    names = _tool_names(tools)
    choice = document.get("tool_choice")
    rounds = tool_rounds(messages)
    key = _text(next((m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"), ""))

    if names and choice != "none":
        forced = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
        if isinstance(forced, str) and forced in names:
            return Plan(None, (_call(key, rounds, 0, forced, _example_arguments(_tool_schema(tools, forced))),))
        if DEMO_TOOLS.issubset(names):
            if rounds < len(_DEMO_SCRIPT):
                calls = tuple(_call(key, rounds, i, n, a) for i, (n, a) in enumerate(_DEMO_SCRIPT[rounds]))
                return Plan(None, calls)
            return Plan(DEMO_ANSWER)
        if rounds < min(len(names), GENERIC_TOOL_ROUNDS):
            name = names[rounds]
            return Plan(None, (_call(key, rounds, 0, name, _example_arguments(_tool_schema(tools, name))),))
        results = sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "tool")
        return Plan(f"Done: {model} used {results} tool result(s) to answer.")

    last_user = next(
        (_text(m.get("content")) for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"), ""
    )
    snippet = " ".join(last_user.split())[:200]
    return Plan(
        f"This is the fake {provider_name} provider answering as {model}. "
        f"You sent {len(messages)} message(s); the last user message was: {snippet}"
    )


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
