"""Running Envoy as a child, without Envoy: the parent-death guard, the port checks, private files."""

from __future__ import annotations

import logging
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from seed_data import SEED_ENV, seed_config_data

from brightstaff.config import parse_config
from brightstaff.proxy import parent_death
from brightstaff.proxy.bootstrap import render_envoy
from brightstaff.proxy.envoy_process import EnvoyProcess, PortInUseError, bound_addresses, check_port_free

GUARD = [sys.executable, "-I", "-S", parent_death.__file__]

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; Linux only")


def bootstrap(listener_port: int = 0, admin_port: int = 0) -> dict[str, object]:
    config = parse_config(seed_config_data(), SEED_ENV)
    return render_envoy(config, listener_port=listener_port, admin_port=admin_port, exclusive_listener=True)


@pytest.fixture
def squatted_port() -> Iterator[int]:
    """A port held the way an orphaned Envoy holds its listener: listening, with SO_REUSEPORT."""
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        yield int(squatter.getsockname()[1])


# --------------------------------------------------------------------------------------------------
# Ports


def test_bound_addresses_are_the_listener_and_the_admin() -> None:
    found = bound_addresses(bootstrap(listener_port=12345, admin_port=23456))
    assert found == [("listener model_listener", "127.0.0.1", 12345), ("Envoy admin", "127.0.0.1", 23456)]
    assert bound_addresses(bootstrap()) == []  # port 0: a free one, nothing to check


def test_a_port_shared_through_so_reuseport_counts_as_taken(squatted_port: int) -> None:
    with pytest.raises(PortInUseError) as info:
        check_port_free("listener model_listener", "127.0.0.1", squatted_port)
    assert f"127.0.0.1:{squatted_port} (listener model_listener) is already in use" in str(info.value)


def test_a_free_port_passes_the_check() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    check_port_free("listener", "127.0.0.1", port)


def test_envoy_is_not_started_on_a_port_in_use(tmp_path: Path, squatted_port: int) -> None:
    process = EnvoyProcess(bootstrap(listener_port=squatted_port), workdir=tmp_path / "envoy")
    with pytest.raises(PortInUseError):
        process.start()
    assert process.pid is None


# --------------------------------------------------------------------------------------------------
# Private files, loud debug logs


@pytest.mark.anyio
async def test_the_work_directory_and_bootstrap_are_private(tmp_path: Path) -> None:
    workdir = tmp_path / "envoy"
    workdir.mkdir(mode=0o755)
    (workdir / "envoy.yaml").write_text("old")
    (workdir / "envoy.yaml").chmod(0o644)
    process = EnvoyProcess(bootstrap(), workdir=workdir)
    assert stat.S_IMODE(workdir.stat().st_mode) == 0o700
    assert stat.S_IMODE(process.config_path.stat().st_mode) == 0o600
    assert "model_listener" in process.config_path.read_text()
    fresh = EnvoyProcess(bootstrap())  # a directory of its own
    assert stat.S_IMODE(fresh.workdir.stat().st_mode) == 0o700
    assert stat.S_IMODE(fresh.config_path.stat().st_mode) == 0o600
    await fresh.stop()  # never started: removes the directory it made
    assert not fresh.workdir.exists()


@pytest.mark.parametrize("level", ["debug", "trace"])
def test_header_logging_levels_warn(tmp_path: Path, caplog: pytest.LogCaptureFixture, level: str) -> None:
    caplog.set_level(logging.WARNING)
    EnvoyProcess(bootstrap(), workdir=tmp_path / "envoy", log_level=level)
    assert f"Envoy at --log-level {level} logs request headers" in caplog.text
    assert "never in production" in caplog.text


def test_quiet_levels_do_not_warn(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    EnvoyProcess(bootstrap(), workdir=tmp_path / "envoy", log_level="info")
    assert caplog.text == ""


# --------------------------------------------------------------------------------------------------
# The parent-death guard

_PARENT = """
import subprocess, sys, time
child = subprocess.Popen(sys.argv[1:-1] + [str(__import__("os").getpid()), "sleep", sys.argv[-1]])
print(child.pid, flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@linux_only
@pytest.mark.parametrize("mode", ["prctl", "watchdog"])
def test_the_program_dies_with_its_parent_however_the_parent_dies(mode: str) -> None:
    guard = GUARD + (["--watchdog"] if mode == "watchdog" else [])
    seconds = "37.5"  # an unusual argument: identifies our sleep in /proc before it is killed
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, *guard, seconds], stdout=subprocess.PIPE, text=True)
    child = 0
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        deadline = time.monotonic() + 5
        while not Path(f"/proc/{child}/cmdline").read_bytes().startswith(b"sleep\0"):  # exec'd: same PID
            assert time.monotonic() < deadline, "the guard never exec'd the program"
            time.sleep(0.01)
        parent.kill()
        parent.wait(5)
        deadline = time.monotonic() + 3
        while _alive(child):
            assert time.monotonic() < deadline, f"the program outlived its parent ({mode})"
            time.sleep(0.02)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(5)
        if child and _alive(child) and seconds.encode() in Path(f"/proc/{child}/cmdline").read_bytes():
            os.kill(child, signal.SIGKILL)
        if parent.stdout is not None:
            parent.stdout.close()


def test_the_program_never_starts_when_its_parent_is_already_gone() -> None:
    not_our_parent = str(os.getpid() + 1_000_000)
    result = subprocess.run([*GUARD, not_our_parent, "echo", "started"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 1
    assert result.stdout == ""


def test_the_program_runs_with_a_private_umask() -> None:
    result = subprocess.run(
        [*GUARD, str(os.getpid()), "sh", "-c", "umask"], capture_output=True, text=True, timeout=10, check=True
    )
    assert result.stdout.strip() == "0077"


def test_a_bad_command_line_is_a_usage_error() -> None:
    result = subprocess.run([*GUARD, "not-a-pid"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 2
    assert "usage" in result.stderr
