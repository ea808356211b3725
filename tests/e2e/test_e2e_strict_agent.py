"""Through real Envoy and brightstaff: an agent that declares the demo's tools with other schemas than
brightstaff's own demo agent (Plano's demo client's: `database` required, `workload` read_heavy/...)
gets a conversation it can dispatch, without and with affinity, and with affinity one model throughout."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

import pytest
from e2e_stack import Stack

# The strict agent lives with the fake model's unit tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "demo"))
from strict_agent import Trace, run_agent_loop

pytestmark = pytest.mark.e2e

SCRIPT = [
    ["get_db_benchmarks", "get_db_benchmarks"],
    ["get_case_studies", "get_case_studies"],
    ["check_feature_support"],
    [],
]


def run(stack: Stack, affinity_id: str | None) -> Trace:
    return asyncio.run(run_agent_loop(f"{stack.base_url}/v1", affinity_id=affinity_id))


def test_without_affinity_every_turn_is_dispatched(stack: Stack) -> None:
    trace = run(stack, None)
    assert trace.tool_calls == SCRIPT
    assert trace.answer.startswith("Recommendation: PostgreSQL.")
    assert {"database", "workload"} <= trace.arguments[0][1].keys()


def test_with_affinity_every_turn_gets_one_model(stack: Stack) -> None:
    trace = run(stack, str(uuid.uuid4()))
    assert trace.tool_calls == SCRIPT
    assert len(set(trace.models)) == 1, trace.models
