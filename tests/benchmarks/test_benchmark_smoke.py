"""The benchmark (`python -m benchmarks`) in its quickest mode, read through its `--json` document: every
path it measures must run end to end and error-free.

No timing is asserted (a loaded CI machine may be slow); correctness is: every cell served requests, none
non-2xx, failed, unpinned or broken; Envoy counted no ext_proc error; every brightstaff cell has its
direct comparator and ratios; the targets are judged (met or not, which is the machine's business).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def run_benchmark(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--bodies", "1k", "--json", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"benchmark failed (rc {done.returncode}):\n{done.stdout}\n{done.stderr}"
    document: dict[str, Any] = json.loads(out.read_text())
    assert document["errors"] == 0
    assert document["ext_proc_errors"] == {}
    for cell in document["cells"]:
        result = cell["result"]
        assert result["requests"] > 0, cell["label"]
        assert cell["errors"] == 0, cell
        assert (result["non_2xx"], result["socket_errors"], result["unpinned"], result["broken_streams"]) == (
            0,
            0,
            0,
            0,
        ), cell
    return document


def cells_by_label(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {cell["label"]: cell for cell in document["cells"]}


def test_every_path_and_api_case_runs_error_free_with_its_comparators(tmp_path: Path) -> None:
    document = run_benchmark(
        tmp_path,
        "--connections",
        "1",
        "--cases",
        "messages-anthropic,messages-openai,responses-chat,chat-openai-sse,chat-anthropic-sse",
    )
    cells = cells_by_label(document)
    assert set(cells) == {
        "direct 1 KB x1",
        "brightstaff[native] 1 KB x1",
        "redis 1 KB x1",
        "direct chat 1 KB x1",
        "direct Messages 1 KB x1",
        "direct Responses 1 KB x1",
        "direct chat, SSE 1 KB x1",
        "chat → OpenAI 1 KB x1",
        "Messages → Anthropic 1 KB x1",
        "Messages → OpenAI chat (translated) 1 KB x1",
        "Responses → chat (translated) 1 KB x1",
        "chat → OpenAI, SSE 1 KB x1",
        "direct Messages, SSE 1 KB x1",
        "Messages → Anthropic, SSE 1 KB x1",  # chat → Anthropic, SSE's baseline, run without being named
        "chat → Anthropic, SSE (translated) 1 KB x1",
    }
    # Each brightstaff cell against its direct cell, with its ratios; brightstaff's CPU was read.
    expected_direct = {
        "brightstaff[native] 1 KB x1": "direct 1 KB x1",
        "redis 1 KB x1": "direct 1 KB x1",
        "Messages → Anthropic 1 KB x1": "direct Messages 1 KB x1",
        "Messages → OpenAI chat (translated) 1 KB x1": "direct Messages 1 KB x1",
        "Responses → chat (translated) 1 KB x1": "direct Responses 1 KB x1",
        "chat → Anthropic, SSE (translated) 1 KB x1": "direct chat, SSE 1 KB x1",
    }
    for name, direct in expected_direct.items():
        compared = cells[name]["vs_direct"]
        assert compared["direct"] == direct, name
        assert compared["p50_ratio"] > 0 and compared["rps_ratio"] > 0, name
        assert cells[name]["brightstaff_cpu_us"] > 0, name
    assert cells["direct 1 KB x1"]["vs_direct"] is None
    # What each API cell is: its client API, backend, translation; translated cells against chat → OpenAI.
    translated = cells["Messages → OpenAI chat (translated) 1 KB x1"]
    assert (translated["client"], translated["backend"], translated["translated"]) == ("messages", "openai", True)
    assert translated["cpu_vs_baseline"] > 0
    passthrough = cells["Messages → Anthropic 1 KB x1"]
    assert (passthrough["client"], passthrough["backend"], passthrough["translated"]) == (
        "messages",
        "anthropic",
        False,
    )
    # The stream cells: 50 upstream events, time to first byte measured on one connection, whole streams.
    stream = cells["chat → Anthropic, SSE (translated) 1 KB x1"]
    assert stream["events_per_stream"] == 50
    assert stream["ttfb"]["requests"] > 0 and stream["ttfb"]["ttfb_p50_ms"] > 0
    assert stream["ttfb"]["broken_streams"] == 0 and stream["ttfb"]["non_2xx"] == stream["ttfb"]["unpinned"] == 0
    # Every target is judged on this run's cells.
    judged = {(target["target"], target["cell"]) for target in document["targets"]}
    assert ("serial added p50", "brightstaff[native] 1 KB x1") in judged
    assert ("Redis store added p50", "redis 1 KB x1") in judged
    assert ("CPU/req vs chat completions", "Messages → Anthropic 1 KB x1") in judged
    assert ("brightstaff CPU per SSE event", "chat → Anthropic, SSE (translated) 1 KB x1") in judged
    assert ("added TTFB p50 over the untranslated stream", "chat → Anthropic, SSE (translated) 1 KB x1") in judged
    assert document["settings"]["paths"] == ["direct", "brightstaff", "redis", "api"]


def test_both_transports_side_by_side_with_the_python_load_generator(tmp_path: Path) -> None:
    document = run_benchmark(
        tmp_path, "--loadgen", "python", "--server", "grpcio,native", "--paths", "direct,brightstaff"
    )
    assert document["load_generator"] == "python asyncio fallback"
    cells = cells_by_label(document)
    assert set(cells) == {
        f"{path} 1 KB x{conns}"
        for path in ("direct", "brightstaff[grpcio]", "brightstaff[native]")
        for conns in (1, 16)
    }
    for server in ("grpcio", "native"):
        for conns in (1, 16):
            cell = cells[f"brightstaff[{server}] 1 KB x{conns}"]
            assert cell["server"] == server
            assert cell["vs_direct"]["direct"] == f"direct 1 KB x{conns}"
            assert cell["brightstaff_cpu_us"] > 0
    judged = {(target["target"], target["cell"]) for target in document["targets"]}
    assert ("req/s at 16 connections", "brightstaff[grpcio] 1 KB x16") in judged
