"""The demo agent against the fake provider (no Envoy), its printout, the demo config, and how it routes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from demo_loop import running_provider

from brightstaff.config import parse_config
from brightstaff.core.chat import parse_chat
from brightstaff.demo.agent import AgentRun, Turn, format_run, run_agent, run_title, run_tool, summary_line
from brightstaff.demo.fake_provider import FakeProvider
from brightstaff.demo.scenario import demo_config
from brightstaff.routing.embedded import EmbeddedRouter

SCRIPT = [
    ("get_db_benchmarks", "get_db_benchmarks"),
    ("get_case_studies", "get_case_studies"),
    ("check_feature_support",),
    (),
]


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with running_provider("openai") as fake:
        yield fake


def turn(number: int, model: str, *tools: str) -> Turn:
    return Turn(number, model, model, model, None, None, None, tuple(tools), "tool_calls" if tools else "stop")


def test_agent_runs_four_turns_against_the_fake_provider(provider: FakeProvider) -> None:
    run = run_agent(provider.base_url, affinity_id=None)
    assert run.completed
    assert [t.tool_calls for t in run.turns] == SCRIPT
    assert [t.number for t in run.turns] == [1, 2, 3, 4]
    assert run.turns[-1].final
    assert run.answer is not None
    assert run.answer.startswith("Recommendation:")
    # Not behind brightstaff: no decision headers, so the served model is the body's (the fake echoes).
    assert {t.model for t in run.turns} == {"gpt-4o-mini"}
    assert {t.header_model for t in run.turns} == {None}
    assert run.switches == 0


def test_agent_sends_the_conversation_with_tool_results(provider: FakeProvider) -> None:
    run_agent(provider.base_url, affinity_id=None, api_key="sk-agent")
    requests = provider.chat_requests
    assert len(requests) == 4
    assert all(r.headers["authorization"] == "Bearer sk-agent" for r in requests)
    assert all("x-model-affinity" not in r.headers for r in requests)
    assert all(r.body["model"] == "gpt-4o-mini" and r.body["tool_choice"] == "auto" for r in requests)
    last = requests[-1].body["messages"]
    assert [m["role"] for m in last] == ["system", "user"] + ["assistant", "tool", "tool"] * 2 + ["assistant", "tool"]
    # Every tool result answers the call before it, by id, with the simulated result.
    for i, message in enumerate(last):
        if message["role"] == "assistant":
            ids = [c["id"] for c in message["tool_calls"]]
            results = last[i + 1 : i + 1 + len(ids)]
            assert [r["tool_call_id"] for r in results] == ids
            for call, result in zip(message["tool_calls"], results, strict=True):
                args = json.loads(call["function"]["arguments"])
                assert result["content"] == run_tool(call["function"]["name"], args)
                assert "error" not in json.loads(result["content"])


def test_affinity_header_goes_with_every_turn(provider: FakeProvider) -> None:
    run = run_agent(provider.base_url, affinity_id="a1b2c3d4-session")
    assert run.affinity_id == "a1b2c3d4-session"
    assert [r.headers["x-model-affinity"] for r in provider.chat_requests] == ["a1b2c3d4-session"] * 4


def test_streaming_run_matches_the_plain_run(provider: FakeProvider) -> None:
    plain = run_agent(provider.base_url, affinity_id=None)
    streamed = run_agent(provider.base_url, affinity_id=None, stream=True)
    assert streamed.completed
    assert [t.tool_calls for t in streamed.turns] == SCRIPT
    assert streamed.answer == plain.answer
    assert all(r.body["stream"] is True for r in provider.chat_requests[4:])
    # The same conversation went up both times: tool call ids and arguments assembled from deltas.
    assert provider.chat_requests[7].body["messages"] == provider.chat_requests[3].body["messages"]


def test_max_turns_and_api_errors_end_the_run_with_a_reason(provider: FakeProvider) -> None:
    short = run_agent(provider.base_url, affinity_id=None, max_turns=2)
    assert len(short.turns) == 2
    assert not short.completed
    assert short.error == "no final answer after 2 turns"
    provider.fail_status = 500
    failed = run_agent(provider.base_url, affinity_id=None)
    assert failed.turns == ()
    assert failed.error is not None
    assert failed.error.startswith("turn 1:")
    assert "✗ Without affinity: no turn completed" in format_run(failed, "Run 1: WITHOUT Model Affinity")


def test_unreachable_base_url_is_reported_not_raised() -> None:
    run = run_agent("http://127.0.0.1:9/v1", affinity_id=None, timeout=2)
    assert run.turns == ()
    assert run.error is not None


def test_turn_callback_sees_each_turn(provider: FakeProvider) -> None:
    seen: list[int] = []
    run_agent(provider.base_url, affinity_id=None, on_turn=lambda t: seen.append(t.number))
    assert seen == [1, 2, 3, 4]


# --------------------------------------------------------------------------------------------------
# The printout


SONNET, GPT4O = "claude-sonnet-4-20250514", "gpt-4o"


def test_format_run_matches_the_seed_demo_output() -> None:
    without = AgentRun(
        None,
        (
            turn(1, SONNET, "get_db_benchmarks", "get_db_benchmarks"),
            turn(2, GPT4O, "get_case_studies", "get_case_studies"),
            turn(3, SONNET, "check_feature_support"),
            turn(4, GPT4O),
        ),
        "answer",
    )
    pinned = AgentRun(
        "a1b2c3d4e5f6",
        (
            turn(1, SONNET, "get_db_benchmarks", "get_db_benchmarks"),
            turn(2, SONNET, "get_case_studies", "get_case_studies"),
            turn(3, SONNET, "check_feature_support"),
            turn(4, SONNET),
        ),
        "answer",
    )
    assert format_run(without, run_title(1, without.affinity_id)) == "\n".join(
        [
            "Run 1: WITHOUT Model Affinity",
            "━" * 56,
            "  turn 1  [claude-sonnet-4-20250514 ]  get_db_benchmarks, get_db_benchmarks",
            "  turn 2  [gpt-4o                   ]  get_case_studies, get_case_studies  ← switched",
            "  turn 3  [claude-sonnet-4-20250514 ]  check_feature_support  ← switched",
            "  turn 4  [gpt-4o                   ]  final answer  ← switched",
            "✗ Without affinity: model switched 3 time(s)",
        ]
    )
    assert format_run(pinned, run_title(2, pinned.affinity_id)) == "\n".join(
        [
            "Run 2: WITH Model Affinity (X-Model-Affinity: a1b2c3d4…)",
            "━" * 56,
            "  turn 1  [claude-sonnet-4-20250514 ]  get_db_benchmarks, get_db_benchmarks",
            "  turn 2  [claude-sonnet-4-20250514 ]  get_case_studies, get_case_studies",
            "  turn 3  [claude-sonnet-4-20250514 ]  check_feature_support",
            "  turn 4  [claude-sonnet-4-20250514 ]  final answer",
            "✓ With affinity: claude-sonnet-4-20250514 for all 4 turns",
        ]
    )


def test_summary_marks_come_from_the_data() -> None:
    steady = AgentRun(None, (turn(1, GPT4O, "t"), turn(2, GPT4O)), "a")
    assert summary_line(steady) == "✓ Without affinity: gpt-4o for all 2 turns"
    broken = AgentRun("id-1", (turn(1, GPT4O, "t"), turn(2, SONNET)), "a")
    assert summary_line(broken) == "✗ With affinity: model switched 1 time(s)"


def test_long_model_names_widen_the_column() -> None:
    name = "a-very-long-model-name-from-some-provider-2025"
    text = format_run(AgentRun(None, (turn(1, name),), "a"), "t")
    assert f"[{name} ]  final answer" in text


def test_stopped_runs_say_why() -> None:
    text = format_run(AgentRun(None, (turn(1, GPT4O, "t"),), None, "no final answer after 1 turns"), "t")
    assert text.endswith("  stopped early: no final answer after 1 turns")


# --------------------------------------------------------------------------------------------------
# The simulated tools


def test_tools_answer_every_argument_shape() -> None:
    both = json.loads(run_tool("get_db_benchmarks", {"workload": "read_heavy"}))
    assert {"postgresql", "mongodb"} <= both.keys()
    one = json.loads(run_tool("get_db_benchmarks", {"workload": "write-heavy", "database": "mongodb"}))
    assert "mongodb" in one
    assert "postgresql" not in one
    assert "error" in json.loads(run_tool("get_db_benchmarks", {"workload": "sideways"}))
    assert json.loads(run_tool("get_case_studies", {"database": "PostgreSQL"}))["case_studies"]
    assert "error" in json.loads(run_tool("get_case_studies", {}))
    acid = json.loads(run_tool("check_feature_support", {"database": "mongodb", "feature": "ACID transactions"}))
    assert acid["supported"] is True
    unknown = json.loads(run_tool("check_feature_support", {"database": "mongodb", "feature": "time travel"}))
    assert unknown["supported"] == "unknown"
    assert "error" in json.loads(run_tool("drop_database", {}))


# --------------------------------------------------------------------------------------------------
# The demo config, and what brightstaff's router makes of the agent's turns


def test_demo_config_points_each_vendor_at_its_fake() -> None:
    config = parse_config(demo_config({"openai": 18101, "anthropic": 18102}, listener_port=12345), {})
    urls = {p.name: p.base_url for p in config.providers}
    assert urls == {
        "openai/gpt-4o-mini": "http://127.0.0.1:18101/v1",
        "openai/gpt-4o": "http://127.0.0.1:18101/v1",
        "anthropic/claude-sonnet-4-20250514": "http://127.0.0.1:18102/v1",
    }
    assert config.default_provider.name == "openai/gpt-4o-mini"
    prefs = {p.name: [(r.name, r.description) for r in p.routing_preferences] for p in config.providers}
    assert prefs["openai/gpt-4o"] == [
        ("complex_reasoning", "complex reasoning tasks, multi-step analysis, or detailed explanations")
    ]
    assert prefs["anthropic/claude-sonnet-4-20250514"] == [
        ("code_generation", "generating new code, writing functions, or creating boilerplate")
    ]
    # The fakes' keys are inline: no real key from the environment ever goes to them.
    assert all(p.access_key is not None for p in config.providers)
    assert config.listener.port == 12345
    assert config.routing.session_ttl_seconds == 600
    assert config.routing.session_max_entries == 10000
    assert config.notes == ()


def test_demo_config_needs_every_vendor_and_does_not_share_state() -> None:
    with pytest.raises(ValueError, match="anthropic"):
        demo_config({"openai": 1})
    first = demo_config({"openai": 1, "anthropic": 2})
    first["model_providers"].clear()
    assert demo_config({"openai": 1, "anthropic": 2})["model_providers"]


def _routes(requests: list[Any]) -> list[str | None]:
    config = parse_config(demo_config({"openai": 1, "anthropic": 2}), {})
    router = EmbeddedRouter(config.providers, config.routing.min_match_score)
    return [router.classify(parse_chat(orjson.dumps(r.body)).conversation).route for r in requests]


def test_the_embedded_router_reads_the_agent_turns_as_the_seed_demo_tells(provider: FakeProvider) -> None:
    """The demo's promise, checked without Envoy: the turns really read differently to the router.

    Tool selection reads as code generation, reasoning about results as complex analysis, so without
    affinity the model switches on every turn, and an affinity run pins the code model from turn 1.
    """
    run_agent(provider.base_url, affinity_id=None)
    assert _routes(provider.chat_requests) == [
        "code_generation",
        "complex_reasoning",
        "code_generation",
        "complex_reasoning",
    ]
