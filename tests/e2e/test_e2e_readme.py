"""The README's quick start, as written, against `brightstaff demo --keep-running`.

The blocks are read from README.md by their `<!-- readme-test: NAME -->` markers, so what the README
shows is what runs here. The only change made to them: the seed's ports (12000 for the listener, 8000
for the agent server) become the free ports this test started the demo and the agent server on.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from demo_processes import ROOT, demo_kept_running, hint_commands, start_script
from e2e_stack import KEYS, Providers, e2e_config

from harness.free_port import free_port

pytestmark = pytest.mark.e2e

BLOCK = re.compile(r"<!-- readme-test: ([\w-]+) -->\n```(\w+)\n(.*?)\n```", re.S)
TESTED = {
    "python",
    "curl-plain",
    "curl-affinity",
    "curl-stream",
    "curl-models",
    "curl-agent-server",
    "python-messages",
    "python-responses",
    "curl-messages",
    "curl-responses",
}
DEMO_MODELS = {"gpt-4o-mini", "gpt-4o", "claude-sonnet-4-20250514"}


def readme_blocks() -> dict[str, str]:
    blocks = {name: code for name, _, code in BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))}
    assert set(blocks) == TESTED, "README.md and this test must name the same blocks"
    return blocks


@dataclass
class Demo:
    port: int
    output: Path

    def on_port(self, code: str, seed_port: int = 12000, port: int | None = None) -> str:
        """The block with the seed's address replaced by where this test's server listens."""
        address = f"localhost:{seed_port}"
        assert address in code
        return code.replace(address, f"localhost:{self.port if port is None else port}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    output = tmp_path_factory.mktemp("readme") / "demo.out"
    port = free_port()
    with demo_kept_running(output, "--port", str(port)):
        yield Demo(port, output)


def bash(code: str) -> str:
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def headers(response: str) -> dict[str, str]:
    """The last response head of `curl -i` output, names lowercased."""
    head = response.split("\r\n\r\n")[0]
    return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head.splitlines()[1:])}


def test_the_readme_keeps_the_seeds_snippet() -> None:
    python = readme_blocks()["python"]
    assert 'client = OpenAI(base_url="http://localhost:12000/v1", api_key="EMPTY")' in python
    assert 'extra_headers={"X-Model-Affinity": affinity_id}' in python
    assert 'model="gpt-4o-mini"' in python


@pytest.mark.parametrize("block", ["python", "python-messages"])
def test_the_python_snippet_keeps_one_model(demo: Demo, block: str) -> None:
    """The chat completions snippet (openai SDK) and the Messages one (anthropic SDK), as written."""
    first, second = run_python(demo.on_port(readme_blocks()[block])).split()
    assert first == second
    assert first in DEMO_MODELS


def test_the_curl_examples_run_as_written(demo: Demo) -> None:
    blocks = readme_blocks()

    plain = bash(demo.on_port(blocks["curl-plain"]))
    assert plain.startswith("HTTP/1.1 200"), plain
    assert headers(plain)["x-brightstaff-affinity"] == "none"
    assert headers(plain)["x-brightstaff-model"] in DEMO_MODELS

    first = headers(bash(demo.on_port(blocks["curl-affinity"])))
    again = headers(bash(demo.on_port(blocks["curl-affinity"])))
    assert (first["x-brightstaff-affinity"], again["x-brightstaff-affinity"]) == ("new", "pinned")
    assert again["x-brightstaff-model"] == first["x-brightstaff-model"]

    stream = bash(demo.on_port(blocks["curl-stream"]))
    events = [line.removeprefix("data: ") for line in stream.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert {c["model"] for c in chunks} == {first["x-brightstaff-model"]}  # served from the pin
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])

    models = json.loads(bash(demo.on_port(blocks["curl-models"])))
    assert {m["id"].split("/", 1)[1] for m in models["data"]} == DEMO_MODELS


def test_the_responses_snippet_and_the_curls_share_one_pin(demo: Demo) -> None:
    """The streamed Responses snippet pins `codex-run-1`; the Messages and Responses curls join that pin."""
    blocks = readme_blocks()
    *text, model = run_python(demo.on_port(blocks["python-responses"])).strip().splitlines()
    assert "".join(text).strip()  # the deltas were printed as they came
    assert model in DEMO_MODELS
    for name, shape in (("curl-messages", "message"), ("curl-responses", "response")):
        response = bash(demo.on_port(blocks[name]))
        assert response.startswith("HTTP/1.1 200"), response
        assert headers(response)["x-brightstaff-affinity"] == "pinned"
        assert headers(response)["x-brightstaff-model"] == model
        body = json.loads(response.split("\n\n", 1)[1])  # text mode: CRLF read as LF
        assert body["type" if shape == "message" else "object"] == shape
        assert body["model"] == model


def test_the_agent_server_example_runs_as_written(demo: Demo) -> None:
    port = free_port()
    with start_script(f"http://127.0.0.1:{demo.port}", port) as script:
        answer = json.loads(bash(demo.on_port(readme_blocks()["curl-agent-server"], 8000, port)))
    assert script.returncode == 0, script.stderr
    assert answer["session_id"] == "my-research-1"
    assert [t["task"] for t in answer["routing_trace"]] == ["generate_comparison", "analyse_tradeoffs", "write_schema"]
    assert len({turn["model"] for t in answer["routing_trace"] for turn in t["turns"]}) == 1


def test_the_parting_hint_works_as_printed(demo: Demo) -> None:
    commands = hint_commands(demo.output)
    assert len(commands) == 1, demo.output.read_text()
    assert f"http://127.0.0.1:{demo.port}/v1/chat/completions" in commands[0]
    response = bash(commands[0])
    assert response.startswith("HTTP/1.1 200"), response
    assert headers(response)["x-brightstaff-affinity"] in ("new", "pinned")


def test_a_busy_listener_port_is_named_and_another_one_taken(tmp_path: Path, providers: Providers) -> None:
    """`--keep-running` without `--port` takes the config's port when free; else it says which it took."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        config = e2e_config(providers.openai, providers.anthropic)
        config["listeners"][0]["port"] = taken
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "brightstaff", "demo", "--config", str(path)],
            capture_output=True,
            text=True,
            timeout=180,
            env={**os.environ, **KEYS},
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"port {taken} is in use: the demo listens on "), first
    other = int(first.rsplit(" on ", 1)[1].split()[0])
    assert other != taken
    assert f"Envoy on http://127.0.0.1:{other} -> brightstaff -> the providers in {path}" in result.stdout
    assert "✓ With affinity:" in result.stdout
