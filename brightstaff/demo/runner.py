"""`brightstaff demo`: start fake providers, brightstaff and Envoy, then run the agent without and with affinity.

With `agent_server`, the agent is the research agent service (agent_server_demo.py) instead, started
beside the stack and called over HTTP. The listener takes the config's port (12000, the seed's) when it
is free and says which port it took otherwise; `--keep-running` leaves everything up and prints
requests to try.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from brightstaff.config import Config, load_config, parse_config, require_secrets
from brightstaff.demo.agent import format_run, run_agent
from brightstaff.demo.fake_anthropic import start_fake_anthropic
from brightstaff.demo.fake_backend import FakeBackend
from brightstaff.demo.fake_provider import start_fake_provider
from brightstaff.demo.ports import AGENT_PORT, port_or_free
from brightstaff.demo.scenario import API_NAMES, ASKED_MODELS, AgentApi, demo_config
from brightstaff.proxy.stack import Stack
from brightstaff.server.shutdown import ShutdownSignals

if TYPE_CHECKING:  # imported when used: the agent server brings its own dependencies
    from brightstaff.demo.agent_server_demo import AgentServerProcess

RULE = "━" * 56


async def run_demo(
    *,
    port: int | None,
    keep_running: bool,
    config_path: str | None = None,
    agent_server: bool = False,
    agent_port: int | None = None,
    api: AgentApi = "chat",
) -> int:
    """Run the two agent runs; exit 0 when the affinity run kept one model (the promise), 1 otherwise.

    `port` None: the config's listener port when free, else any free port. `agent_port` likewise
    with the seed's 8000. `api` is the client API the agent talks through (chat completions by default).
    """
    # The decision log lines would interleave with the tables; the demo prints its own summary.
    for noisy in ("brightstaff", "httpx", "httpx2", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    fakes: list[FakeBackend] = []
    if config_path is None:
        fakes = [await start_fake_provider("openai"), await start_fake_anthropic()]
        config: Config = parse_config(demo_config({"openai": fakes[0].port, "anthropic": fakes[1].port}), os.environ)
        where = "fake providers on " + ", ".join(f.base_url for f in fakes) + " (no API keys needed)"
    else:
        config = load_config(Path(config_path))
        require_secrets(config)  # as serve and up: requests must not go out without credentials
        where = f"the providers in {config_path}"
    if port is None:
        port = port_or_free(config.listener.port, _bind_host(config.listener.address))
        if port != config.listener.port:
            print(f"port {config.listener.port} is in use: the demo listens on {port} instead", flush=True)
    # Ports of its own (0: free ones), so the demo never collides with a running `brightstaff up`.
    stack = Stack(config, listener_port=port, grpc_port=0, admin_port=0, envoy_admin_port=0)
    agents: list[AgentServerProcess] = []  # the research agent server, once started

    async def run() -> bool:
        if not agent_server:
            return await _run_agents(stack, where, api)
        from brightstaff.demo.agent_server_demo import AgentServerProcess, run_agent_server_demo

        agents.append(AgentServerProcess(stack.base_url, port=_agent_port(agent_port)))
        await agents[0].start()
        print(f"brightstaff demo: Envoy on {stack.base_url} -> brightstaff -> {where}", flush=True)
        print(f"research agent server on {agents[0].url} (Starlette on uvicorn), calling that listener\n", flush=True)
        return await run_agent_server_demo(agents[0].url)

    # Ctrl-C (or SIGTERM, SIGHUP) stops the demo wherever it is, stack and fake providers included, without
    # a traceback; an agent's thread ends on its own once the stack is gone.
    with ShutdownSignals() as signals:
        try:
            await stack.start()
            demo = asyncio.create_task(run())
            stop = asyncio.ensure_future(signals.requested.wait())
            await asyncio.wait({demo, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if not demo.done():
                demo.cancel()
                print("\ninterrupted: stopping the demo", flush=True)
                return signals.exit_status
            ok = demo.result()
            if keep_running:
                print("\n" + parting_hint(stack.base_url, agents[0].url if agents else None), flush=True)
                await signals.requested.wait()
            return 0 if ok else 1
        finally:
            for started in agents:
                await started.stop()
            await stack.stop()
            for fake in fakes:
                await fake.close()


async def _run_agents(stack: Stack, where: str, api: AgentApi = "chat") -> bool:
    """Run 1 without affinity, run 2 with it; True when run 2 kept one model (the promise)."""
    base_url = f"{stack.base_url}/v1"
    print(f"brightstaff demo: Envoy on {stack.base_url} -> brightstaff -> {where}", flush=True)
    if api != "chat":  # the chat completions printout stays the seed demo's
        print(f"the agent talks {API_NAMES[api]}, asking for {ASKED_MODELS[api]}", flush=True)
    print(flush=True)
    without = await asyncio.to_thread(run_agent, base_url, affinity_id=None, api=api)
    print(format_run(without, "Run 1: WITHOUT Model Affinity"), flush=True)
    affinity_id = uuid.uuid4().hex
    with_affinity = await asyncio.to_thread(run_agent, base_url, affinity_id=affinity_id, api=api)
    print(format_run(with_affinity, f"Run 2: WITH Model Affinity (X-Model-Affinity: {affinity_id[:8]}…)"), flush=True)
    ok = with_affinity.completed and len(set(with_affinity.models)) == 1
    print(RULE)
    print(
        f"without affinity: {without.switches} model switch(es) in {len(without.turns)} turns; "
        f"with affinity: {len(set(with_affinity.models))} model(s) in {len(with_affinity.turns)} turns",
        flush=True,
    )
    return ok


def _bind_host(address: str) -> str:
    return "127.0.0.1" if address in ("0.0.0.0", "::") else address


def _agent_port(wanted: int | None) -> int:
    if wanted is not None:
        return wanted
    port = port_or_free(AGENT_PORT)
    if port != AGENT_PORT:
        print(f"port {AGENT_PORT} is in use: the agent server listens on {port} instead", flush=True)
    return port


def parting_hint(base_url: str, agent_url: str | None = None) -> str:
    """What to try while the stack stays up: requests that work as printed (copy, paste, run)."""
    body = '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Write a SQL schema for orders"}]}'
    lines = [
        "stack still up (Ctrl-C stops). Try a request, pinned under an affinity id:",
        f"  curl -i {base_url}/v1/chat/completions -H 'Content-Type: application/json' "
        f"-H 'X-Model-Affinity: my-session' -d '{body}'",
    ]
    if agent_url is not None:
        lines += [
            "or the research agent server (three tasks, the header forwarded on every call):",
            f"  curl {agent_url}/v1/chat/completions -H 'Content-Type: application/json' "
            "-H 'X-Model-Affinity: my-research' -d '{}'",
        ]
    return "\n".join(lines)
