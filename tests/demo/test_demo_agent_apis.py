"""The demo agent through each client API (agent_apis.py) against the fake of that API (no Envoy): the same
investigation, the same answer, the conversation continued in each API's own shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from demo_loop import running_anthropic, running_provider

from brightstaff.demo.agent import run_agent, run_tool
from brightstaff.demo.fake_anthropic import FakeAnthropic
from brightstaff.demo.fake_provider import FakeProvider
from brightstaff.demo.scenario import AGENT_APIS, AgentApi

SCRIPT = [
    ("get_db_benchmarks", "get_db_benchmarks"),
    ("get_case_studies", "get_case_studies"),
    ("check_feature_support",),
    (),
]
CLAUDE = "claude-sonnet-4-20250514"  # the only model the Anthropic fake serves


@pytest.fixture
def fakes() -> Iterator[tuple[FakeProvider, FakeAnthropic]]:
    with ExitStack() as stack:
        yield stack.enter_context(running_provider("openai")), stack.enter_context(running_anthropic())


def base_url(api: AgentApi, fakes: tuple[FakeProvider, FakeAnthropic]) -> str:
    return fakes[1].base_url if api == "messages" else fakes[0].base_url


def model(api: AgentApi) -> str:
    return CLAUDE if api == "messages" else "gpt-4o-mini"


@pytest.mark.parametrize("api", AGENT_APIS)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_every_api_runs_the_same_investigation(
    fakes: tuple[FakeProvider, FakeAnthropic], api: AgentApi, stream: bool
) -> None:
    run = run_agent(base_url(api, fakes), affinity_id="run-7", api=api, model=model(api), stream=stream)
    assert run.completed, run.error
    assert [t.tool_calls for t in run.turns] == SCRIPT
    assert run.answer is not None and run.answer.startswith("Recommendation:")
    assert {t.model for t in run.turns} == {model(api)}  # no decision headers here: the body's model
    chat = run_agent(fakes[0].base_url, affinity_id=None)
    assert run.answer == chat.answer  # one scripted model, whatever the API


def requests_of(api: AgentApi, fakes: tuple[FakeProvider, FakeAnthropic]) -> list[Any]:
    if api == "messages":
        return fakes[1].messages_requests
    return fakes[0].responses_requests if api == "responses" else fakes[0].chat_requests


@pytest.mark.parametrize("api", AGENT_APIS)
def test_the_affinity_header_and_the_key_go_with_every_turn(
    fakes: tuple[FakeProvider, FakeAnthropic], api: AgentApi
) -> None:
    run_agent(base_url(api, fakes), affinity_id="a1b2c3d4-session", api=api, model=model(api), api_key="sk-agent")
    requests = requests_of(api, fakes)
    assert len(requests) == 4
    assert [r.headers["x-model-affinity"] for r in requests] == ["a1b2c3d4-session"] * 4
    # anthropic-sdk-python 2.x sends its api_key as a bearer token too, as the openai SDK does.
    assert {r.headers["authorization"] for r in requests} == {"Bearer sk-agent"}


def test_messages_continue_with_tool_results_answering_each_tool_use(
    fakes: tuple[FakeProvider, FakeAnthropic],
) -> None:
    run_agent(fakes[1].base_url, affinity_id=None, api="messages", model=CLAUDE)
    last = fakes[1].messages_requests[-1].body
    assert isinstance(last["system"], str) and last["system"]
    assert {t["name"] for t in last["tools"]} == {"get_db_benchmarks", "get_case_studies", "check_feature_support"}
    turns = last["messages"]
    assert [m["role"] for m in turns] == ["user"] + ["assistant", "user"] * 3
    for asked, answered in zip(turns[1::2], turns[2::2], strict=True):
        uses = [b for b in asked["content"] if b["type"] == "tool_use"]
        results = answered["content"]
        assert [r["tool_use_id"] for r in results] == [u["id"] for u in uses]
        assert [r["content"] for r in results] == [run_tool(u["name"], u["input"]) for u in uses]


def test_responses_are_stateless_and_continue_with_function_call_outputs(
    fakes: tuple[FakeProvider, FakeAnthropic],
) -> None:
    run_agent(fakes[0].base_url, affinity_id=None, api="responses")
    requests = fakes[0].responses_requests
    assert all(r.body["store"] is False and "previous_response_id" not in r.body for r in requests)
    assert all(isinstance(r.body["instructions"], str) for r in requests)
    items = requests[-1].body["input"]
    calls = [i for i in items if i.get("type") == "function_call"]
    outputs = [i for i in items if i.get("type") == "function_call_output"]
    assert [o["call_id"] for o in outputs] == [c["call_id"] for c in calls]
    assert [o["output"] for o in outputs] == [run_tool(c["name"], json.loads(c["arguments"])) for c in calls]


@pytest.mark.parametrize("api", ["messages", "responses"])
def test_api_errors_end_the_run_with_a_reason(fakes: tuple[FakeProvider, FakeAnthropic], api: AgentApi) -> None:
    fakes[0].fail_status = fakes[1].fail_status = 500
    failed = run_agent(base_url(api, fakes), affinity_id=None, api=api, model=model(api))
    assert failed.turns == ()
    assert failed.error is not None and failed.error.startswith("turn 1:")
