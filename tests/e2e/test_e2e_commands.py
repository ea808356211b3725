"""The shipped commands as users run them: `brightstaff demo` and `brightstaff up` in their own processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from e2e_stack import KEYS, Providers

from harness.free_port import free_port

pytestmark = pytest.mark.e2e

SEED = Path(__file__).resolve().parents[2] / "examples" / "plano-model-affinity.yaml"  # the seed config, unchanged


@pytest.mark.parametrize(
    ("api", "named"),
    [
        ("chat", None),  # the default: the seed demo's printout, unchanged
        ("messages", "the agent talks Anthropic Messages (anthropic SDK), asking for claude-sonnet-4-20250514"),
        ("responses", "the agent talks OpenAI Responses (openai SDK), asking for gpt-4o-mini"),
    ],
)
def test_demo_switches_without_affinity_and_pins_with_it(api: str, named: str | None) -> None:
    """`brightstaff demo`, and `--api messages|responses`: the agent through that client API's official SDK."""
    chosen = [] if api == "chat" else ["--api", api]
    result = subprocess.run(
        [sys.executable, "-m", "brightstaff", "demo", *chosen, "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    second_line = out.splitlines()[1]
    assert second_line == (named or "")  # chat: the blank line of the seed printout
    run1, _, run2 = out.partition("Run 2: WITH Model Affinity")
    assert "Run 1: WITHOUT Model Affinity" in run1
    assert "← switched" in run1
    assert "✗ Without affinity: model switched" in run1
    turns = [line for line in run2.splitlines() if line.strip().startswith("turn ")]
    assert len(turns) >= 3
    assert len({line.split("[")[1].split("]")[0].strip() for line in turns}) == 1
    assert "← switched" not in run2
    assert "✓ With affinity:" in run2
    assert "final answer" in run2


def test_demo_refuses_an_unknown_api() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "brightstaff", "demo", "--api", "grpc"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid choice: 'grpc'" in result.stderr


def test_up_serves_the_seed_shaped_config_and_stops_on_sigterm(tmp_path: Path, providers: Providers) -> None:
    config = yaml.safe_load(SEED.read_text())
    base_urls = {"openai": providers.openai.base_url, "anthropic": providers.anthropic.base_url}
    for provider in config["model_providers"]:
        provider["base_url"] = base_urls[provider["model"].split("/")[0]]
    port = free_port()
    config["brightstaff"] = {"grpc_port": free_port(), "admin_port": free_port(), "envoy_admin_port": 0}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    log = (tmp_path / "up.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "brightstaff", "up", str(path), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **KEYS},
    )
    try:
        deadline = time.monotonic() + 60
        while "brightstaff up:" not in (tmp_path / "up.log").read_text():
            assert process.poll() is None, (tmp_path / "up.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "up.log").read_text()
            time.sleep(0.1)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            data=json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}).encode(),
            headers={"content-type": "application/json", "x-model-affinity": "up-test"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
            assert response.headers["x-brightstaff-affinity"] == "new"
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
        log.close()
    assert code == 0, (tmp_path / "up.log").read_text()
    assert "brightstaff stopped" in (tmp_path / "up.log").read_text()
