"""Observability through real Envoy: one JSON access-log line per request, the decision under its route in
/metrics, and (tracing on) a decision span in the client's trace, received by an OTLP receiver in the test."""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from e2e_stack import KEYS, Providers, Stack, StackFactory, e2e_config, launch, retire
from openai import OpenAI
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from brightstaff.core.affinity_sources import provider_cache_key

pytestmark = pytest.mark.e2e

CODE = "Write a Python function that parses a CSV file and returns the rows as dicts."
CLAUDE = "anthropic/claude-sonnet-4-20250514"
CLIENT_KEY = "sk-client-own-key-that-must-never-be-logged"


def ask(stack: Stack, text: str, headers: dict[str, str]) -> dict[str, str]:
    with OpenAI(base_url=f"{stack.base_url}/v1", api_key=CLIENT_KEY, max_retries=0, default_headers=headers) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
        )
        raw.parse()
        return {k.lower(): v for k, v in raw.headers.items()}


def json_lines(path: Path, marker: str, *, expect: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The JSON lines of `path` holding `marker`, once `expect` are there (Envoy flushes its log each second)."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text(errors="replace") if path.is_file() else ""
        found = [json.loads(line) for line in text.splitlines() if line.startswith("{") and marker in line]
        if len(found) >= expect or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_one_request_is_one_json_access_log_line_with_the_decision(stack: Stack) -> None:
    agent = f"e2e-access-log/{uuid.uuid4()}"
    affinity = f"run-{uuid.uuid4()}"
    headers = ask(stack, CODE, {"User-Agent": agent, "X-Model-Affinity": affinity, "X-Api-Key": CLIENT_KEY})
    assert headers["x-brightstaff-affinity"] == "new"
    (line,) = json_lines(stack.envoy.log_path, agent)  # Envoy's stdout: its log file here
    assert line["method"] == "POST"
    assert line["path"] == "/v1/messages"  # as forwarded: the chat request was translated for Anthropic's API
    assert line["status"] == 200 and isinstance(line["duration_ms"], int)
    assert line["bytes_received"] > 0 and line["bytes_sent"] > 0
    assert line["response_flags"] == "-"
    assert line["upstream_cluster"] == "provider_anthropic_claude-sonnet-4-20250514"
    assert line["affinity"] == "new"
    assert line["provider"] == CLAUDE
    assert line["model"] == "claude-sonnet-4-20250514"
    assert line["route"] == "code_generation"
    assert line["affinity_source"] == "header"
    # The request id is the one brightstaff's decision line carries: the two logs join on it.
    assert line["request_id"] and f"request_id={line['request_id']}" in stack.brightstaff_log.read_text()
    # Neither the client's key nor the provider's (injected by brightstaff) is in the line, nor the affinity id.
    text = json.dumps(line)
    for secret in (CLIENT_KEY, *KEYS.values(), affinity):
        assert secret not in text


def test_a_refused_request_is_logged_too_without_a_decision(stack: Stack) -> None:
    agent = f"e2e-access-log/{uuid.uuid4()}"
    with OpenAI(base_url=f"{stack.base_url}/v1", api_key=CLIENT_KEY, max_retries=0) as client:
        raw = client.with_options(default_headers={"User-Agent": agent}).models.with_raw_response.list()
    assert raw.http_response.status_code == 200
    (line,) = json_lines(stack.envoy.log_path, agent)
    assert line["path"] == "/v1/models" and line["status"] == 200
    assert line["affinity"] is None and line["upstream_cluster"] is None  # answered by brightstaff itself


def test_the_access_log_goes_to_a_file_when_configured(make_stack: StackFactory, tmp_path: Path) -> None:
    target = tmp_path / "access.log"
    stack = make_stack(access_log=str(target))
    agent = f"e2e-access-log/{uuid.uuid4()}"
    ask(stack, "hi there", {"User-Agent": agent})
    (line,) = json_lines(target, agent)
    assert line["route"] == "default" and line["affinity"] == "none"
    assert agent not in stack.envoy.log_path.read_text(errors="replace")


def test_the_decision_is_counted_under_its_route(stack: Stack) -> None:
    labels = {"affinity": "new", "provider": CLAUDE, "route": "code_generation"}
    before = stack.metric("brightstaff_requests_total", **labels)
    ask(stack, CODE, {"X-Model-Affinity": f"run-{uuid.uuid4()}"})
    assert stack.metric("brightstaff_requests_total", **labels) == before + 1
    _, text = stack.admin_get("/metrics")  # present at zero from start-up, before any such request
    series = 'brightstaff_requests_total{affinity="repinned",provider="openai/gpt-4o",route="complex_reasoning"}'
    assert f"{series} 0.0" in text
    assert stack.metric("brightstaff_decision_seconds_count") >= 1
    assert stack.metric("process_cpu_seconds_total") > 0


class OtlpReceiver(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP/gRPC trace collector on loopback: keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[tuple[dict[str, Any], Span]] = []  # (resource attributes, span)
        self._lock = threading.Lock()
        self.server = grpc.server(ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def Export(self, request: ExportTraceServiceRequest, context: grpc.ServicerContext) -> ExportTraceServiceResponse:
        with self._lock:
            for resource_spans in request.resource_spans:
                resource = attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend((resource, span) for span in scope_spans.spans)
        return ExportTraceServiceResponse()

    def wait_for(self, name: str, timeout: float = 15.0) -> list[tuple[dict[str, Any], Span]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [(r, s) for r, s in self.spans if s.name == name]
            if found:
                return found
            time.sleep(0.05)
        return []

    def close(self) -> None:
        self.server.stop(0).wait(5)


def attributes(values: Any) -> dict[str, Any]:
    return {kv.key: getattr(kv.value, kv.value.WhichOneof("value")) for kv in values}


def test_a_decision_span_joins_the_clients_trace_through_envoy(
    providers: Providers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = OtlpReceiver()
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")  # brightstaff's batch exporter: every 100 ms
    config = e2e_config(providers.openai, providers.anthropic)
    config["tracing"] = {"random_sampling": 100, "opentracing_grpc_endpoint": f"http://127.0.0.1:{receiver.port}"}
    stack = launch(tmp_path / "stack", config)
    try:
        trace_id, client_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
        affinity = f"run-{uuid.uuid4()}"
        headers = ask(stack, CODE, {"traceparent": f"00-{trace_id}-{client_span}-01", "X-Model-Affinity": affinity})
        assert headers["x-brightstaff-affinity"] == "new"
        found = receiver.wait_for("brightstaff.decision")
        assert len(found) == 1, f"{len(receiver.spans)} spans received"
        resource, span = found[0]
    finally:
        retire(stack)
        receiver.close()
    assert resource["service.name"] == "brightstaff"
    assert span.trace_id.hex() == trace_id  # the client's trace, through Envoy
    assert span.parent_span_id.hex() == client_span
    values = attributes(span.attributes)
    assert values["gen_ai.request.model"] == "claude-sonnet-4-20250514"
    assert values["gen_ai.provider.name"] == "anthropic"
    assert values["gen_ai.operation.name"] == "chat"
    assert values["gen_ai.conversation.id"] == provider_cache_key(affinity)  # hashed, never the raw id
    assert values["brightstaff.affinity"] == "new"
    assert values["brightstaff.route"] == "code_generation"
    assert values["brightstaff.affinity_source"] == "header"
    assert not any(affinity in str(value) for value in values.values())
    assert span.end_time_unix_nano > span.start_time_unix_nano
