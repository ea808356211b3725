"""A strict tool-calling agent, shaped like Plano's model-affinity demo client (read, not copied), for tests.

It declares the same three tool schemas that client declares (`database` required, `workload` one of
read_heavy/write_heavy/mixed), runs the same loop (AsyncOpenAI, tool_choice "auto", the assistant
message appended as the SDK returned it, one tool message per call) and dispatches the arguments the
same way: `args["database"]`, `args["workload"]`, `args["feature"].lower()`, so a missing required
argument is a KeyError, as there. Stricter than that client: every argument object is also checked
against its tool's schema (jsonschema), so a wrong enum value or an extra property fails the run too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jsonschema
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

SYSTEM_PROMPT = "You are a database selection analyst. Use the tools, then recommend PostgreSQL or MongoDB."
USER_QUERY = "Should we use PostgreSQL or MongoDB for our e-commerce platform? Research both with the tools."

_DATABASE = {"type": "string", "enum": ["postgresql", "mongodb"]}
TOOLS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "get_db_benchmarks",
            "description": "Fetch performance benchmarks for a database under a given workload.",
            "parameters": {
                "type": "object",
                "properties": {
                    "database": _DATABASE,
                    "workload": {"type": "string", "enum": ["read_heavy", "write_heavy", "mixed"]},
                },
                "required": ["database", "workload"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_case_studies",
            "description": "Retrieve real-world e-commerce case studies for a database.",
            "parameters": {"type": "object", "properties": {"database": _DATABASE}, "required": ["database"]},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "check_feature_support",
            "description": "Check if a database supports a specific feature.",
            "parameters": {
                "type": "object",
                "properties": {"database": _DATABASE, "feature": {"type": "string"}},
                "required": ["database", "feature"],
            },
        },
    },
]
SCHEMAS: dict[str, dict[str, Any]] = {t["function"]["name"]: dict(t["function"].get("parameters", {})) for t in TOOLS}


class ArgumentError(Exception):
    """The model sent arguments the tool's schema rejects."""


def dispatch_tool(name: str, args: dict[str, Any]) -> str:
    """The tool's simulated result; indexes the arguments directly, so a missing one raises KeyError."""
    errors = [e.message for e in jsonschema.Draft202012Validator(SCHEMAS[name]).iter_errors(args)]
    if errors:
        raise ArgumentError(f"{name}({json.dumps(args)}): {'; '.join(errors)}")
    if name == "get_db_benchmarks":
        return json.dumps({"database": args["database"], "workload": args["workload"], "p99_ms": 6})
    if name == "get_case_studies":
        return json.dumps({"database": args["database"], "companies": ["Shopify", "eBay"]})
    if name == "check_feature_support":
        return json.dumps({"database": args["database"], "feature": args["feature"].lower(), "supported": True})
    raise KeyError(name)


@dataclass(frozen=True)
class Trace:
    answer: str
    models: list[str]  # the response body's model, turn by turn (what Plano's client prints)
    tool_calls: list[list[str]]  # the tool names called each turn; [] for the final answer
    arguments: list[tuple[str, dict[str, Any]]]  # every dispatched call, in order


async def run_agent_loop(base_url: str, affinity_id: str | None = None, max_turns: int = 10) -> Trace:
    headers = {"X-Model-Affinity": affinity_id} if affinity_id else None
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": USER_QUERY},
    ]
    models: list[str] = []
    tool_calls: list[list[str]] = []
    dispatched: list[tuple[str, dict[str, Any]]] = []
    async with AsyncOpenAI(base_url=base_url, api_key="EMPTY", max_retries=0, timeout=30) as client:
        for _ in range(max_turns):
            resp = await client.chat.completions.create(
                model="gpt-4o-mini",
                messages=messages,
                tools=TOOLS,
                tool_choice="auto",
                max_completion_tokens=800,
                extra_headers=headers,
            )
            choice = resp.choices[0]
            models.append(resp.model)
            if choice.finish_reason == "tool_calls" and choice.message.tool_calls:
                calls = [c for c in choice.message.tool_calls if c.type == "function"]
                tool_calls.append([c.function.name for c in calls])
                messages.append(choice.message)  # type: ignore[arg-type]  # as the client does: the SDK object
                for call in calls:
                    args = json.loads(call.function.arguments or "{}")
                    dispatched.append((call.function.name, args))
                    result = dispatch_tool(call.function.name, args)
                    messages.append({"role": "tool", "content": result, "tool_call_id": call.id})
            else:
                tool_calls.append([])
                return Trace((choice.message.content or "").strip(), models, tool_calls, dispatched)
    raise AssertionError(f"no final answer after {max_turns} turns: {tool_calls}")
