"""`brightstaff demo --agent-server`: the research agent service beside the stack, called without and with affinity.

The agent server runs as its own process (`python -m brightstaff.demo.agent_server`), as a service
would: the demo starts it, asks it for the research twice over HTTP (the second time with an
`X-Model-Affinity` id, which it forwards on every call), prints each run per task with the main demo's
rows and ✓/✗ lines, and stops it (SIGTERM; it also exits by itself when the demo's process is gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid

import httpx

from brightstaff.demo.agent import AFFINITY_HEADER, RULE, run_title
from brightstaff.demo.agent_server import READY
from brightstaff.demo.research import TaskRun, calls, contrast_line, format_research, trace_from_json

START_TIMEOUT = 30.0  # seconds for the agent server to print its ready line
RESEARCH_TIMEOUT = 300.0  # one research: three tool loops of up to eight calls each
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL


class AgentServerProcess:
    """The agent service as a child process, calling the chat completions API under `llm_url`."""

    def __init__(self, llm_url: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.llm_url = llm_url
        self.host = host
        self.port = port
        self.url = ""  # http://host:port once started
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "brightstaff.demo.agent_server",
            "--llm-url",
            self.llm_url,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--parent-pid",
            str(os.getpid()),
            "--log-level",
            "warning",  # its errors still reach the terminal; its per-task lines would repeat the table
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        try:
            line = (await asyncio.wait_for(self._process.stdout.readline(), START_TIMEOUT)).decode()
        except TimeoutError:
            line = ""
        if not line.startswith(READY):
            await self.stop()
            raise RuntimeError(f"the agent server did not start (exit status {self._process.returncode})")
        self.url = line[len(READY) :].split()[0]

    async def stop(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


async def ask(url: str, affinity_id: str | None) -> tuple[list[TaskRun], str | None]:
    """One research from the agent server at `url`: the tasks it ran, and why it stopped early (if it did)."""
    headers = {AFFINITY_HEADER: affinity_id} if affinity_id else {}
    # The agent server does not read the messages (the research is fixed); a chat request all the same.
    request = {"model": "research-agent", "messages": [{"role": "user", "content": "PostgreSQL or MongoDB?"}]}
    try:
        async with httpx.AsyncClient(timeout=RESEARCH_TIMEOUT) as client:
            response = await client.post(f"{url}/v1/chat/completions", json=request, headers=headers)
        body = response.json()
        tasks = trace_from_json(body.get("routing_trace") or [])
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return [], f"agent server at {url}: {exc!r}"
    if response.status_code != 200:
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        return tasks, f"agent server answered {response.status_code}: {error.get('message', response.text[:200])}"
    return tasks, None


async def run_agent_server_demo(agent_url: str) -> bool:
    """Run 1 without affinity, run 2 with it, printed per task; True when run 2 kept one model for every call."""
    without, error = await ask(agent_url, None)
    print(format_research(without, run_title(1, None), affinity=False, error=error), flush=True)
    affinity_id = uuid.uuid4().hex
    pinned, pinned_error = await ask(agent_url, affinity_id)
    print(format_research(pinned, run_title(2, affinity_id), affinity=True, error=pinned_error), flush=True)
    print(RULE)
    print(contrast_line(without, pinned), flush=True)
    return pinned_error is None and len(set(calls(pinned))) == 1
