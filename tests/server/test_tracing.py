"""Decision spans (Plano's `tracing:`): GenAI attributes, a hashed conversation id, the client's trace as
parent, parent-based sampling; and tracing off makes nothing at all."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from seed_data import SEED_ENV, seed_config_data

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.config import Config, parse_config
from brightstaff.core.affinity_sources import provider_cache_key
from brightstaff.core.request import RequestFacts
from brightstaff.extproc.codec import facts_from_headers
from brightstaff.metrics import Metrics
from brightstaff.pins.memory import MemoryPinStore
from brightstaff.server.app import build_app
from brightstaff.server.handler import RequestHandler
from brightstaff.tracing import SPAN_NAME, DecisionTracer

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
TESTS = Path(__file__).resolve().parents[1]
BODY = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"write code"}]}'


def tracing_config(**tracing: Any) -> Config:
    data = seed_config_data()
    data["tracing"] = {"random_sampling": 100, "opentracing_grpc_endpoint": "http://127.0.0.1:4317", **tracing}
    return parse_config(data, SEED_ENV)


async def spans_of(config: Config, *requests: RequestFacts) -> list[ReadableSpan]:
    """Send `requests` through a handler whose tracer exports into memory; the spans it made."""
    exporter = InMemorySpanExporter()
    tracer = DecisionTracer(config, exporter)
    from brightstaff.routing.embedded import EmbeddedRouter

    router = EmbeddedRouter(config.providers, config.routing.min_match_score)
    handler = RequestHandler(config, MemoryPinStore(max_entries=10, ttl_seconds=60), router, Metrics(), tracer)

    for facts in requests:
        await handler.handle(facts, BODY)
    await asyncio.sleep(0)  # the span is made in the loop's next turn
    tracer.shutdown()
    return list(exporter.get_finished_spans())


def facts(affinity: str | None = None, traceparent: str | None = None) -> RequestFacts:
    return RequestFacts("POST", "/v1/chat/completions", affinity=affinity, request_id="rid-1", traceparent=traceparent)


@pytest.mark.anyio
async def test_a_decision_span_with_genai_attributes_in_the_clients_trace() -> None:
    (span,) = await spans_of(tracing_config(), facts("run-7", f"00-{TRACE_ID}-{CLIENT_SPAN}-01"))
    assert span.name == SPAN_NAME
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None and format(span.parent.span_id, "016x") == CLIENT_SPAN
    assert span.parent.is_remote
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "claude-sonnet-4-20250514"
    assert attributes["gen_ai.provider.name"] == "anthropic"
    assert attributes["gen_ai.conversation.id"] == provider_cache_key("run-7")
    assert attributes["brightstaff.affinity"] == "new"
    assert attributes["brightstaff.route"] == "code_generation"
    assert attributes["brightstaff.affinity_source"] == "header"
    assert attributes["brightstaff.provider"] == "anthropic/claude-sonnet-4-20250514"
    assert attributes["brightstaff.requested_model"] == "gpt-4o-mini"
    assert attributes["brightstaff.request_id"] == "rid-1"
    assert not any("run-7" in str(value) for value in attributes.values())  # the raw id never leaves
    assert span.resource.attributes["service.name"] == "brightstaff"
    assert span.end_time is not None and span.start_time is not None and span.end_time > span.start_time


@pytest.mark.anyio
async def test_the_conversation_id_is_keyed_by_the_configured_salt() -> None:
    data = seed_config_data()
    data["tracing"] = {"random_sampling": 100, "opentracing_grpc_endpoint": "http://127.0.0.1:4317"}
    data["routing"]["affinity"] = {"cache_key_salt": "$SALT"}
    config = parse_config(data, {**SEED_ENV, "SALT": "s3cret"})
    (span,) = await spans_of(config, facts("run-7"))
    assert dict(span.attributes or {})["gen_ai.conversation.id"] == provider_cache_key("run-7", "s3cret")
    assert provider_cache_key("run-7", "s3cret") != provider_cache_key("run-7")


@pytest.mark.anyio
async def test_sampling_follows_the_clients_flag_then_random_sampling() -> None:
    unsampled = facts("a", f"00-{TRACE_ID}-{CLIENT_SPAN}-00")
    assert await spans_of(tracing_config(random_sampling=100), unsampled) == []
    sampled = facts("b", f"00-{TRACE_ID}-{CLIENT_SPAN}-01")
    assert len(await spans_of(tracing_config(random_sampling=1), *[sampled] * 5)) == 5  # the client's trace decides
    (root,) = await spans_of(tracing_config(random_sampling=100), facts())
    assert root.parent is None and "gen_ai.conversation.id" not in (root.attributes or {})
    assert len(await spans_of(tracing_config(random_sampling=1), *[facts()] * 20)) < 20


@pytest.mark.anyio
async def test_static_span_attributes_from_the_config() -> None:
    (span,) = await spans_of(tracing_config(span_attributes={"static": {"deployment.environment": "staging"}}), facts())
    assert dict(span.attributes or {})["deployment.environment"] == "staging"


def test_envoy_forwards_the_traceparent_header_into_the_facts() -> None:
    values = [
        (":method", "POST"),
        (":path", "/v1/chat/completions"),
        ("traceparent", f"00-{TRACE_ID}-{CLIENT_SPAN}-01"),
    ]
    headers = pb.HttpHeaders(
        headers=pb.HeaderMap(headers=[pb.HeaderValue(key=k, raw_value=v.encode()) for k, v in values])
    )
    parsed = facts_from_headers(headers, affinity_header="x-model-affinity", tenant_header=None)
    assert parsed.traceparent == f"00-{TRACE_ID}-{CLIENT_SPAN}-01"
    assert facts_from_headers(pb.HttpHeaders(), affinity_header="x", tenant_header=None).traceparent is None


@pytest.mark.anyio
async def test_tracing_on_builds_a_tracer_and_stop_flushes_it() -> None:
    app = build_app(tracing_config())
    assert isinstance(app.handler.tracer, DecisionTracer)
    await app.stop(0)  # the collector is not there: shutdown still returns (export bounded)


@pytest.mark.parametrize(
    "tracing",
    [None, {"random_sampling": 100}, {"opentracing_grpc_endpoint": "http://x:4317"}],
    ids=["no section", "no endpoint", "no sampling"],
)
def test_tracing_off_imports_nothing_and_makes_no_span(tracing: dict[str, Any] | None) -> None:
    """Off (the default, or a `tracing:` without an endpoint or sampling): no tracer, and OpenTelemetry is not
    even imported while requests are handled, so no span object can exist."""
    # A fresh interpreter, with its own loop (`asyncio.run` in the probe): this process has long imported
    # OpenTelemetry, so only a new one's sys.modules can show that handling requests imports none of it.
    probe = f"""
import asyncio, sys
sys.path.insert(0, {str(TESTS)!r})
from seed_data import SEED_ENV, seed_config_data
from brightstaff.config import parse_config
from brightstaff.core.request import RequestFacts
from brightstaff.server.app import build_app
data = seed_config_data()
tracing = {tracing!r}
if tracing is not None:
    data["tracing"] = tracing
app = build_app(parse_config(data, SEED_ENV))
assert app.handler.tracer is None
facts = RequestFacts("POST", "/v1/chat/completions", affinity="a", traceparent="00-{TRACE_ID}-{CLIENT_SPAN}-01")
async def run():
    for _ in range(3):
        await app.handler.handle(facts, {BODY!r})
    await asyncio.sleep(0)
asyncio.run(run())
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
