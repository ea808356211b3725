"""A fake provider run as a process (`python -m brightstaff.demo.<module>`), as the demo and docker-compose
run it, for the tests and the benchmark.

`FakeProcess.start` waits for its ready line and reads the ready file (name, host, port, pid, base_url);
`received()` asks the records endpoint what it got; `stop()` sends SIGTERM and returns the exit status and
stderr, killing it after 10 s. Its own CPU is its own process's: a benchmark reads it apart from brightstaff's.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from brightstaff.demo.fake_backend import CONTROL_PATH


class FakeProcess:
    """One fake provider process, started by `start` and stopped by its PID."""

    def __init__(
        self, module: str, arguments: list[str], workdir: Path, env: dict[str, str] | None = None, log: bool = False
    ) -> None:
        """`log`: stderr to `workdir/<module>.log` (a long run) instead of a pipe read at `stop` (a test)."""
        workdir.mkdir(parents=True, exist_ok=True)
        self.ready_file = workdir / f"{module}.ready.json"
        self.log_path = workdir / f"{module}.log" if log else None
        self._stderr: IO[bytes] | None = self.log_path.open("wb") if self.log_path else None
        ready = str(self.ready_file)
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"brightstaff.demo.{module}", "--port", "0", *arguments, "--ready-file", ready],
            stdout=subprocess.PIPE,
            stderr=self._stderr or subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.ready_line = ""
        self.info: dict[str, Any] = {}

    def start(self) -> FakeProcess:
        """Wait for the ready line (the process exits or prints it), then read the ready file."""
        assert self.process.stdout is not None
        self.ready_line = self.process.stdout.readline().decode(errors="replace")
        if not self.ready_line:
            self.stop()
            raise RuntimeError(f"fake provider exited at start-up: {self.process.returncode}")
        self.info = json.loads(self.ready_file.read_text())
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def port(self) -> int:
        return int(self.info["port"])

    @property
    def base_url(self) -> str:
        return str(self.info["base_url"])

    def received(self) -> list[Any]:
        """What the fake recorded (GET on its records endpoint)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", CONTROL_PATH)
            value: list[Any] = json.loads(conn.getresponse().read())
            return value
        finally:
            conn.close()

    def stop(self) -> tuple[int, str]:
        """SIGTERM, then SIGKILL after 10 s; the exit status and what it wrote on stderr (when piped)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            _stdout, stderr = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _stdout, stderr = self.process.communicate()
        if self._stderr is not None:
            self._stderr.close()
        return self.process.returncode, (stderr or b"").decode(errors="replace")
