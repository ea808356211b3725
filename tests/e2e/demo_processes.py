"""The demo's processes as the e2e tests run them: `brightstaff demo --keep-running` up to its parting hint,
and the agent server through its start script (examples/start_agent_server.sh). Both are stopped with
SIGINT (Ctrl-C) when the block ends, bounded in time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from brightstaff.demo.agent_server import READY

ROOT = Path(__file__).resolve().parents[2]
HINT = "stack still up"


@contextmanager
def demo_kept_running(output: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`brightstaff demo --keep-running ARGS`, its output in `output`, once it printed its parting hint."""
    with output.open("wb") as sink:
        command = [sys.executable, "-m", "brightstaff", "demo", "--keep-running", *args]
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while HINT not in output.read_text():
            assert process.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.2)
        yield process
    finally:
        process.send_signal(signal.SIGINT)  # to the demo alone: it stops what it started itself
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
            pytest.fail(f"the demo did not stop on Ctrl-C:\n{output.read_text()}")


def hint_commands(output: Path) -> list[str]:
    """The curl commands of the demo's parting hint, as printed."""
    hint = output.read_text().partition(HINT)[2]
    return [line.strip() for line in hint.splitlines() if line.strip().startswith("curl ")]


@dataclass
class StartScript:
    ready: str  # its first line on stdout
    returncode: int | None = None  # once stopped
    stderr: str = ""


@contextmanager
def start_script(llm_url: str, port: int) -> Iterator[StartScript]:
    """examples/start_agent_server.sh with BRIGHTSTAFF_URL and AGENT_PORT set; Ctrl-C when the block ends."""
    env = {**os.environ, "PYTHON": sys.executable, "BRIGHTSTAFF_URL": llm_url, "AGENT_PORT": str(port)}
    process = subprocess.Popen(
        ["bash", str(ROOT / "examples" / "start_agent_server.sh")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    script = StartScript(process.stdout.readline())
    try:
        assert script.ready.startswith(f"{READY} http://127.0.0.1:{port}"), script.ready
        yield script
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, script.stderr = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            pytest.fail("the agent server did not stop on Ctrl-C within 15 s")
        script.returncode = process.returncode
