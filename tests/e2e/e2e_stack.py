"""The end-to-end tier's parts: fake providers on a background loop, and Envoy + brightstaff stacks on free ports."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from free_port import free_port
from loop_thread import LoopThread
from prometheus_client.parser import text_string_to_metric_families

from brightstaff.config import load_config
from brightstaff.demo.fake_anthropic import start_fake_anthropic
from brightstaff.demo.fake_backend import FakeBackend
from brightstaff.demo.fake_provider import start_fake_provider
from brightstaff.proxy.bootstrap import render_envoy
from brightstaff.proxy.envoy_process import EnvoyProcess

T = TypeVar("T")
KEYS = {"OPENAI_API_KEY": "sk-e2e-openai-1111", "ANTHROPIC_API_KEY": "sk-e2e-anthropic-2222"}


def e2e_config(openai: FakeBackend, anthropic: FakeBackend, **brightstaff: Any) -> dict[str, Any]:
    """The seed config with base URLs on the fake providers (Anthropic's speaks its native Messages API)."""
    return {
        "version": "v0.3.0",
        "listeners": [{"type": "model", "name": "model_listener", "port": 12000, "address": "127.0.0.1"}],
        "model_providers": [
            {
                "model": "openai/gpt-4o-mini",
                "access_key": "$OPENAI_API_KEY",
                "default": True,
                "base_url": openai.base_url,
            },
            {
                "model": "openai/gpt-4o",
                "access_key": "$OPENAI_API_KEY",
                "base_url": openai.base_url,
                "routing_preferences": [
                    {
                        "name": "complex_reasoning",
                        "description": "complex reasoning tasks, multi-step analysis, or detailed explanations",
                    }
                ],
            },
            {
                "model": "anthropic/claude-sonnet-4-20250514",
                "access_key": "$ANTHROPIC_API_KEY",
                "base_url": anthropic.base_url,
                "routing_preferences": [
                    {
                        "name": "code_generation",
                        "description": "generating new code, writing functions, or creating boilerplate",
                    }
                ],
            },
        ],
        "routing": {"session_ttl_seconds": 600, "session_max_entries": 10000},
        "brightstaff": {"message_timeout_ms": 1000, **brightstaff},
    }


class Stack:
    """One Envoy + brightstaff pair in front of the shared fake providers."""

    def __init__(self, workdir: Path, config: dict[str, Any]) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.grpc_port = free_port()
        self.admin_port = free_port()
        self.listener_port = free_port()
        config["brightstaff"].update(grpc_port=self.grpc_port, admin_port=self.admin_port)
        self.config_path = workdir / "config.yaml"
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        self.brightstaff_log = workdir / "brightstaff.log"
        self.brightstaff: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None
        bootstrap = render_envoy(
            load_config(self.config_path, env=KEYS), listener_port=self.listener_port, admin_port=0
        )
        self.envoy = EnvoyProcess(bootstrap, workdir=workdir / "envoy", log_level="info")
        self.base_url = f"http://127.0.0.1:{self.listener_port}"

    def start_brightstaff(self) -> None:
        self._log_file = self.brightstaff_log.open("ab")
        self.brightstaff = subprocess.Popen(
            [sys.executable, "-m", "brightstaff", "--log-level", "info", "serve", str(self.config_path)],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **KEYS},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.brightstaff.poll() is not None:
                raise RuntimeError(f"brightstaff exited during start-up:\n{self.logs()}")
            if self.admin_get("/readyz")[0] == 200:
                return
            time.sleep(0.05)
        raise TimeoutError(f"brightstaff not ready:\n{self.logs()}")

    def stop_brightstaff(self, sig: int = signal.SIGTERM) -> int:
        assert self.brightstaff is not None
        self.brightstaff.send_signal(sig)
        code = self.brightstaff.wait(30)
        self._log_file.close()
        return code

    def admin_get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}{path}", timeout=2) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except (urllib.error.URLError, OSError):
            return 0, ""

    def metric(self, name: str, **labels: str) -> float:
        """The sum of the series of one sample name in brightstaff's /metrics whose labels include `labels`."""
        _, text = self.admin_get("/metrics")
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
        )

    def logs(self) -> str:
        own = self.brightstaff_log.read_text(errors="replace") if self.brightstaff_log.is_file() else "(none)"
        return f"--- brightstaff log ---\n{own[-20000:]}\n--- envoy log ---\n{self.envoy.log_tail(200)}"

    def stop(self) -> None:
        if self.brightstaff is not None and self.brightstaff.poll() is None:
            self.stop_brightstaff()
        if self._log_file is not None:
            self._log_file.close()  # also when a test stopped brightstaff itself
        asyncio.run(self.envoy.stop())


class Providers:
    def __init__(self, loop: LoopThread) -> None:
        self.loop = loop
        self.openai = loop.run(start_fake_provider("openai", chunk_delay=0.0))
        self.anthropic = loop.run(start_fake_anthropic(chunk_delay=0.0))

    def close(self) -> None:
        self.loop.run(self.openai.close())
        self.loop.run(self.anthropic.close())


_STACKS: list[Stack] = []  # every stack alive in this session, for log dumps on failure

StackFactory = Callable[..., Stack]


def launch(workdir: Path, config: dict[str, Any]) -> Stack:
    """Start brightstaff and Envoy for `config`, registered for log dumps until `retire`."""
    stack = Stack(workdir, config)
    _STACKS.append(stack)
    stack.start_brightstaff()
    stack.envoy.start()
    asyncio.run(stack.envoy.wait_ready())
    return stack


def retire(stack: Stack) -> None:
    stack.stop()
    _STACKS.remove(stack)
