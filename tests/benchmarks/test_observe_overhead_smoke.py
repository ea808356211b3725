"""The metrics and tracing micro-benchmark in its quick mode: it runs and prints every row (no timing is
asserted: a loaded machine may be slow)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "observe_overhead.py"


def test_quick_run_prints_every_row() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and not line.startswith("| what")]
    assert len(rows) == 7, done.stdout
    for row in rows:
        assert float(row.strip("|").split("|")[1]) > 0
