"""Latency and footprint of the embedded router: `flock /tmp/brightstaff-heavy.lock .venv/bin/python
tests/routing/bench_embedded_router.py`.

Not collected by pytest (timings belong in a report, not in assertions). Prints, on one core:
- start-up: a fresh process importing the router, loading the model and building the seed config's router,
  and the RSS that adds (ru_maxrss of that process minus one that only imports brightstaff's config);
- per-decision p50/p99 over 500 decisions for ~50 KB bodies, parsed from JSON bytes as the server would:
  an agent transcript (40 tool steps after the ask) and one huge user message, each cold (the encoder's
  cache cleared before every decision: a new ask) and as an agent loop sends them (the ask cached from the
  previous turn, the latest tool result new every time); and the huge message cut to the 300 characters
  the router clips it to: a decision costs what its clip costs (the tokens the encoder reads, at most
  `ASK_TOKENS`), not the body's size;
- the eval sets' `long` cases (20-50 KB agent transcripts), cold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

import orjson

from brightstaff.config import parse_config
from brightstaff.core.chat import parse_chat
from brightstaff.core.conversation import Conversation
from brightstaff.routing.embedded import ASK_CHARS, EmbeddedRouter, ask_cap, clip, current_ask
from brightstaff.routing.evaluate import load_eval_sets
from brightstaff.routing.sentence_encoder import shared_encoder

SEED = {
    "model_providers": [
        {"model": "openai/gpt-4o-mini", "default": True},
        {
            "model": "openai/gpt-4o",
            "routing_preferences": [
                {
                    "name": "complex_reasoning",
                    "description": "complex reasoning tasks, multi-step analysis, or detailed explanations",
                }
            ],
        },
        {
            "model": "anthropic/claude-sonnet-4-20250514",
            "routing_preferences": [
                {
                    "name": "code_generation",
                    "description": "generating new code, writing functions, or creating boilerplate",
                }
            ],
        },
    ]
}

_STARTUP = """
import json, resource, sys, time
start = time.perf_counter()
from brightstaff.config import parse_config
if sys.argv[1] == "router":
    from brightstaff.routing.embedded import ASK_CHARS, EmbeddedRouter, clip, current_ask
    EmbeddedRouter(parse_config(json.loads(sys.argv[2]), env={}).providers, 0.1)
print(json.dumps([time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss]))
"""


def _startup(kind: str) -> tuple[float, int]:
    out = subprocess.run(
        [sys.executable, "-c", _STARTUP, kind, json.dumps(SEED)], capture_output=True, text=True, check=True
    ).stdout
    seconds, rss_kb = json.loads(out)
    return float(seconds), int(rss_kb)


def _long_agent_messages(turns: int = 40) -> list[dict[str, object]]:
    paragraph = (
        "The quarterly report shows revenue growth in most regions, although costs rose faster than "
        "expected in logistics and the new warehouse is still below its planned throughput. "
    )
    messages: list[dict[str, object]] = [
        {"role": "system", "content": "You are an analyst agent with report tools."},
        {"role": "user", "content": "Analyze our logistics costs and compare the regions."},
    ]
    for i in range(turns):
        args = orjson.dumps({"region": i}).decode()
        call = {"id": f"c{i}", "type": "function", "function": {"name": "fetch_report", "arguments": args}}
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        messages.append({"role": "tool", "tool_call_id": f"c{i}", "content": paragraph * 5})
    return messages


def _body(messages: list[dict[str, object]]) -> bytes:
    return orjson.dumps({"model": "gpt-4o-mini", "messages": messages})


def _huge_user_body() -> bytes:
    code = "def handler(event):\n    return process(event['body'])\n"
    return _body([{"role": "user", "content": "Review this module for bugs:\n" + code * 900}])


def _percentiles(run: Callable[[int], object], n: int = 500) -> tuple[float, float]:
    timings = []
    for i in range(n):
        start = time.perf_counter_ns()
        run(i)
        timings.append((time.perf_counter_ns() - start) / 1e6)
    timings.sort()
    return timings[len(timings) // 2], timings[int(len(timings) * 0.99)]


def main() -> int:
    base_s, base_rss = _startup("config")
    router_s, router_rss = _startup("router")
    print(f"start-up: {router_s:.2f} s to import, load the model and build the seed router ({base_s:.2f} s config)")
    added = (router_rss - base_rss) / 1024
    print(f"RSS: {router_rss / 1024:.0f} MB with the router, {base_rss / 1024:.0f} MB without: +{added:.0f} MB")

    router = EmbeddedRouter(parse_config(SEED, env={}).providers, 0.1)
    encoder = shared_encoder()
    agent = _body(_long_agent_messages())
    huge = _huge_user_body()
    huge_clip = clip(current_ask(parse_chat(huge).conversation), ASK_CHARS)
    only_clip = _body([{"role": "user", "content": huge_clip}])
    for name, body in (
        ("agent transcript", agent),
        ("one user message", huge),
        ("that message's clip alone", only_clip),
    ):
        conversation = parse_chat(body).conversation

        def cold(_: int, conversation: Conversation = conversation) -> None:
            encoder.clear_cache()
            router.classify(conversation)

        p50, p99 = _percentiles(cold)
        tokens = encoder.tokens(clip(current_ask(conversation), ASK_CHARS), ask_cap())
        print(f"{name}, {len(body) / 1024:.1f} KB ({tokens} tokens embedded), cold: p50 {p50:.2f} ms, p99 {p99:.2f} ms")

    # An agent loop: the same ask on every turn (cached after the first), a new tool result each time.
    messages = _long_agent_messages()
    steps = [
        parse_chat(_body([*messages[:-1], {**messages[-1], "content": f"{messages[-1]['content']} Run {i}."}]))
        for i in range(500)
    ]
    router.classify(steps[0].conversation)
    p50, p99 = _percentiles(lambda i: router.classify(steps[i].conversation))
    size = len(agent) / 1024
    print(f"agent transcript, {size:.0f} KB, next tool step (ask cached): p50 {p50:.2f} ms, p99 {p99:.2f} ms")

    timings = []
    for labelled in load_eval_sets():
        long_router = EmbeddedRouter(labelled.providers, 0.1)
        for example in labelled.examples:
            if example.kind != "long":
                continue
            conversation = example.request.conversation
            for _ in range(50):
                encoder.clear_cache()
                start = time.perf_counter_ns()
                long_router.classify(conversation)
                timings.append((time.perf_counter_ns() - start) / 1e6)
    timings.sort()
    print(
        f"eval sets' long cases (20-50 KB agent transcripts), cold: p50 {timings[len(timings) // 2]:.2f} ms, "
        f"p99 {timings[int(len(timings) * 0.99)]:.2f} ms over {len(timings)} decisions"
    )
    print(f"(OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
