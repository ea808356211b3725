"""A fake provider run as a process (harness/fake_process.py), checked as the demo relies on it.

`fake_process` starts it with a ready file, checks its ready line against the file and yields what the
file says (name, host, port, pid, base_url); on leaving it asks the records endpoint for what it received,
stops it with SIGTERM and checks that it exited 0 with nothing on stderr. The process is killed if anything
fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.fake_process import FakeProcess


@dataclass
class RunningFake:
    info: dict[str, Any]  # the ready file
    received: list[Any] = field(default_factory=list)  # GET /_fake/received, read before stopping


@contextmanager
def fake_process(module: str, arguments: list[str], tmp_path: Path) -> Iterator[RunningFake]:
    fake = FakeProcess(module, arguments, tmp_path, env={"PYTHONWARNINGS": "error"})
    try:
        fake.start()
        assert f"port {fake.info['port']}" in fake.ready_line
        assert fake.info["base_url"] == f"http://127.0.0.1:{fake.info['port']}/v1"
        running = RunningFake(fake.info)
        yield running
        running.received = fake.received()
        returncode, stderr = fake.stop()
        assert returncode == 0, stderr
        assert stderr == ""
    finally:
        if fake.process.poll() is None:
            fake.stop()
