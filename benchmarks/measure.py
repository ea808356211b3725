"""What the benchmark reads from the machine: CPU seconds of a process from /proc (utime + stime, all its
threads), of the whole machine, and of this process with its reaped children (wrk), so a cell reports the
CPU each process under test spent per request and how much other work disturbed it. Percentiles are
nearest-rank on sorted samples. Nothing here starts a process or sends a request.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # Fields 14 and 15 of stat(5); the slice above starts at field 3.
    return (int(fields[11]) + int(fields[12])) / _TICK


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used since boot (all but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / _TICK


def own_seconds() -> float:
    """CPU seconds of this process plus its reaped children (wrk)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def wait_for_quiet(limit: float) -> float:
    """Wait (at most `limit` seconds) until other work on the machine uses under 0.1 core; return that load.

    Other sessions on a shared machine disturb the cells; the cells report what they saw either way.
    """
    deadline = time.monotonic() + limit
    while True:
        busy = machine_busy_seconds()
        time.sleep(0.5)
        load = (machine_busy_seconds() - busy) / 0.5
        if load < 0.1 or time.monotonic() >= deadline:
            return load


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The nearest-rank `q` quantile (0..1) of already sorted values; 0.0 for none."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


@dataclass(frozen=True, slots=True)
class CpuUse:
    """CPU seconds per watched process over one measured span, and the load of everything else."""

    seconds: dict[str, float]  # by role: "brightstaff", "envoy", "upstream", "redis", ...
    other_load: float  # cores used by processes outside this benchmark during the span


class CpuMeter:
    """Reads the watched processes' CPU at `start` and `stop`; what else ran is the machine's busy time
    minus theirs and this process's (the load generator included)."""

    def __init__(self, pids: dict[str, list[int]]) -> None:
        self.pids = pids
        self._before: dict[str, float] = {}
        self._busy = self._own = self._started = 0.0

    def _read(self) -> dict[str, float]:
        return {role: sum(cpu_seconds(pid) for pid in pids) for role, pids in self.pids.items()}

    def start(self) -> None:
        self._before = self._read()
        self._busy, self._own, self._started = machine_busy_seconds(), own_seconds(), time.monotonic()

    def stop(self) -> CpuUse:
        after = self._read()
        used = {role: after[role] - self._before[role] for role in after}
        busy = machine_busy_seconds() - self._busy
        ours = sum(used.values()) + own_seconds() - self._own
        elapsed = max(time.monotonic() - self._started, 1e-9)
        return CpuUse(used, max(0.0, busy - ours) / elapsed)
