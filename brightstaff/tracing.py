"""OpenTelemetry spans of decisions, exported over OTLP/gRPC (opt-in: Plano's `tracing:` key).

Guarantees:
- Imported only when tracing is on (`build_tracer` in server/app.py): with it off, the handler holds no
  tracer, creates no span object and pays one `is None` test per request.
- One span per forwarded request, `brightstaff.decision`, from the body's arrival to the decision, with
  the OpenTelemetry GenAI attributes (`gen_ai.operation.name`, `gen_ai.request.model` (the model the
  request is sent to), `gen_ai.provider.name`, `gen_ai.conversation.id`) and brightstaff's own
  (`brightstaff.affinity`, `.route`, `.affinity_source`, `.provider`, `.reason`, `.requested_model`, ...).
- The affinity key never leaves the process: `gen_ai.conversation.id` is its keyed hash, the same one
  the provider's `prompt_cache_key` gets (`core.affinity_sources.provider_cache_key`, salted with
  `routing.affinity.cache_key_salt` when set).
- The client's W3C trace context (the `traceparent` header, which Envoy forwards to ext_proc with the
  request headers) is the span's parent; without one the span starts a trace. Sampling is parent-based:
  a client's sampled flag decides for its trace, `random_sampling` percent of the others are recorded.
- Spans are built in the event loop's next turn (after the reply went to Envoy) and exported in batches
  by the SDK's worker thread, never on the request path; an export is bounded by `EXPORT_TIMEOUT_SECONDS`
  and `shutdown` flushes what is queued. Each tracer has its own TracerProvider (no global state).
"""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from brightstaff import __version__
from brightstaff.config.model import Config
from brightstaff.core.affinity_sources import Resolution, provider_cache_key
from brightstaff.core.decision import Decision
from brightstaff.core.request import RequestFacts

SPAN_NAME = "brightstaff.decision"
SERVICE_NAME = "brightstaff"
# One export call (a batch), connection included: a collector that is down cannot hold a drain for long.
EXPORT_TIMEOUT_SECONDS = 5.0
_PROPAGATOR = TraceContextTextMapPropagator()


class DecisionTracer:
    """Makes and exports the decision spans of one app."""

    def __init__(self, config: Config, exporter: SpanExporter | None = None) -> None:
        settings = config.tracing
        salt = config.routing.affinity.cache_key_salt
        self._salt = salt.reveal() if salt is not None else None
        self._static: dict[str, AttributeValue] = dict(settings.static_attributes)
        if exporter is None:
            exporter = OTLPSpanExporter(
                endpoint=settings.endpoint,
                insecure=(settings.endpoint or "").startswith("http://"),
                timeout=EXPORT_TIMEOUT_SECONDS,
            )
        self._provider = TracerProvider(
            resource=Resource.create({"service.name": SERVICE_NAME, "service.version": __version__}),
            sampler=ParentBased(TraceIdRatioBased(settings.random_sampling / 100)),
        )
        self._provider.add_span_processor(BatchSpanProcessor(exporter))
        self._tracer = self._provider.get_tracer("brightstaff", __version__)

    def decided(
        self,
        facts: RequestFacts,
        decision: Decision,
        resolution: Resolution,
        requested_model: str,
        seconds: float,
        ended_ns: int,
    ) -> None:
        """Record the decision span of one request: it ended at `ended_ns` (time.time_ns) and took `seconds`.
        A span the sampler drops costs its start only: no attribute is computed for it."""
        parent: Context | None = None
        if facts.traceparent is not None:
            parent = _PROPAGATOR.extract({"traceparent": facts.traceparent})
        span = self._tracer.start_span(
            SPAN_NAME, context=parent, kind=SpanKind.INTERNAL, start_time=ended_ns - int(seconds * 1e9)
        )
        if not span.is_recording():
            return
        provider = decision.provider
        attributes: dict[str, AttributeValue] = {
            **self._static,
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": provider.model,
            "gen_ai.provider.name": provider.vendor,
            "brightstaff.affinity": decision.affinity.value,
            "brightstaff.route": decision.route_label,
            "brightstaff.affinity_source": resolution.source or "none",
            "brightstaff.provider": provider.name,
            "brightstaff.reason": decision.reason,
            "brightstaff.requested_model": requested_model,
            "brightstaff.request_id": facts.request_id,
        }
        if resolution.key is not None:
            attributes["gen_ai.conversation.id"] = provider_cache_key(resolution.key, self._salt)
        if decision.confidence is not None:
            attributes["brightstaff.confidence"] = decision.confidence
        span.set_attributes(attributes)
        span.end(end_time=ended_ns)

    def shutdown(self) -> None:
        """Export what is queued (bounded by the export timeout) and stop the worker thread. Blocking."""
        self._provider.shutdown()
