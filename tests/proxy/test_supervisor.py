"""The Envoy supervisor on a fake Envoy: deaths are noticed, restarts back off, readiness follows, it gives up."""

from __future__ import annotations

import asyncio
import logging

import pytest

from brightstaff.proxy.supervisor import EnvoySupervisor, describe_exit


class FakeEnvoy:
    """Runs until `die()`; `fail_starts` next starts fail the way a real one can (a port in use)."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.admin_url = ""
        self.status: int | None = None
        self.starts = 0
        self.fail_starts = 0
        self.terminated = 0

    def start(self) -> None:
        self.starts += 1
        if self.fail_starts:
            self.fail_starts -= 1
            raise OSError(98, "127.0.0.1:12000 (listener) is already in use")
        self.pid = 1000 + self.starts
        self.admin_url = f"http://127.0.0.1:{9000 + self.starts}"
        self.status = None

    async def wait_ready(self, timeout: float = 30.0) -> None:
        await asyncio.sleep(0)

    def poll(self) -> int | None:
        return self.status

    def log_tail(self, lines: int = 60) -> str:
        return "(fake log)"

    async def terminate(self) -> None:
        self.terminated += 1

    def die(self, status: int = -9) -> None:
        self.status = status


async def wait_for(condition: object, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]  # noqa: ASYNC110 - a plain attribute, no event to await
            await asyncio.sleep(0.01)


def supervisor(envoy: FakeEnvoy, **kwargs: float) -> EnvoySupervisor:
    options = {"first_backoff": 0.01, "max_backoff": 0.05, **kwargs}
    return EnvoySupervisor(envoy, **options)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_a_dead_envoy_is_not_serving_at_once_and_is_restarted(caplog: pytest.LogCaptureFixture) -> None:
    envoy = FakeEnvoy()
    watcher = supervisor(envoy, first_backoff=0.2, max_backoff=1.0)
    await watcher.start()
    assert watcher.serving
    envoy.die(-9)
    assert not watcher.serving  # asked on every /readyz: no poll interval in between
    await wait_for(lambda: watcher.restarts == 1)
    assert watcher.serving and envoy.pid == 1002
    assert "died: killed by SIGKILL" in caplog.text
    assert "restarting envoy in 0.2s" in caplog.text
    assert "envoy restarted (pid 1002" in caplog.text
    await watcher.stop_watching()


@pytest.mark.anyio
async def test_backoff_doubles_and_failed_restarts_count() -> None:
    envoy = FakeEnvoy()
    watcher = supervisor(envoy, first_backoff=0.01, max_backoff=1.0)
    await watcher.start()
    envoy.fail_starts = 2
    envoy.die(1)
    await wait_for(lambda: watcher.restarts == 1)
    assert envoy.starts == 4  # the first start, two failed restarts, one that worked
    assert envoy.terminated == 2
    assert not watcher.failed.is_set()
    await watcher.stop_watching()


@pytest.mark.anyio
async def test_too_many_deaths_within_the_window_give_up(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    envoy = FakeEnvoy()
    watcher = supervisor(envoy, max_restarts=2, window=60)
    await watcher.start()
    for restarts in (1, 2):
        envoy.die()
        await wait_for(lambda r=restarts: watcher.restarts == r)
    envoy.die()
    await asyncio.wait_for(watcher.failed.wait(), 5)
    assert not watcher.serving
    assert envoy.starts == 3
    assert "envoy failed 3 times within 60s: giving up" in caplog.text


@pytest.mark.anyio
async def test_deaths_older_than_the_window_are_forgotten() -> None:
    now = [0.0]
    envoy = FakeEnvoy()
    watcher = EnvoySupervisor(envoy, max_restarts=1, window=10, first_backoff=0.01, clock=lambda: now[0])
    await watcher.start()
    for restarts in (1, 2, 3):
        now[0] += 11
        envoy.die()
        await wait_for(lambda r=restarts: watcher.restarts == r)
    assert not watcher.failed.is_set()
    await watcher.stop_watching()


@pytest.mark.anyio
async def test_no_restart_once_watching_stopped() -> None:
    envoy = FakeEnvoy()
    watcher = supervisor(envoy)
    await watcher.start()
    await watcher.stop_watching()
    envoy.die(0)
    await asyncio.sleep(0.3)
    assert envoy.starts == 1 and watcher.restarts == 0
    assert not watcher.failed.is_set()


def test_exit_statuses_read_well() -> None:
    assert describe_exit(1) == "exit status 1"
    assert describe_exit(-15) == "killed by SIGTERM"
    assert describe_exit(-200) == "killed by signal 200"
