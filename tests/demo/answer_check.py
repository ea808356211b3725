"""The fake model's promise, checked on any request: what it answers honours what the request asked for.

`honoured_plan(document)` plans the answer (the scripted model is a pure function, so this is exactly
what the fake sent for that request) and fails unless every tool call's arguments are valid for that
tool's schema, `tool_choice` and `parallel_tool_calls` were obeyed, and a `response_format` got JSON
of its shape. The fakes' test helpers run it over every request a fake provider received.
"""

from __future__ import annotations

import json
from typing import Any

from schema_table import check

from brightstaff.demo.chat_wire import plan_reply
from brightstaff.demo.scripted_model import Plan


def honoured_plan(document: dict[str, Any], provider_name: str = "fake") -> Plan:
    plan = plan_reply(document, provider_name)
    schemas = {
        tool["function"]["name"]: tool["function"].get("parameters") or {"type": "object"}
        for tool in document.get("tools") or []
        if isinstance(tool, dict) and isinstance(tool.get("function"), dict)
    }
    choice = document.get("tool_choice")
    for call in plan.tool_calls:
        arguments = json.loads(call.arguments)
        assert isinstance(arguments, dict), call
        check(schemas[call.name], arguments)
    if choice == "none" or not schemas:
        assert plan.tool_calls == ()
    if choice == "required":
        assert plan.tool_calls
    if isinstance(choice, dict) and choice.get("type") == "function":
        assert [c.name for c in plan.tool_calls] == [choice["function"]["name"]]
    if document.get("parallel_tool_calls") is False:
        assert len(plan.tool_calls) <= 1
    response_format = document.get("response_format") or {}
    if plan.content is not None and response_format.get("type") == "json_schema":
        check(response_format["json_schema"]["schema"], json.loads(plan.content))
    if plan.content is not None and response_format.get("type") == "json_object":
        assert isinstance(json.loads(plan.content), dict)
    return plan
