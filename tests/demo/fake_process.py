"""A fake provider run as a process (`python -m brightstaff.demo.<module>`), as the demo and docker-compose run it.

`fake_process` starts it with a ready file, yields what the file says (name, host, port, pid, base_url)
once its ready line is printed, and on leaving asks the records endpoint for what it received, stops it
with SIGTERM and checks that it exited 0 with nothing on stderr. The process is killed if anything fails.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RunningFake:
    info: dict[str, Any]  # the ready file
    received: list[Any] = field(default_factory=list)  # GET /_fake/received, read before stopping


@contextmanager
def fake_process(module: str, arguments: list[str], tmp_path: Path) -> Iterator[RunningFake]:
    ready = tmp_path / "ready.json"
    process = subprocess.Popen(
        [sys.executable, "-m", f"brightstaff.demo.{module}", "--port", "0", *arguments, "--ready-file", str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        info = json.loads(ready.read_text())
        assert f"port {info['port']}" in line
        assert info["base_url"] == f"http://127.0.0.1:{info['port']}/v1"
        running = RunningFake(info)
        yield running
        conn = http.client.HTTPConnection("127.0.0.1", info["port"], timeout=10)
        try:
            conn.request("GET", "/_fake/received")
            running.received = json.loads(conn.getresponse().read())
        finally:
            conn.close()
        process.send_signal(signal.SIGTERM)
        _stdout, stderr = process.communicate(timeout=10)
        assert process.returncode == 0, stderr
        assert stderr == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
