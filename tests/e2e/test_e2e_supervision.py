"""`brightstaff up` and `demo` supervise their Envoy: it never outlives them, a dead one is noticed and
restarted, ports in use fail loudly, and every stopping signal drains what is in flight first."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from command_process import Command, chat, http_status, running, seed_config, wait_until_gone
from e2e_stack import Providers, Stack, e2e_config, launch, retire
from loop_thread import LoopThread

from brightstaff.demo.fake_anthropic import start_fake_anthropic
from brightstaff.demo.fake_provider import FakeProvider, start_fake_provider
from harness.free_port import free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find Envoy; Linux only"),
]


def urls(providers: Providers) -> dict[str, str]:
    return {"openai": providers.openai.base_url, "anthropic": providers.anthropic.base_url}


def start_up(tmp_path: Path, config: Path, port: int, *extra: str) -> Command:
    up = Command(["up", str(config), "--port", str(port), *extra], tmp_path / f"up-{free_port()}.log")
    up.wait_for("brightstaff up:")
    return up


@pytest.fixture
def commands() -> Iterator[list[Command]]:
    started: list[Command] = []
    yield started
    for command in started:
        command.close()


# --------------------------------------------------------------------------------------------------
# 1. No orphaned Envoy


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGHUP, signal.SIGQUIT])
def test_envoy_dies_with_up_and_a_new_up_serves_on_the_same_port(
    tmp_path: Path, providers: Providers, commands: list[Command], sig: int
) -> None:
    config = seed_config(tmp_path, urls(providers))
    port = free_port()
    first = start_up(tmp_path, config, port)
    commands.append(first)
    envoy = first.envoy_pid()
    assert chat(port)[0] == 200
    first.send(sig)
    first.wait(20)
    assert wait_until_gone(envoy, 5), f"envoy {envoy} outlived `up` after signal {sig}:\n{first.log()}"
    second = start_up(tmp_path, config, port)
    commands.append(second)
    assert chat(port)[0] == 200
    second.send(signal.SIGTERM)
    assert second.wait(20) == 0, second.log()


@pytest.mark.parametrize("same_config", [True, False])
def test_a_second_up_on_the_same_ports_fails_loudly_and_the_first_serves_on(
    tmp_path: Path, providers: Providers, commands: list[Command], same_config: bool
) -> None:
    config = seed_config(tmp_path, urls(providers))
    port = free_port()
    first = start_up(tmp_path, config, port)
    commands.append(first)
    other = config if same_config else seed_config(tmp_path, urls(providers))
    second = Command(["up", str(other), "--port", str(port)], tmp_path / "second.log")
    commands.append(second)
    assert second.wait(30) == 1, second.log()
    clash = "(ext_proc, brightstaff.grpc_port): already in use" if same_config else f"127.0.0.1:{port} (listener"
    assert clash in second.log(), second.log()
    assert "Traceback" not in second.log()
    assert chat(port)[0] == 200
    first.send(signal.SIGTERM)
    assert first.wait(20) == 0, first.log()


def test_up_on_a_listener_port_in_use_fails_loudly(
    tmp_path: Path, providers: Providers, commands: list[Command]
) -> None:
    # What an orphaned Envoy holds: a listening socket with SO_REUSEPORT, which a second Envoy could share.
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    port = squatter.getsockname()[1]
    try:
        up = Command(["up", str(seed_config(tmp_path, urls(providers))), "--port", str(port)], tmp_path / "up.log")
        commands.append(up)
        code = up.wait(30)
    finally:
        squatter.close()
    assert code != 0, up.log()
    assert f"127.0.0.1:{port}" in up.log() and "in use" in up.log(), up.log()
    assert "brightstaff up:" not in up.log()


def test_up_on_an_envoy_admin_port_in_use_fails_loudly(
    tmp_path: Path, providers: Providers, commands: list[Command]
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        admin = squatter.getsockname()[1]
        config = seed_config(tmp_path, urls(providers), envoy_admin_port=admin)
        up = Command(["up", str(config), "--port", str(free_port())], tmp_path / "up.log")
        commands.append(up)
        code = up.wait(30)
    assert code != 0, up.log()
    assert f"127.0.0.1:{admin}" in up.log() and "in use" in up.log(), up.log()


def test_demo_keep_running_stops_its_envoy_on_sigterm(tmp_path: Path, commands: list[Command]) -> None:
    demo = Command(["demo", "--keep-running", "--port", str(free_port())], tmp_path / "demo.log")
    commands.append(demo)
    demo.wait_for("stack still up", timeout=120)
    envoy = demo.envoy_pid()
    demo.send(signal.SIGTERM)
    assert demo.wait(20) == 0, demo.log()
    assert wait_until_gone(envoy, 5), f"envoy {envoy} outlived the demo:\n{demo.log()}"


def test_ctrl_c_after_the_demo_prints_no_traceback(tmp_path: Path, commands: list[Command]) -> None:
    demo = Command(["demo", "--keep-running", "--port", str(free_port())], tmp_path / "demo.log", separate_stderr=True)
    commands.append(demo)
    demo.wait_for("stack still up", timeout=120)
    envoy = demo.envoy_pid()
    demo.send(signal.SIGINT)
    assert demo.wait(20) == 0, demo.log()  # the demo's own result
    assert "Traceback" not in demo.log(), demo.log()
    assert wait_until_gone(envoy, 5), demo.log()


def test_ctrl_c_in_the_middle_of_the_demo_prints_no_traceback(tmp_path: Path, commands: list[Command]) -> None:
    # Providers that accept connections and never answer: the agent's first turn is in flight for sure.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        base_url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        config = seed_config(tmp_path, {"openai": base_url, "anthropic": base_url})
        demo = Command(
            ["demo", "--config", str(config), "--port", str(free_port())], tmp_path / "demo.log", separate_stderr=True
        )
        commands.append(demo)
        demo.wait_for("brightstaff demo:", timeout=60)
        envoy = demo.envoy_pid()
        demo.send(signal.SIGINT)
        code = demo.wait(20)
    assert "Traceback" not in demo.log(), demo.log()
    assert "interrupted" in demo.log(), demo.log()
    assert code == 130, demo.log()
    assert wait_until_gone(envoy, 5), demo.log()


# --------------------------------------------------------------------------------------------------
# 2. A dead Envoy is noticed


def test_up_restarts_a_killed_envoy_and_is_not_ready_meanwhile(
    tmp_path: Path, providers: Providers, commands: list[Command]
) -> None:
    admin_port = free_port()
    up = start_up(tmp_path, seed_config(tmp_path, urls(providers), admin_port=admin_port), port := free_port())
    commands.append(up)
    readyz = f"http://127.0.0.1:{admin_port}/readyz"
    assert http_status(readyz) == 200
    envoy = up.envoy_pid()
    os.kill(envoy, signal.SIGKILL)
    assert wait_until_gone(envoy, 5)
    # From the moment Envoy is gone until its replacement is ready, readiness is never 200.
    seen: list[int] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        listener_up = http_status(f"http://127.0.0.1:{port}/", timeout=1) != 0
        status = http_status(readyz)
        seen.append(status)
        if status == 200:
            assert listener_up, "readyz 200 while the listener is down"
            break
        time.sleep(0.02)
    assert 503 in seen, f"readyz never 503 after envoy died: {seen[:5]}...\n{up.log()}"
    assert seen[-1] == 200, f"envoy not back within 15s:\n{up.log()}"
    assert "envoy" in up.log() and "restarted" in up.log(), up.log()
    assert chat(port)[0] == 200
    assert up.envoy_pid() != envoy
    up.send(signal.SIGTERM)
    assert up.wait(20) == 0, up.log()


# --------------------------------------------------------------------------------------------------
# 3. Graceful drain


@pytest.fixture(scope="module")
def slow_providers() -> Iterator[dict[str, str]]:
    """Fake providers whose streamed answers take a few seconds (one SSE event every 0.3 s)."""
    loop = LoopThread("slow-providers")
    fakes: list[FakeProvider] = [
        loop.run(start_fake_provider(name, chunk_delay=0.3)) for name in ("openai", "anthropic")
    ]
    yield {fake.name: fake.base_url for fake in fakes}
    for fake in fakes:
        loop.run(fake.close())
    loop.close()


class Stream(threading.Thread):
    """One streamed chat completion through the listener; `events` holds every SSE data line."""

    def __init__(self, port: int, n: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.n = n
        self.events: list[str] = []
        self.started = threading.Event()
        self.error: BaseException | None = None

    def request(self) -> tuple[str, dict[str, Any]]:
        body = {
            "model": "gpt-4o-mini",
            "stream": True,
            "messages": [{"role": "user", "content": f"Tell me a long story about databases, number {self.n}."}],
        }
        return "/v1/chat/completions", body

    def run(self) -> None:
        path, body = self.request()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("POST", path, json.dumps(body), {"content-type": "application/json"})
            response = conn.getresponse()
            assert response.status == 200, response.read()
            while line := response.readline():
                if line.startswith(b"data: "):
                    self.events.append(line.decode().strip())
                    self.started.set()
        except BaseException as exc:
            self.error = exc
        finally:
            self.started.set()
            conn.close()

    @property
    def done(self) -> bool:
        return bool(self.events) and self.events[-1] == "data: [DONE]"


def start_streams(port: int, count: int) -> list[Stream]:
    streams = [Stream(port, n) for n in range(count)]
    for stream in streams:
        stream.start()
    for stream in streams:
        assert stream.started.wait(15), "stream never started"
    return streams


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stopping_up_lets_streams_in_flight_finish(
    tmp_path: Path, slow_providers: dict[str, str], commands: list[Command], sig: int
) -> None:
    admin_port = free_port()
    port = free_port()
    up = start_up(tmp_path, seed_config(tmp_path, slow_providers, admin_port=admin_port), port)
    commands.append(up)
    envoy = up.envoy_pid()
    streams = start_streams(port, 4)
    assert not any(s.done for s in streams), "streams too short to be in flight"
    signalled = time.monotonic()
    up.send(sig)
    # At once: not ready; and the listener takes no new connection.
    while http_status(f"http://127.0.0.1:{admin_port}/readyz") != 503:
        assert time.monotonic() - signalled < 1, "readyz not 503 within 1s of the signal"
    while http_status(f"http://127.0.0.1:{port}/", timeout=1) != 0:
        assert time.monotonic() - signalled < 2, "the listener still accepts 2s after the signal"
    assert running(envoy) and not any(s.done for s in streams), "streams ended before the drain was seen"
    assert up.wait(20) == 0, up.log()
    for stream in streams:
        stream.join(5)
        assert stream.error is None, f"{stream.error!r}\n{up.log()}"
        assert stream.done, f"stream {stream.n} cut after {len(stream.events)} events:\n{up.log()}"
    assert "drain" in up.log(), up.log()
    assert wait_until_gone(envoy, 5)


def test_a_second_signal_cuts_the_drain_short(
    tmp_path: Path, slow_providers: dict[str, str], commands: list[Command]
) -> None:
    port = free_port()
    up = start_up(tmp_path, seed_config(tmp_path, slow_providers), port)
    commands.append(up)
    envoy = up.envoy_pid()
    streams = start_streams(port, 2)
    up.send(signal.SIGTERM)
    up.wait_for("drain")
    second = time.monotonic()
    up.send(signal.SIGINT)
    assert up.wait(10) == 0, up.log()
    assert time.monotonic() - second < 2, up.log()
    assert "second signal" in up.log(), up.log()
    assert wait_until_gone(envoy, 5)
    for stream in streams:
        stream.join(5)
        assert not stream.done


def test_the_drain_is_bounded_by_drain_timeout_ms(
    tmp_path: Path, slow_providers: dict[str, str], commands: list[Command]
) -> None:
    port = free_port()
    up = start_up(tmp_path, seed_config(tmp_path, slow_providers, drain_timeout_ms=800), port)
    commands.append(up)
    streams = start_streams(port, 2)
    signalled = time.monotonic()
    up.send(signal.SIGTERM)
    assert up.wait(10) == 0, up.log()
    assert 0.7 < time.monotonic() - signalled < 3, up.log()
    assert "drain time" in up.log(), up.log()
    for stream in streams:
        stream.join(5)
        assert not stream.done


# --------------------------------------------------------------------------------------------------
# 13. Envoy's admin port, debug logs, private files


def test_up_uses_the_configured_envoy_admin_port_and_private_files(
    tmp_path: Path, providers: Providers, commands: list[Command]
) -> None:
    envoy_admin = free_port()
    up = start_up(tmp_path, seed_config(tmp_path, urls(providers), envoy_admin_port=envoy_admin), free_port())
    commands.append(up)
    assert f"admin http://127.0.0.1:{envoy_admin}" in up.log(), up.log()
    assert http_status(f"http://127.0.0.1:{envoy_admin}/ready") == 200
    envoy = up.envoy_pid()
    workdir = Path(next(arg for arg in _cmdline_args(envoy) if arg.endswith("envoy.yaml"))).parent
    assert stat.S_IMODE(workdir.stat().st_mode) == 0o700
    files = list(workdir.iterdir())
    assert {p.name for p in files} >= {"envoy.yaml", "envoy.log"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path} is {oct(path.stat().st_mode)}"
    up.send(signal.SIGTERM)
    assert up.wait(20) == 0, up.log()


def test_envoy_debug_logs_come_with_a_warning(tmp_path: Path, providers: Providers, commands: list[Command]) -> None:
    up = start_up(tmp_path, seed_config(tmp_path, urls(providers)), free_port(), "--envoy-log-level", "debug")
    commands.append(up)
    assert "WARNING" in up.log() and "request headers" in up.log(), up.log()
    up.send(signal.SIGTERM)
    assert up.wait(20) == 0, up.log()


def _cmdline_args(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


# --------------------------------------------------------------------------------------------------
# `serve` drains the same way: readiness 503 first, ext_proc streams in flight finish within the drain time.
# Envoy asks brightstaff only about whole requests (its buffer filter, issue 12 item 4), so the streams held
# here are translated answers: a Messages client on an OpenAI provider, each SSE chunk translated by
# brightstaff on the request's ext_proc stream while the slow provider streams.


@pytest.fixture(scope="module")
def slow_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Stack]]:
    """Stacks (started per test: each ends its brightstaff) on fake providers streaming one event per 0.3 s."""
    loop = LoopThread("slow-stack-providers")
    openai = loop.run(start_fake_provider("openai", chunk_delay=0.3))
    anthropic = loop.run(start_fake_anthropic(chunk_delay=0.3))
    started: list[Stack] = []

    def make(**brightstaff: Any) -> Stack:
        started.append(launch(tmp_path_factory.mktemp("slow"), e2e_config(openai, anthropic, **brightstaff)))
        return started[-1]

    yield make
    for stack in started:
        retire(stack)
    loop.run(openai.close())
    loop.run(anthropic.close())
    loop.close()


class TranslatedStream(Stream):
    """One streamed Messages request answered by an OpenAI provider: brightstaff translates every chunk."""

    def request(self) -> tuple[str, dict[str, Any]]:
        content = f"Tell me a long story about databases, number {self.n}."
        body = {
            "model": "gpt-4o-mini",
            "max_tokens": 512,
            "stream": True,
            "messages": [{"role": "user", "content": content}],
        }
        return "/v1/messages", body

    @property
    def done(self) -> bool:
        return bool(self.events) and "message_stop" in self.events[-1]


def translated_streams(stack: Stack, count: int) -> list[Stream]:
    streams: list[Stream] = [TranslatedStream(stack.listener_port, n) for n in range(count)]
    for stream in streams:
        stream.start()
    for stream in streams:
        assert stream.started.wait(15), "stream never started"
        assert stream.error is None, stream.error
    assert not any(s.done for s in streams), "streams too short to be in flight"
    return streams


@pytest.mark.parametrize("transport", ["native", "grpcio"])
def test_serve_drains_streams_in_flight(slow_stack: Callable[..., Stack], transport: str) -> None:
    stack = slow_stack(transport=transport)
    assert stack.brightstaff is not None
    streams = translated_streams(stack, 2)
    signalled = time.monotonic()
    stack.brightstaff.send_signal(signal.SIGTERM)
    while stack.admin_get("/readyz")[0] != 503:
        assert time.monotonic() - signalled < 1, "readyz not 503 within 1s of SIGTERM"
    time.sleep(0.3)
    assert stack.brightstaff.poll() is None, "serve stopped with ext_proc streams in flight"
    assert not any(s.done for s in streams), "streams ended before the drain was seen"
    assert stack.brightstaff.wait(20) == 0, stack.logs()
    for stream in streams:
        stream.join(5)
        assert stream.error is None, f"{stream.error!r}\n{stack.logs()}"
        assert stream.done, f"stream {stream.n} cut after {len(stream.events)} events:\n{stack.logs()}"


def test_serve_a_second_signal_cuts_the_drain_short(slow_stack: Callable[..., Stack]) -> None:
    stack = slow_stack()
    assert stack.brightstaff is not None
    streams = translated_streams(stack, 2)
    stack.brightstaff.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert stack.brightstaff.poll() is None, "serve stopped with ext_proc streams in flight"
    second = time.monotonic()
    stack.brightstaff.send_signal(signal.SIGTERM)
    assert stack.brightstaff.wait(5) == 0, stack.logs()
    assert time.monotonic() - second < 2, stack.logs()
    assert "second signal" in stack.logs(), stack.logs()
    for stream in streams:
        stream.join(5)
        assert not stream.done


def test_serve_drain_is_bounded_by_drain_timeout_ms(slow_stack: Callable[..., Stack]) -> None:
    stack = slow_stack(drain_timeout_ms=800)
    assert stack.brightstaff is not None
    streams = translated_streams(stack, 1)
    signalled = time.monotonic()
    stack.brightstaff.send_signal(signal.SIGTERM)
    assert stack.brightstaff.wait(10) == 0, stack.logs()
    assert 0.7 < time.monotonic() - signalled < 3, stack.logs()
    assert "drain time" in stack.logs(), stack.logs()
    for stream in streams:
        stream.join(5)
        assert not stream.done
