"""The scripted model (scripted_model.py), mostly through chat completions (chat_wire.py): request in, plan out.

Every plan here goes through answer_check (honoured_plan, and its Messages and Responses twins): arguments
valid for their tool's schema, tool_choice and parallel_tool_calls obeyed, response_format answered in its
shape. The same conversation in the three APIs gets the same plan.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from answer_check import honoured_messages_plan, honoured_plan, honoured_responses_plan
from schema_table import SCHEMAS
from strict_agent import TOOLS as STRICT_TOOLS
from tool_specs import DEMO_TOOLS, WEATHER_TOOLS, anthropic_tools, responses_tools

from brightstaff.demo.agent import TOOLS as AGENT_TOOLS
from brightstaff.demo.chat_wire import tool_rounds
from brightstaff.demo.scripted_model import DEMO_ANSWER, Ask, Plan, Tool, ToolChoice, output_tokens, plan

USER = {"role": "user", "content": "q"}


def request(tools: list[Any] | None = None, **fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [USER], **({"tools": tools} if tools is not None else {}), **fields}


def as_tool(name: str, schema: Any) -> dict[str, Any]:
    """A function tool whose parameters are the schema, wrapped in an object when it is not one.

    The wrapper takes the schema's definitions along to its own root, where the "#/..." refs point."""
    flat = isinstance(schema, dict) and (schema.get("type") == "object" or "properties" in schema)
    if flat:
        parameters = schema
    else:
        inner = dict(schema) if isinstance(schema, dict) else schema
        definitions = {k: inner.pop(k) for k in ("$defs", "definitions") if isinstance(inner, dict) and k in inner}
        parameters = {"type": "object", "properties": {"value": inner}, "required": ["value"], **definitions}
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


