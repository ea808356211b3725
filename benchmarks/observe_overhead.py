"""What metrics and tracing cost on the request path, in CPU microseconds per call (one process, no I/O).

    python benchmarks/observe_overhead.py [--quick]

Measures, each as the best of several rounds of many calls (run it under the shared lock, on an idle
machine):
- `Metrics.decided` (brightstaff_requests_total's cached child + the decision histogram): every request;
- `Metrics.inc` with three labels (brightstaff_router_calls_total): every routed request;
- `DecisionTracer.decided` (a span with its attributes, handed to the batch processor; the exporter drops
  it): every sampled request with tracing on; and the OTLP encoding of a span, which the exporter's
  thread pays for each one it sends;
- `RequestHandler.handle` on a pin hit, tracing off, on and sampled, on and not sampled: the whole decision
  as the transport calls it, with the work deferred to the loop's next turn (decision log, span) counted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from seed_data import SEED_ENV, seed_config_data

from brightstaff.config import Config, parse_config
from brightstaff.core.affinity_sources import Resolution
from brightstaff.core.decision import Affinity, Decision, RouteChoice
from brightstaff.core.request import RequestFacts
from brightstaff.metrics import Metrics
from brightstaff.pins.memory import MemoryPinStore
from brightstaff.server.handler import RequestHandler
from brightstaff.tracing import DecisionTracer

BODY = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"write code"}]}'


class DropExporter(SpanExporter):
    """Takes spans and throws them away: the export's own cost is off the request path anyway."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class FixedRouter:
    name = "fixed"

    async def route(self, conversation: object) -> RouteChoice:
        return RouteChoice("anthropic/claude-sonnet-4-20250514", "code_generation", "preference", 0.9, "high")


def best_us(call: Callable[[], object], calls: int, rounds: int) -> float:
    """The fastest round's time per call, in microseconds."""
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        started = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - started) / calls)
    return best * 1e6


def encode_us(config: Config, facts: RequestFacts, decision: Decision, rounds: int) -> float:
    """Encoding a batch of 512 decision spans as the OTLP exporter does, per span."""
    exporter = InMemorySpanExporter()
    tracer = DecisionTracer(config, exporter)
    for _ in range(512):
        tracer.decided(facts, decision, Resolution("bench-1", "header"), "gpt-4o-mini", 2e-4, time.time_ns())
    tracer.shutdown()
    spans = exporter.get_finished_spans()
    return best_us(lambda: encode_spans(spans).SerializeToString(), 1, rounds) / len(spans)


def handler_us(
    config: Config, tracer: DecisionTracer | None, calls: int, rounds: int, *, sampled: bool = True
) -> float:
    """One pin-hit request through the handler (the affinity id is pinned by a warm-up request)."""
    store = MemoryPinStore(max_entries=100, ttl_seconds=600)
    handler = RequestHandler(config, store, FixedRouter(), Metrics(), tracer)
    facts = RequestFacts(
        "POST",
        "/v1/chat/completions",
        affinity="bench-1",
        request_id="rid",
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-" + ("01" if sampled else "00"),
    )

    async def batch() -> float:
        await handler.handle(facts, BODY)  # pins bench-1
        best = float("inf")
        for _ in range(rounds):
            gc.collect()
            started = time.perf_counter()
            for _ in range(calls):
                await handler.handle(facts, BODY)
                await asyncio.sleep(0)  # the deferred log line and span run here, and are counted
            best = min(best, (time.perf_counter() - started) / calls)
        return best * 1e6

    return asyncio.run(batch())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few calls: checks it runs, numbers are rough")
    args = parser.parse_args(argv)
    calls, rounds = (500, 2) if args.quick else (50_000, 7)

    import logging

    logging.getLogger("brightstaff.decision").setLevel(logging.WARNING)  # the decision line is not measured here

    config = parse_config(seed_config_data(), SEED_ENV)
    traced = seed_config_data()
    traced["tracing"] = {"random_sampling": 100, "opentracing_grpc_endpoint": "http://127.0.0.1:4317"}
    traced_config = parse_config(traced, SEED_ENV)

    metrics = Metrics()
    metrics.start_at_zero(config, "embedded")
    decision = Decision(config.providers[2], "code_generation", Affinity.PINNED, "pinned")
    tracer = DecisionTracer(traced_config, DropExporter())
    facts = RequestFacts("POST", "/v1/chat/completions", affinity="bench-1", request_id="rid")
    resolution = Resolution("bench-1", "header")

    def count_router_call() -> None:
        metrics.inc("brightstaff_router_calls_total", router="embedded", reason="preference", confidence="high")

    rows = [
        ("Metrics.decided (requests_total + decision histogram)", lambda: metrics.decided(decision, 2e-4)),
        (
            "Metrics.inc, 3 labels (router_calls_total)",
            count_router_call,
        ),
        (
            "DecisionTracer.decided (one span, batched)",
            lambda: tracer.decided(facts, decision, resolution, "gpt-4o-mini", 2e-4, time.time_ns()),
        ),
    ]
    timings = [(what, best_us(call, calls, rounds)) for what, call in rows]
    timings.append(
        ("OTLP encoding of one span (the exporter's thread)", encode_us(traced_config, facts, decision, rounds))
    )
    off = handler_us(config, None, calls // 5, rounds)
    on_tracer = DecisionTracer(traced_config, DropExporter())
    on = handler_us(traced_config, on_tracer, calls // 5, rounds)
    unsampled = handler_us(traced_config, on_tracer, calls // 5, rounds, sampled=False)
    timings += [("handler, pin hit, tracing off", off), ("handler, pin hit, tracing on (sampled)", on)]
    timings.append(("handler, pin hit, tracing on (client's trace not sampled)", unsampled))
    tracer.shutdown()
    on_tracer.shutdown()

    print(f"python {sys.version.split()[0]}, {calls} calls x {rounds} rounds, best round\n")
    print("| what | µs per call |")
    print("|---|---|")
    for what, us in timings:
        print(f"| {what} | {us:.2f} |")


if __name__ == "__main__":
    main()
