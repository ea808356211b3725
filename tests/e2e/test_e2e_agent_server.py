"""The agent-server demo through the real stack: `brightstaff demo --agent-server`, and the start script alone.

What is asserted is the contrast, not which model serves which task (the router may get better): without
affinity the three tasks land on at least two models, because the embedded router classified their
requests differently; with affinity every call of every task gets one model, the first task's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from demo_processes import demo_kept_running, hint_commands, start_script
from e2e_stack import Stack

from harness.free_port import free_port

pytestmark = pytest.mark.e2e

TASK_ROW = re.compile(r"^  task (\d)  \[(.+?)\s*\]  (\w+): (\d+) calls?(.*)$")


def task_rows(block: str) -> list[tuple[str, str, str]]:
    """(model, task name, the rest) of each task row of one run's block."""
    rows = []
    for line in block.splitlines():
        match = TASK_ROW.match(line)
        if match:
            rows.append((match[2], match[3], match[5]))
    return rows


def test_demo_agent_server_shows_the_contrast() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "brightstaff",
            "demo",
            "--agent-server",
            "--port",
            str(free_port()),
            "--agent-port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "research agent server on http://127.0.0.1:" in out
    run1, _, run2 = out.partition("Run 2: WITH Model Affinity (X-Model-Affinity: ")
    assert "Run 1: WITHOUT Model Affinity" in run1

    without = task_rows(run1)
    assert [name for _, name, _ in without] == ["generate_comparison", "analyse_tradeoffs", "write_schema"]
    assert len({model for model, _, _ in without}) >= 2, run1
    assert "← switched" in run1
    assert "✗ Without affinity: model switched" in run1

    pinned = task_rows(run2)
    assert [name for _, name, _ in pinned] == ["generate_comparison", "analyse_tradeoffs", "write_schema"]
    models = {model for model, _, _ in pinned}
    assert len(models) == 1, run2
    assert all(rest == "" for _, _, rest in pinned), run2  # no task had a call on another model
    assert "← switched" not in run2
    assert f"✓ With affinity: {models.pop()} for all 3 tasks" in run2
    assert "with affinity: 1 model(s) in" in run2


def _research(url: str, affinity_id: str | None) -> dict[str, Any]:
    headers = {"X-Model-Affinity": affinity_id} if affinity_id else {}
    response = httpx.post(f"{url}/v1/chat/completions", json={"messages": []}, headers=headers, timeout=120)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_start_script_runs_the_agent_server_against_a_running_stack(stack: Stack) -> None:
    port = free_port()
    with start_script(stack.base_url, port) as script:
        url = f"http://127.0.0.1:{port}"

        without = _research(url, None)
        trace = without["routing_trace"]
        assert [t["task"] for t in trace] == ["generate_comparison", "analyse_tradeoffs", "write_schema"]
        assert {turn["affinity"] for t in trace for turn in t["turns"]} == {"none"}
        assert len({t["model"] for t in trace}) >= 2, [t["model"] for t in trace]

        pinned = _research(url, "agent-server-e2e-1")
        assert pinned["session_id"] == "agent-server-e2e-1"
        turns = [turn for t in pinned["routing_trace"] for turn in t["turns"]]
        assert len(turns) >= 6
        # The header went with every call: the first was routed and pinned, every later one was served
        # from the pin, so the router ran once for the whole session.
        assert [turn["affinity"] for turn in turns] == ["new"] + ["pinned"] * (len(turns) - 1)
        assert {turn["model"] for turn in turns} == {pinned["routing_trace"][0]["model"]}
    assert script.returncode == 0, script.stderr
    assert "Traceback" not in script.stderr


def test_keep_running_hints_work_as_printed_and_ctrl_c_stops_the_agent_server(tmp_path: Path) -> None:
    output = tmp_path / "demo.out"
    port, agent_port = free_port(), free_port()
    with demo_kept_running(output, "--agent-server", "--port", str(port), "--agent-port", str(agent_port)):
        commands = hint_commands(output)
        assert len(commands) == 2, output.read_text()
        assert f"http://127.0.0.1:{port}/v1/chat/completions" in commands[0]
        assert f"http://127.0.0.1:{agent_port}/v1/chat/completions" in commands[1]
        results = [subprocess.run(["bash", "-c", c], capture_output=True, text=True, timeout=120) for c in commands]
        assert [r.returncode for r in results] == [0, 0], results
        assert results[0].stdout.startswith("HTTP/1.1 200"), results[0].stdout
        research = json.loads(results[1].stdout)
        assert research["session_id"] == "my-research"
        assert len({turn["model"] for t in research["routing_trace"] for turn in t["turns"]}) == 1
    # Ctrl-C stopped the demo, and the agent server went with it.
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{agent_port}/health", timeout=2)
