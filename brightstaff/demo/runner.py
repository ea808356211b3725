"""`brightstaff demo`: start fake providers, brightstaff and Envoy, then run the agent without and with affinity."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from pathlib import Path

from brightstaff.config import Config, load_config, parse_config, require_secrets
from brightstaff.demo.agent import format_run, run_agent
from brightstaff.demo.fake_provider import FakeProvider, start_fake_provider
from brightstaff.demo.scenario import demo_config
from brightstaff.proxy.stack import Stack

RULE = "━" * 56


async def run_demo(*, port: int, keep_running: bool, config_path: str | None = None) -> int:
    """Run the two agent runs; exit 0 when the affinity run kept one model (the promise), 1 otherwise."""
    # The decision log lines would interleave with the tables; the demo prints its own summary.
    for noisy in ("brightstaff", "httpx", "httpx2", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    fakes: list[FakeProvider] = []
    if config_path is None:
        fakes = [await start_fake_provider("openai"), await start_fake_provider("anthropic")]
        config: Config = parse_config(demo_config({"openai": fakes[0].port, "anthropic": fakes[1].port}), os.environ)
        where = "fake providers on " + ", ".join(f.base_url for f in fakes) + " (no API keys needed)"
    else:
        config = load_config(Path(config_path))
        require_secrets(config)  # as serve and up: requests must not go out without credentials
        where = f"the providers in {config_path}"
    stack = Stack(config, listener_port=port, grpc_port=0, admin_port=0)
    await stack.start()
    try:
        base_url = f"{stack.base_url}/v1"
        print(f"brightstaff demo: Envoy on {stack.base_url} -> brightstaff -> {where}\n", flush=True)
        without = await asyncio.to_thread(run_agent, base_url, affinity_id=None)
        print(format_run(without, "Run 1: WITHOUT Model Affinity"), flush=True)
        affinity_id = uuid.uuid4().hex
        with_affinity = await asyncio.to_thread(run_agent, base_url, affinity_id=affinity_id)
        print(
            format_run(with_affinity, f"Run 2: WITH Model Affinity (X-Model-Affinity: {affinity_id[:8]}…)"), flush=True
        )
        ok = with_affinity.completed and len(set(with_affinity.models)) == 1
        print(RULE)
        print(
            f"without affinity: {without.switches} model switch(es) in {len(without.turns)} turns; "
            f"with affinity: {len(set(with_affinity.models))} model(s) in {len(with_affinity.turns)} turns",
            flush=True,
        )
        if keep_running:
            print(f"\nstack still up: curl {base_url}/chat/completions (Ctrl-C stops)", flush=True)
            await asyncio.Event().wait()
        return 0 if ok else 1
    finally:
        await stack.stop()
        for fake in fakes:
            await fake.close()
