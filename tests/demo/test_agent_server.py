"""The research agent server: its HTTP API against the fake provider, and its process (ready line, shutdown)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from demo_loop import running_provider
from loop_thread import LoopThread
from starlette.testclient import TestClient

from brightstaff.demo.agent_server import READY, build_app
from brightstaff.demo.fake_backend import ReceivedRequest
from brightstaff.demo.fake_provider import FakeProvider
from brightstaff.demo.http_server import Reply, Request
from brightstaff.demo.research import TASKS
from harness.free_port import free_port


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with running_provider("openai") as fake:
        yield fake


def llm_url(provider: FakeProvider) -> str:
    return provider.base_url.removesuffix("/v1")


def test_a_research_per_request_with_the_trace(provider: FakeProvider) -> None:
    with TestClient(build_app(llm_url(provider))) as client:
        response = client.post("/v1/chat/completions", json={"model": "m", "messages": []})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert [t["task"] for t in body["routing_trace"]] == [t.name for t in TASKS]
    assert body["session_id"] is None
    assert body["model"] == body["routing_trace"][0]["model"] == "gpt-4o-mini"
    assert body["choices"][0]["message"]["content"] == body["routing_trace"][-1]["answer"]
    calls = sum(len(t["turns"]) for t in body["routing_trace"])
    assert calls == len(provider.chat_requests)
    assert all("x-model-affinity" not in r.headers for r in provider.chat_requests)


def test_the_callers_affinity_id_goes_with_every_call(provider: FakeProvider) -> None:
    with TestClient(build_app(llm_url(provider))) as client:
        response = client.post("/v1/chat/completions", json={}, headers={"X-Model-Affinity": "run-42"})
    assert response.json()["session_id"] == "run-42"
    assert len(provider.chat_requests) >= 6
    assert {r.headers.get("x-model-affinity") for r in provider.chat_requests} == {"run-42"}


def test_a_failing_listener_is_a_502_with_the_trace_so_far(provider: FakeProvider) -> None:
    provider.fail_status = 500
    with TestClient(build_app(llm_url(provider), timeout=5)) as client:
        response = client.post("/v1/chat/completions", json={})
    assert response.status_code == 502
    body = response.json()
    assert body["error"]["code"] == "upstream_error"
    assert body["error"]["message"].startswith("task generate_comparison failed: turn 1:")
    assert [t["task"] for t in body["routing_trace"]] == ["generate_comparison"]


def test_once_stopping_a_research_ends_after_its_current_call(provider: FakeProvider) -> None:
    stopping = threading.Event()
    stopping.set()
    with TestClient(build_app(llm_url(provider), stopping=stopping)) as client:
        response = client.post("/v1/chat/completions", json={})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "shutting_down"
    assert len(provider.chat_requests) == 1


def test_health_and_methods(provider: FakeProvider) -> None:
    with TestClient(build_app(llm_url(provider) + "/")) as client:
        assert client.get("/health").json() == {"status": "ok", "llm_url": provider.base_url}
        assert client.get("/v1/chat/completions").status_code == 405
        assert client.post("/v1/completions").status_code == 404


# --------------------------------------------------------------------------------------------------
# As a process: what examples/start_agent_server.sh and `brightstaff demo --agent-server` run


@dataclass(eq=False)
class Slow(FakeProvider):
    """The fake provider, answering each request after a delay: a research is in flight when a signal comes."""

    delay: float = 0.3

    async def handle(self, request: Request, record: ReceivedRequest) -> Reply:
        await asyncio.sleep(self.delay)
        return await super().handle(request, record)

    @property
    def llm_url(self) -> str:
        return self.base_url.removesuffix("/v1")


@pytest.fixture
def slow() -> Iterator[Slow]:
    loop = LoopThread()
    fake = loop.run(Slow("openai").start())
    yield fake
    loop.run(fake.close())
    loop.close()


class AgentServer:
    def __init__(self, llm: str, *extra: str, port: int = 0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "brightstaff.demo.agent_server", "--llm-url", llm, "--port", str(port), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.ready = self.process.stdout.readline()  # the ready line, or "" when it exited first
        self.url = self.ready[len(READY) :].split()[0] if self.ready.startswith(READY) else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> tuple[int, str]:
        """Send `sig`, wait; the exit status and everything it wrote to stderr."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            _, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
            pytest.fail(f"the agent server did not stop within {timeout} s of signal {sig}:\n{err}")
        return self.process.returncode, err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_it_cleanly(provider: FakeProvider, sig: int) -> None:
    server = AgentServer(llm_url(provider))
    try:
        assert server.url.startswith("http://127.0.0.1:"), server.ready
        assert f"(calling {llm_url(provider)})" in server.ready
        assert httpx.get(f"{server.url}/health", timeout=10).json()["status"] == "ok"
        response = httpx.post(f"{server.url}/v1/chat/completions", json={}, timeout=60)
        assert response.status_code == 200
    finally:
        status, err = server.stop(sig)
    assert status == 0, err
    assert "Traceback" not in err
    assert "research started" in err  # its log: a line per research and per task


