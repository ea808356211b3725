"""`brightstaff serve` as its own process, as users run it, for the tests, the benchmark and the h2spec run.

`start_serve` starts `python -m brightstaff serve CONFIG` (output to a log file, keys in its environment)
and returns once its /readyz answers 200; it raises with the log when the process exits or is not ready
in time, after stopping it. `stop` sends a signal to that PID and waits, killing it only if it hangs.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

READY_TIMEOUT = 30.0  # a cold start loads the embedded router's encoder


def admin_get(admin_port: int, path: str) -> tuple[int, str]:
    """(status, body) of a GET on brightstaff's admin port; (0, "") when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}{path}", timeout=2) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except (urllib.error.URLError, OSError):
        return 0, ""


def start_serve(
    config_path: Path,
    admin_port: int,
    log: IO[bytes],
    log_path: Path,
    env: Mapping[str, str],
    *,
    log_level: str = "info",
    arguments: Sequence[str] = (),
    timeout: float = READY_TIMEOUT,
) -> subprocess.Popen[bytes]:
    """Start `brightstaff serve` (its admin on `admin_port`) and wait for /readyz; `env` is its whole
    environment. `arguments` follow the config path (e.g. `--grpc-port`)."""
    command = [sys.executable, "-m", "brightstaff", "--log-level", log_level, "serve", str(config_path), *arguments]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=dict(env))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"brightstaff serve exited during start-up:\n{_tail(log_path)}")
        if admin_get(admin_port, "/readyz")[0] == 200:
            return process
        time.sleep(0.05)
    stop(process, signal.SIGKILL)
    raise TimeoutError(f"brightstaff serve not ready after {timeout:g} s:\n{_tail(log_path)}")


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
    """Send `sig` to the process (by PID) and wait for it; SIGKILL if it has not exited in `timeout` s."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(10)


def _tail(path: Path, chars: int = 20000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.is_file() else "(no log)"
