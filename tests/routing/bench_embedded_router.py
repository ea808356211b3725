"""Latency and accuracy of the embedded router: `.venv/bin/python tests/routing/bench_embedded_router.py`.

Not collected by pytest (timings belong in a report, not in assertions). Prints the labelled-set report
per preference set and split, then p50/p99 for ~50 KB bodies: a long agent transcript and one huge
user message, each parsed from JSON bytes as the server would.
"""

from __future__ import annotations

import sys
import time

import orjson

from brightstaff.core.chat import parse_chat
from brightstaff.routing.embedded import EmbeddedRouter
from brightstaff.routing.evaluate import LABELLED_PROMPTS, evaluate, format_report, load_labelled

LABELLED = LABELLED_PROMPTS


def _long_agent_body() -> bytes:
    paragraph = (
        "The quarterly report shows revenue growth in most regions, although costs rose faster than "
        "expected in logistics and the new warehouse is still below its planned throughput. "
    )
    messages: list[dict[str, object]] = [
        {"role": "system", "content": "You are an analyst agent with report tools."},
        {"role": "user", "content": "Analyze our logistics costs and compare the regions."},
    ]
    for i in range(40):
        args = orjson.dumps({"region": i}).decode()
        call = {"id": f"c{i}", "type": "function", "function": {"name": "fetch_report", "arguments": args}}
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        messages.append({"role": "tool", "tool_call_id": f"c{i}", "content": paragraph * 5})
    return orjson.dumps({"model": "gpt-4o-mini", "messages": messages})


def _huge_user_body() -> bytes:
    code = "def handler(event):\n    return process(event['body'])\n"
    return orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": code * 900}]})


def main() -> int:
    sets = load_labelled(LABELLED)
    for labelled in sets:
        router = EmbeddedRouter(labelled.providers, 0.2)
        for split in ("dev", "holdout1", "holdout2"):
            examples = [e for e in labelled.examples if e.split == split]
            if examples:
                print(format_report(evaluate(router, examples, repeat=20), f"== {labelled.name} / {split}"))
                print()
    router = EmbeddedRouter(sets[0].providers, 0.2)
    for name, body in (("agent transcript", _long_agent_body()), ("one user message", _huge_user_body())):
        request = parse_chat(body).conversation
        router.classify(request)
        timings = []
        for _ in range(500):
            start = time.perf_counter_ns()
            router.classify(request)
            timings.append((time.perf_counter_ns() - start) / 1000)
        timings.sort()
        p50, p99 = timings[len(timings) // 2], timings[int(len(timings) * 0.99)]
        print(f"{name}, {len(body) / 1024:.0f} KB: p50 {p50:.0f} us, p99 {p99:.0f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
