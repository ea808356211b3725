"""The agent-server demo's research against the fake provider (no Envoy), its trace JSON and its printout."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from demo_loop import running_provider

from brightstaff.config import parse_config
from brightstaff.core.chat import parse_chat
from brightstaff.demo.agent import AgentRun, Turn
from brightstaff.demo.fake_provider import FakeProvider
from brightstaff.demo.ports import port_or_free
from brightstaff.demo.research import (
    SYSTEM_PROMPT,
    TASKS,
    TaskRun,
    contrast_line,
    format_research,
    research,
    task_row,
    trace_from_json,
    trace_json,
)
from brightstaff.demo.scenario import demo_config
from brightstaff.routing.embedded import EmbeddedRouter

SONNET, GPT4O = "claude-sonnet-4-20250514", "gpt-4o"


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with running_provider("openai") as fake:
        yield fake


def turn(number: int, model: str, *tools: str, affinity: str | None = None) -> Turn:
    return Turn(
        number, model, model, model, f"p/{model}", affinity, "r", tuple(tools), "tool_calls" if tools else "stop"
    )


def task(name: str, *models: str, affinity_id: str | None = None, error: str | None = None) -> TaskRun:
    turns = tuple(turn(n, m, *(() if n == len(models) else ("t",))) for n, m in enumerate(models, 1))
    return TaskRun(name, AgentRun(affinity_id, turns, None if error else "answer", error))


def _conversations(requests: list[Any]) -> list[list[dict[str, Any]]]:
    """The first request of each task: a conversation of two messages, system and user."""
    return [r.body["messages"] for r in requests if len(r.body["messages"]) == 2]


def test_three_tasks_each_its_own_tool_loop(provider: FakeProvider) -> None:
    tasks = research(provider.base_url, affinity_id=None)
    assert [t.name for t in tasks] == ["generate_comparison", "analyse_tradeoffs", "write_schema"]
    for t in tasks:
        assert t.run.completed
        assert any(turn.tool_calls for turn in t.run.turns)  # a tool loop: tools called, then an answer
        assert t.run.turns[-1].final
    firsts = _conversations(provider.chat_requests)
    assert len(firsts) == 3
    # Each task asks its own question; what earlier tasks found is context in the system message.
    assert [m[1]["content"] for m in firsts] == [t.prompt for t in TASKS]
    assert firsts[0][0]["content"] == SYSTEM_PROMPT
    assert tasks[0].run.answer is not None
    assert f"### generate_comparison\n{tasks[0].run.answer}" in firsts[1][0]["content"]
    assert "### analyse_tradeoffs" in firsts[2][0]["content"]
    assert all("x-model-affinity" not in r.headers for r in provider.chat_requests)


def test_the_affinity_id_goes_with_every_call_of_every_task(provider: FakeProvider) -> None:
    tasks = research(provider.base_url, affinity_id="research-7")
    assert sum(len(t.run.turns) for t in tasks) == len(provider.chat_requests) >= 6
    assert {r.headers.get("x-model-affinity") for r in provider.chat_requests} == {"research-7"}
    assert {t.run.affinity_id for t in tasks} == {"research-7"}


def test_a_failed_task_ends_the_research(provider: FakeProvider) -> None:
    provider.fail_status = 503
    tasks = research(provider.base_url, affinity_id=None, timeout=5)
    assert len(tasks) == 1
    assert tasks[0].run.error is not None
    assert tasks[0].model is None


def test_callbacks_see_every_call_and_task_and_can_stop_it(provider: FakeProvider) -> None:
    seen: list[str] = []
    research(provider.base_url, affinity_id=None, on_task=lambda t: seen.append(t.name))
    assert seen == [t.name for t in TASKS]

    class Stop(Exception):
        pass

    def stop_on_second(turn: Turn) -> None:
        if turn.number == 2:
            raise Stop

    with pytest.raises(Stop):
        research(provider.base_url, affinity_id=None, on_turn=stop_on_second)


def test_the_tasks_read_differently_to_the_embedded_router(provider: FakeProvider) -> None:
    """The contrast the demo shows comes from the request text: the tasks' asks do not all route alike."""
    research(provider.base_url, affinity_id=None)
    config = parse_config(demo_config({"openai": 1, "anthropic": 2}), {})
    router = EmbeddedRouter(config.providers, config.routing.min_match_score)
    firsts = [r for r in provider.chat_requests if len(r.body["messages"]) == 2]
    routes = [router.classify(parse_chat(orjson.dumps(r.body)).conversation).provider for r in firsts]
    assert len(set(routes)) >= 2, routes


