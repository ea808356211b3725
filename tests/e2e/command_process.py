"""`brightstaff up`, `serve` and `demo` run as users run them: their own process, its output in a file,
signals sent by PID, and the processes they start found through /proc (Linux) so a test can check that
none outlives its parent. Cleanup stops only what the test started: the command by its PID, and children
recorded while it ran, by PID, after checking they still run the same program."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from e2e_stack import KEYS

from harness.free_port import free_port

SEED = Path(__file__).resolve().parents[2] / "examples" / "plano-model-affinity.yaml"  # the seed config, unchanged


def seed_config(tmp_path: Path, base_urls: dict[str, str], **brightstaff: Any) -> Path:
    """The seed config on the given fake providers (by provider name), brightstaff's ports free."""
    config = yaml.safe_load(SEED.read_text())
    for provider in config["model_providers"]:
        provider["base_url"] = base_urls[provider["model"].split("/")[0]]
    config["brightstaff"] = {"grpc_port": free_port(), "admin_port": free_port(), "envoy_admin_port": 0, **brightstaff}
    path = tmp_path / f"config-{free_port()}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None once it is gone. A zombie ('Z') has exited."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rpartition(")")[2].split()  # the command name may hold spaces: split after it
    return fields[0], int(fields[1])


def running(pid: int) -> bool:
    stat = proc_stat(pid)
    return stat is not None and stat[0] != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = proc_stat(int(entry.name))
            if stat is not None and stat[1] == pid and stat[0] != "Z":
                found.append(int(entry.name))
    return found


def wait_until_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def http_status(url: str, method: str = "GET", timeout: float = 2) -> int:
    """The status of a plain request; 0 when nothing answers (refused, reset, timeout)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return 0


def chat(port: int, *, timeout: float = 30, affinity: str = "cmd-test") -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        data=json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}).encode(),
        headers={"content-type": "application/json", "x-model-affinity": affinity},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return int(response.status), {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        return int(exc.code), {}


class Command:
    """One `python -m brightstaff ...` process with its output (stdout and stderr) in `log_path`."""

    def __init__(self, args: list[str], log_path: Path, *, separate_stderr: bool = False) -> None:
        self.log_path = log_path
        self.err_path = log_path.with_suffix(".err")
        self._out = log_path.open("wb")
        self._err = self.err_path.open("wb") if separate_stderr else None
        self.process = subprocess.Popen(
            [sys.executable, "-m", "brightstaff", "--log-level", "info", *args],
            stdout=self._out,
            stderr=self._err if self._err is not None else subprocess.STDOUT,
            env={**os.environ, **KEYS},
        )
        self.pid = self.process.pid
        self._seen_children: dict[int, str] = {}

    def log(self) -> str:
        text = self.log_path.read_text(errors="replace")
        if self._err is not None:
            text += "\n--- stderr ---\n" + self.err_path.read_text(errors="replace")
        return text

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace") if self._err is not None else ""

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log_path.read_text(errors="replace"):
            assert self.process.poll() is None, f"exited {self.process.returncode} before {text!r}:\n{self.log()}"
            assert time.monotonic() < deadline, f"no {text!r} after {timeout:.0f}s:\n{self.log()}"
            time.sleep(0.05)
        self.note_children()

    def note_children(self) -> list[int]:
        """The command's live children now, remembered (with their command line) for cleanup."""
        pids = children(self.pid)
        for pid in pids:
            self._seen_children.setdefault(pid, cmdline(pid))
        return pids

    def envoy_pid(self) -> int:
        pids = [pid for pid in self.note_children() if "envoy" in cmdline(pid)]
        assert len(pids) == 1, f"expected one envoy child of {self.pid}, found {pids}:\n{self.log()}"
        return pids[0]

    def send(self, sig: int) -> None:
        if self.process.poll() is None:
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.note_children()
            raise AssertionError(f"still running after {timeout:.0f}s:\n{self.log()}") from None

    def close(self) -> None:
        if self.process.poll() is None:
            self.note_children()  # before the kill: an Envoy without a parent-death signal outlives it
            self.process.kill()
            self.process.wait(10)
        for pid, line in self._seen_children.items():
            if running(pid) and cmdline(pid) == line:  # the same program: not a recycled PID
                os.kill(pid, signal.SIGKILL)
                wait_until_gone(pid, 10)
        self._out.close()
        if self._err is not None:
            self._err.close()
