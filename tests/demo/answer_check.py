"""The fake model's promise, checked on any request in any API: what it answers honours what was asked.

Each `honoured_*` function plans the answer to one request (the scripted model is a pure function, so
this is exactly what the fake sent for it) and fails unless every tool call's arguments are valid for
that tool's schema, the tool choice and parallel tool calls were obeyed, and a structured-output format
got JSON of its shape. The expectations are read from the raw request here, in each API's own spelling,
not through the fakes' readers, so a reader that misreads a field fails the check. The fakes' test
helpers (demo_loop.py) run them over every request a fake accepted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from schema_table import check

from brightstaff.demo.anthropic_wire import messages_ask
from brightstaff.demo.chat_wire import plan_reply
from brightstaff.demo.responses_wire import responses_ask
from brightstaff.demo.scripted_model import Plan, plan


@dataclass
class Expected:
    schemas: dict[str, Any]  # tool name -> its argument schema
    never: bool = False  # no tool call allowed
    always: bool = False  # a tool call required
    named: str | None = None  # exactly this tool
    single: bool = False  # at most one call
    answer_schema: Any = None  # the text answer is JSON valid for this schema
    answer_object: bool = False  # the text answer is a JSON object


def _honours(planned: Plan, expected: Expected) -> Plan:
    for call in planned.tool_calls:
        arguments = json.loads(call.arguments)
        assert isinstance(arguments, dict), call
        check(expected.schemas[call.name], arguments)
    if expected.never or not expected.schemas:
        assert planned.tool_calls == ()
    if expected.always:
        assert planned.tool_calls
    if expected.named is not None:
        assert [c.name for c in planned.tool_calls] == [expected.named]
    if expected.single:
        assert len(planned.tool_calls) <= 1
    if planned.content is not None and expected.answer_schema is not None:
        check(expected.answer_schema, json.loads(planned.content))
    if planned.content is not None and expected.answer_object:
        assert isinstance(json.loads(planned.content), dict)
    return planned


def honoured_plan(document: dict[str, Any], provider_name: str = "fake") -> Plan:
    """A chat completions request's plan, checked."""
    choice = document.get("tool_choice")
    response_format = document.get("response_format") or {}
    kind = response_format.get("type")
    expected = Expected(
        schemas={
            tool["function"]["name"]: tool["function"].get("parameters") or {"type": "object"}
            for tool in document.get("tools") or []
            if isinstance(tool, dict) and isinstance(tool.get("function"), dict)
        },
        never=choice == "none",
        always=choice == "required",
        named=choice["function"]["name"] if isinstance(choice, dict) and choice.get("type") == "function" else None,
        single=document.get("parallel_tool_calls") is False,
        answer_schema=response_format["json_schema"]["schema"] if kind == "json_schema" else None,
        answer_object=kind == "json_object",
    )
    return _honours(plan_reply(document, provider_name), expected)


def honoured_messages_plan(document: dict[str, Any], provider_name: str = "anthropic") -> Plan:
    """An Anthropic Messages request's plan, checked."""
    choice = document.get("tool_choice") or {}
    output = (document.get("output_config") or {}).get("format") or {}
    expected = Expected(
        schemas={t["name"]: t["input_schema"] for t in document.get("tools") or [] if "input_schema" in t},
        never=choice.get("type") == "none",
        always=choice.get("type") in ("any", "tool"),
        named=choice.get("name") if choice.get("type") == "tool" else None,
        single=choice.get("disable_parallel_tool_use") is True,
        answer_schema=output.get("schema") if output.get("type") == "json_schema" else None,
    )
    return _honours(plan(messages_ask(document), provider_name), expected)


def honoured_responses_plan(document: dict[str, Any], items: Sequence[Any], provider_name: str = "openai") -> Plan:
    """A Responses request's plan (its whole conversation `items`), checked."""
    choice = document.get("tool_choice")
    spec = (document.get("text") or {}).get("format") or {}
    expected = Expected(
        schemas={
            t["name"]: t.get("parameters") or {"type": "object"}
            for t in document.get("tools") or []
            if t.get("type") == "function"
        },
        never=choice == "none",
        always=choice == "required",
        named=choice["name"] if isinstance(choice, dict) and choice.get("type") == "function" else None,
        single=document.get("parallel_tool_calls") is False,
        answer_schema=spec.get("schema") if spec.get("type") == "json_schema" else None,
        answer_object=spec.get("type") == "json_object",
    )
    return _honours(plan(responses_ask(document, items), provider_name), expected)