def _signal_mid_research(slow: Slow, grace: float) -> tuple[int, str, float, list[httpx.Response]]:
    """Ask for a research, SIGTERM the server once its first call is in flight; how it ended."""
    server = AgentServer(slow.llm_url, "--grace", str(grace))
    answers: list[httpx.Response] = []
    asking = threading.Thread(
        target=lambda: answers.append(httpx.post(f"{server.url}/v1/chat/completions", json={}, timeout=60))
    )
    try:
        asking.start()
        deadline = time.monotonic() + 20
        while not slow.received:  # recorded on arrival, before the delay
            assert time.monotonic() < deadline, "the research never called the listener"
            time.sleep(0.05)
        started = time.monotonic()
    finally:
        status, err = server.stop(signal.SIGTERM)
    took = time.monotonic() - started
    asking.join(30)
    return status, err, took, answers


def test_a_research_in_flight_stops_after_its_current_call(slow: Slow) -> None:
    status, err, took, answers = _signal_mid_research(slow, grace=5)
    assert status == 0, err
    assert "Traceback" not in err
    assert [a.status_code for a in answers] == [503]
    assert answers[0].json()["error"]["code"] == "shutting_down"
    assert len(slow.received) < 4  # the call in flight finished, the research (12 calls) did not go on
    assert took < 10  # generous: bounded, on a loaded machine too


def test_past_the_grace_a_research_is_abandoned_with_a_503_and_no_traceback(slow: Slow) -> None:
    slow.delay = 30  # one call outlasts the grace
    status, err, took, answers = _signal_mid_research(slow, grace=0.5)
    assert status == 0, err
    assert "Traceback" not in err
    assert took < 5
    assert [a.status_code for a in answers] == [503]


def test_it_exits_when_its_parent_is_gone(provider: FakeProvider) -> None:
    """The demo passes --parent-pid: a demo killed outright leaves no agent server behind."""
    port = free_port()
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, subprocess, sys, time\n"
            "subprocess.Popen([sys.executable, '-m', 'brightstaff.demo.agent_server', '--llm-url', sys.argv[1],"
            " '--port', sys.argv[2], '--parent-pid', str(os.getpid())])\n"
            "time.sleep(60)\n",
            llm_url(provider),
            str(port),
        ],
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the agent server did not start"
                time.sleep(0.1)
        assert health.status_code == 200
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            except httpx.TransportError:
                break  # gone
            assert time.monotonic() < deadline, "the agent server outlived its parent"
            time.sleep(0.1)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)


def test_a_port_in_use_is_an_error_not_a_traceback(provider: FakeProvider) -> None:
    first = AgentServer(llm_url(provider))
    try:
        port = first.url.rsplit(":", 1)[1]
        second = AgentServer(llm_url(provider), port=int(port))
        status, err = second.stop()
        assert status == 1
        assert second.ready == ""
        assert f"cannot listen on 127.0.0.1:{port}" in err
        assert "Traceback" not in err
    finally:
        first.stop()


def test_it_reads_the_seeds_environment_variables(provider: FakeProvider) -> None:
    port = free_port()
    env = {**os.environ, "BRIGHTSTAFF_URL": llm_url(provider), "AGENT_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "brightstaff.demo.agent_server"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        assert ready.startswith(f"{READY} http://127.0.0.1:{port} (calling {llm_url(provider)})"), ready
        assert json.loads(httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).text)["llm_url"] == provider.base_url
    finally:
        process.terminate()
        process.communicate(timeout=15)
    assert process.returncode == 0


def test_the_demo_says_which_extra_the_agent_server_needs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from brightstaff.cli import main

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if the demo extra were not installed
    assert main(["demo", "--agent-server"]) == 2
    assert "pip install 'brightstaff[demo]'" in capsys.readouterr().err
