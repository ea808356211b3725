"""One Envoy + brightstaff pair on free loopback ports, as the end-to-end tests and the benchmark run it.

`Stack(workdir, config)` writes the brightstaff config (its gRPC and admin ports filled in) and renders the
Envoy bootstrap for it; nothing runs until `start_brightstaff()` and `envoy.start()`. brightstaff is its
own process (harness/brightstaff_process.py), ready once its /readyz answers 200; `stop()` stops both by
PID. `extra_listeners` are added to the bootstrap as they are (the benchmark's direct listener).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from brightstaff.config import load_config
from brightstaff.proxy.bootstrap import render_envoy
from brightstaff.proxy.envoy_process import EnvoyProcess
from harness import brightstaff_process
from harness.free_port import free_port

KEYS = {"OPENAI_API_KEY": "sk-e2e-openai-1111", "ANTHROPIC_API_KEY": "sk-e2e-anthropic-2222"}


class Stack:
    """One Envoy + brightstaff pair in front of the providers its config names."""

    def __init__(
        self,
        workdir: Path,
        config: dict[str, Any],
        *,
        log_level: str = "info",
        keys: Mapping[str, str] = KEYS,
        extra_listeners: Sequence[dict[str, Any]] = (),
    ) -> None:
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
        self.log_level = log_level
        self.keys = dict(keys)
        self._log_file: IO[bytes] | None = None
        self.config = load_config(self.config_path, env=self.keys)
        bootstrap = render_envoy(self.config, listener_port=self.listener_port, admin_port=0)
        bootstrap["static_resources"]["listeners"].extend(extra_listeners)
        self.envoy = EnvoyProcess(bootstrap, workdir=workdir / "envoy", log_level="info")
        self.base_url = f"http://127.0.0.1:{self.listener_port}"

    def start_brightstaff(self) -> None:
        self._log_file = self.brightstaff_log.open("ab")
        self.brightstaff = brightstaff_process.start_serve(
            self.config_path,
            self.admin_port,
            self._log_file,
            self.brightstaff_log,
            {**os.environ, **self.keys},
            log_level=self.log_level,
        )

    def stop_brightstaff(self, sig: int = signal.SIGTERM) -> int:
        assert self.brightstaff is not None
        code = brightstaff_process.stop(self.brightstaff, sig)
        if self._log_file is not None:
            self._log_file.close()
        return code

    def admin_get(self, path: str) -> tuple[int, str]:
        return brightstaff_process.admin_get(self.admin_port, path)

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