# --------------------------------------------------------------------------------------------------
# The trace, as it crosses HTTP


def test_trace_json_round_trips(provider: FakeProvider) -> None:
    tasks = research(provider.base_url, affinity_id="rt-1")
    text = json.dumps(trace_json(tasks))
    assert trace_from_json(json.loads(text)) == tasks
    first = json.loads(text)[0]
    assert first["task"] == "generate_comparison"
    assert first["model"] == "gpt-4o-mini"
    assert first["turns"][0]["tool_calls"] == ["get_db_benchmarks", "get_db_benchmarks"]


def test_trace_from_json_refuses_what_is_not_a_trace() -> None:
    with pytest.raises(KeyError):
        trace_from_json([{"task": "x"}])
    with pytest.raises(TypeError):
        trace_from_json(
            [{"task": "x", "affinity_id": None, "answer": None, "error": None, "turns": [{"n": 1, "tool_calls": []}]}]
        )


# --------------------------------------------------------------------------------------------------
# The printout


def test_format_research_prints_a_row_per_task_and_the_main_demos_lines() -> None:
    without = [
        task("generate_comparison", GPT4O, GPT4O, SONNET),
        task("analyse_tradeoffs", GPT4O, GPT4O),
        task("write_schema", SONNET, SONNET),
    ]
    pinned = [task(name, GPT4O, GPT4O, affinity_id="a1b2c3d4e5") for name in ("one", "two", "three")]
    assert format_research(without, "Run 1: WITHOUT Model Affinity", affinity=False) == "\n".join(
        [
            "Run 1: WITHOUT Model Affinity",
            "━" * 56,
            "  task 1  [gpt-4o                   ]  generate_comparison: 3 calls (2 on gpt-4o, 1 on " + SONNET + ")",
            "  task 2  [gpt-4o                   ]  analyse_tradeoffs: 2 calls",
            "  task 3  [claude-sonnet-4-20250514 ]  write_schema: 2 calls  ← switched",
            "✗ Without affinity: model switched 3 time(s)",
        ]
    )
    assert format_research(pinned, "Run 2", affinity=True).splitlines()[-1] == "✓ With affinity: gpt-4o for all 3 tasks"
    assert contrast_line(without, pinned) == (
        "without affinity: 2 model(s) across 3 tasks, 3 switch(es) in 7 calls; with affinity: 1 model(s) in 6 calls"
    )


def test_format_research_says_why_a_run_stopped() -> None:
    failed = [task("generate_comparison", GPT4O), task("analyse_tradeoffs", error="turn 1: 503")]
    text = format_research(failed, "t", affinity=True)
    assert "  task 2" not in text
    assert text.endswith("  stopped early: analyse_tradeoffs: turn 1: 503")
    nothing = format_research([], "t", affinity=False, error="agent server answered 503: shutting down")
    assert nothing.splitlines()[2:] == [
        "✗ Without affinity: no task completed",
        "  stopped early: agent server answered 503: shutting down",
    ]


def test_task_row_names_one_call_in_the_singular() -> None:
    assert task_row(1, task("x", GPT4O)).what == "x: 1 call"


# --------------------------------------------------------------------------------------------------
# Ports


def test_port_or_free_takes_the_preferred_port_only_when_nothing_listens_there() -> None:
    free = port_or_free(0)
    assert port_or_free(free) == free
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as Envoy binds its listener
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        other = port_or_free(taken)
        assert other != taken
        with socket.socket() as check:
            check.bind(("127.0.0.1", other))  # really free