def continue_after(document: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """The next request of the loop: the plan's tool calls and a result for each appended."""
    calls = [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in plan.tool_calls
    ]
    results = [{"role": "tool", "tool_call_id": c.id, "content": "{}"} for c in plan.tool_calls]
    messages = [*document["messages"], {"role": "assistant", "content": None, "tool_calls": calls}, *results]
    return {**document, "messages": messages}


def run(document: dict[str, Any], most: int = 8) -> list[Plan]:
    """Plan turn after turn until a text answer (bounded)."""
    plans = []
    for _ in range(most):
        plans.append(honoured_plan(document))
        if not plans[-1].tool_calls:
            break
        document = continue_after(document, plans[-1])
    return plans


def calls(plans: list[Plan]) -> list[list[tuple[str, dict[str, Any]]]]:
    return [[(c.name, json.loads(c.arguments)) for c in p.tool_calls] for p in plans if p.tool_calls]


def test_tool_rounds_count_since_the_latest_user_message() -> None:
    assistant = {"role": "assistant", "tool_calls": [{"id": "1"}]}
    assert tool_rounds([{"role": "user"}, assistant, {"role": "tool"}, assistant]) == 2
    assert tool_rounds([{"role": "user"}, assistant, {"role": "tool"}, {"role": "user"}]) == 0


@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
@pytest.mark.parametrize("choice", ["auto", "required", "named"])
def test_arguments_are_valid_for_every_schema_of_the_table(schema: Any, choice: str) -> None:
    tools = [as_tool("first", {"type": "object", "properties": {}}), as_tool("target", schema)]
    tool_choice: Any = {"type": "function", "function": {"name": "target"}} if choice == "named" else choice
    document = request(tools, tool_choice=tool_choice)
    plans = run(document)
    used = [c.name for p in plans for c in p.tool_calls]
    assert "target" in used, "the generic loop calls every tool once, in order; a named choice calls it at once"
    assert honoured_plan(document) == honoured_plan(document), "deterministic, ids included"


def test_the_demo_agents_own_tools_get_the_script_unchanged() -> None:
    assert calls(run(request(AGENT_TOOLS, tool_choice="auto"))) == [
        [("get_db_benchmarks", {"workload": "read-heavy"}), ("get_db_benchmarks", {"workload": "write-heavy"})],
        [("get_case_studies", {"database": "postgresql"}), ("get_case_studies", {"database": "mongodb"})],
        [("check_feature_support", {"database": "mongodb", "feature": "multi-document ACID transactions"})],
    ]


def test_another_agents_schemas_for_the_same_tools_get_arguments_they_accept() -> None:
    """Plano's demo client spells the workloads read_heavy/write_heavy and requires a database."""
    plans = run(request(STRICT_TOOLS, tool_choice="auto"))
    assert calls(plans) == [
        [
            ("get_db_benchmarks", {"database": "postgresql", "workload": "read_heavy"}),
            ("get_db_benchmarks", {"database": "postgresql", "workload": "write_heavy"}),
        ],
        [("get_case_studies", {"database": "postgresql"}), ("get_case_studies", {"database": "mongodb"})],
        [("check_feature_support", {"database": "mongodb", "feature": "multi-document ACID transactions"})],
    ]
    assert plans[-1].content == DEMO_ANSWER


def test_tool_choice_none_never_calls() -> None:
    plan = honoured_plan(request(WEATHER_TOOLS, tool_choice="none"))
    assert plan.tool_calls == ()
    assert plan.content is not None


def test_tool_choice_required_keeps_calling_after_the_script_ends() -> None:
    plans = run(request(DEMO_TOOLS, tool_choice="required"), most=6)
    assert all(p.tool_calls for p in plans)
    assert len(plans) == 6


def test_a_named_tool_is_called_every_turn() -> None:
    named = {"type": "function", "function": {"name": "get_time"}}
    plans = run(request(WEATHER_TOOLS, tool_choice=named), most=4)
    assert [[c.name for c in p.tool_calls] for p in plans] == [["get_time"]] * 4


def test_allowed_tools_narrow_the_choice() -> None:
    allowed = {
        "type": "allowed_tools",
        "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "get_weather"}}]},
    }
    plans = run(request(WEATHER_TOOLS, tool_choice=allowed), most=3)
    assert {c.name for p in plans for c in p.tool_calls} == {"get_weather"}


def test_no_parallel_tool_calls_means_one_call_per_turn() -> None:
    plans = run(request(AGENT_TOOLS, parallel_tool_calls=False))
    assert [len(p.tool_calls) for p in plans] == [1, 1, 1, 1, 1, 0]
    assert plans[-1].content == DEMO_ANSWER


def test_response_format_json_schema_answers_with_a_valid_document() -> None:
    schema = SCHEMAS["pydantic-Person"]
    response_format = {"type": "json_schema", "json_schema": {"name": "Person", "schema": schema, "strict": True}}
    plan = honoured_plan(request(response_format=response_format))
    assert json.loads(plan.content or "")["home"]["zip"]
    # With tools, the tool rounds come first and the final answer is the document.
    plans = run(request(WEATHER_TOOLS, response_format=response_format))
    assert plans[0].tool_calls
    assert json.loads(plans[-1].content or "")["mode"] in ("fast", "slow")


def test_response_format_json_object_answers_with_an_object() -> None:
    plan = honoured_plan(request(response_format={"type": "json_object"}))
    assert "answer" in json.loads(plan.content or "")


# --------------------------------------------------------------------------------------------------
# One conversation, three APIs: the same plan


def test_the_three_apis_read_one_conversation_alike() -> None:
    """A user question, a round of weather calls and their results, in each API's spelling."""
    first = honoured_plan(request(WEATHER_TOOLS, messages=[{"role": "user", "content": "weather in Oslo?"}]))
    [call] = first.tool_calls
    chat = request(
        WEATHER_TOOLS,
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "weather in Oslo?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            ]},
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ],
    )  # fmt: skip
    messages = {
        "model": "m",
        "max_tokens": 1000,
        "system": "be brief",
        "tools": anthropic_tools(WEATHER_TOOLS),
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "weather in Oslo?"}]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_1", "name": call.name, "input": call.input()}
            ]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]},
        ],
    }  # fmt: skip
    items = [
        {"role": "user", "content": "weather in Oslo?"},
        {"type": "function_call", "call_id": call.id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.id, "output": "sunny"},
    ]
    responses = {"model": "m", "instructions": "be brief", "input": items, "tools": responses_tools(WEATHER_TOOLS)}
    plans = [
        honoured_plan(chat),
        honoured_messages_plan(messages),
        honoured_responses_plan(responses, items),
    ]
    assert plans[0].tool_calls
    assert plans[1] == plans[0]
    assert plans[2] == plans[0]


def ask_of(**fields: Any) -> Ask:
    base: dict[str, Any] = {
        "model": "m",
        "conversation_key": "q",
        "last_user_text": "q",
        "message_count": 1,
        "rounds": 0,
        "tool_results": 0,
    }
    return Ask(**{**base, **fields})


def test_a_budget_cuts_the_text_and_keeps_only_the_calls_that_fit() -> None:
    whole = plan(ask_of())
    assert not whole.truncated
    cut = plan(ask_of(max_output_tokens=3))
    assert cut.truncated
    assert cut.content == (whole.content or "")[:12]
    assert output_tokens(cut) <= 3
    tools = (Tool("a", {"type": "object", "properties": {}}), Tool("b", {"type": "object", "properties": {}}))
    calls = plan(ask_of(tools=tools, choice=ToolChoice("required"), parallel=True))
    assert len(calls.tool_calls) == 1
    assert plan(ask_of(tools=tools, max_output_tokens=0)) == Plan(None, (), None, truncated=True)
    assert plan(ask_of(max_output_tokens=10_000)) == whole


def test_thinking_puts_a_line_of_reasoning_in_the_plan() -> None:
    assert plan(ask_of()).reasoning is None
    assert plan(ask_of(think=True)).reasoning == "I have what I need to answer."
    tools = (Tool("lookup", {"type": "object", "properties": {}}),)
    assert plan(ask_of(tools=tools, think=True)).reasoning == "I need lookup before I can answer this."
