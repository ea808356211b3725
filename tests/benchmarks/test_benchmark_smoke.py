"""The overhead benchmark in its quickest mode: it must run end to end, error-free, and print its table.

No timing is asserted (a loaded CI machine may be slow); correctness is: zero non-2xx, zero unpinned
responses, and the README table with both paths.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "extproc_overhead.py"

pytestmark = pytest.mark.e2e


def run_benchmark(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick", "--bodies", "1k", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"benchmark failed (rc {done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def table_rows(output: str) -> list[list[str]]:
    rows = [line for line in output.splitlines() if line.startswith("| 1 KB |")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_quick_run_with_wrk_completes_without_errors() -> None:
    output = run_benchmark()
    assert "| body | conns | direct p50 / p99 ms |" in output
    rows = table_rows(output)
    assert [row[1] for row in rows] == ["1", "16"]
    for row in rows:
        assert row[-2:] == ["0", "0"], row  # non-2xx (both paths), not pinned
    assert "envoy ext_proc error/failure/timeout counters: all 0" in output
    assert "x-brightstaff-affinity=new" in output  # the priming request pinned the id


def test_python_load_generator_fallback_completes_without_errors() -> None:
    output = run_benchmark("--loadgen", "python", "--connections", "4")
    assert "load generator: python asyncio fallback" in output
    rows = table_rows(output)
    assert [row[1] for row in rows] == ["4"]
    assert rows[0][-2:] == ["0", "0"]


def test_both_transports_side_by_side_complete_without_errors() -> None:
    output = run_benchmark("--server", "grpcio,native", "--paths", "direct,brightstaff", "--connections", "1")
    assert "brightstaff server: grpcio" in output
    assert "brightstaff server: native" in output
    rows = table_rows(output)
    assert len(rows) == 3  # one per transport's table, one in the side-by-side table
    for row in rows[:2]:
        assert row[-2:] == ["0", "0"], row
    assert "| body | conns | direct req/s | grpcio req/s |" in output
    assert "envoy ext_proc error/failure/timeout counters: all 0" in output
