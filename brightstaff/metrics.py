"""brightstaff's Prometheus metrics, through prometheus_client, behind a small interface.

Guarantees:
- Every family is declared once, in `_FAMILIES` (name, type, help, labels); a name is a `CounterName`,
  `HistogramName` or `GaugeName` literal, so mypy refuses a call naming a family that does not exist.
- Prometheus conventions: base units (`_seconds`), counters end in `_total`, no `_created` series.
- Each `Metrics` has its own `CollectorRegistry` (no global registry: tests build several apps in one
  process), with the standard `process_*` and `python_*` collectors and `brightstaff_build_info`.
- Label values are bounded: every label of every family takes its values from a fixed list (outcomes,
  reasons, error codes, store operations) or from the config (provider and route names). A route the
  config does not name (a pin written under an older config) is counted as `other`.
- `start_at_zero` creates every bounded series the config implies, at 0, so a scraper sees a counter
  before its first increment (`increase()` and alerts work from the first event).
- The hot path is cheap: a call looks its label set up in a per-family dict of prometheus_client
  children and increments that child (~1 µs; `benchmarks/metrics_overhead.py`).
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar, get_args

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

from brightstaff import __version__
from brightstaff.config.model import Config, LlmRouterSettings, RedisPinStoreSettings
from brightstaff.core.decision import Decision, Reason

M = TypeVar("M", Counter, Histogram, Gauge)

# `_created` series double the exposition and Prometheus's text-format scrape ignores them.
disable_created_metrics()  # type: ignore[no-untyped-call]

# What /metrics answers with: the classic text format, which every Prometheus version reads.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

CounterName = Literal[
    "brightstaff_requests_total",
    "brightstaff_client_errors_total",
    "brightstaff_internal_errors_total",
    "brightstaff_router_calls_total",
    "brightstaff_router_failures_total",
    "brightstaff_pin_store_errors_total",
    "brightstaff_pin_races_total",
    "brightstaff_pin_store_short_circuits_total",
    "brightstaff_pin_store_circuit_opens_total",
    "brightstaff_pin_store_corrupt_total",
]
HistogramName = Literal["brightstaff_decision_seconds", "brightstaff_router_seconds"]
GaugeName = Literal["brightstaff_pin_store_circuit_open", "brightstaff_pins"]
MetricName = CounterName | HistogramName | GaugeName

# From 100 µs (a pin hit) to 5 s (an LLM router call near its deadline).
LATENCY_BUCKETS_SECONDS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

# The bounded label values, each list in one place.
AFFINITY_OUTCOMES = ("none", "pinned", "new", "repinned", "unpinned")  # core.decision.Affinity's values
ROUTER_REASONS = ("preference", "default", "fallback")  # core.decision.ChoiceReason
CONFIDENCES = ("high", "medium", "low", "none")  # core.decision.Confidence, and none
# The LLM router's failure kinds (routing/llm.py RouterCallError), and a router that raised (the handler).
LLM_ROUTER_FAILURE_KINDS = ("timeout", "connection", "http_status", "malformed", "unknown_route")
ROUTER_EXCEPTION = "exception"
# Pin store operations the handler counts failures of, and those the Redis store can skip or fail.
STORE_OPS = ("get", "claim")
REDIS_OPS = ("get", "claim", "replace", "delete")
REDIS_STARTUP_OP = "startup"
# Every `code` a ClientError can carry (core/errors.py and the client APIs' parsers); a test checks the
# package's source against this list.
CLIENT_ERROR_CODES = (
    "integer_below_min_value",
    "internal_error",
    "invalid_affinity_id",
    "invalid_json",
    "invalid_request_body",
    "invalid_tenant",
    "invalid_value",
    "method_not_allowed",
    "missing_required_parameter",
    "model_not_found",
    "not_found",
    "previous_response_not_found",
    "request_too_large",
    "unknown_parameter",
    "unsupported_api",
    "unsupported_content_encoding",
    "unsupported_parameter",
)
OTHER_ROUTE = "other"


@dataclass(frozen=True)
class Family:
    """One metric family as /metrics shows it (the README's table is this list)."""

    name: MetricName
    type: Literal["counter", "histogram", "gauge"]
    help: str
    labels: tuple[str, ...] = ()


_FAMILIES: tuple[Family, ...] = (
    Family(
        "brightstaff_requests_total",
        "counter",
        "Requests decided and forwarded, by affinity outcome, provider and route (the x-brightstaff-* headers).",
        ("affinity", "provider", "route"),
    ),
    Family("brightstaff_client_errors_total", "counter", "Requests refused with a client error, by code.", ("code",)),
    Family("brightstaff_internal_errors_total", "counter", "Requests that failed inside brightstaff (answered 500)."),
    Family(
        "brightstaff_router_calls_total",
        "counter",
        "Router answers, by router, reason and confidence (high, medium, low, none).",
        ("router", "reason", "confidence"),
    ),
    Family(
        "brightstaff_router_failures_total",
        "counter",
        "Router calls that failed, by router and kind (the default model served).",
        ("router", "kind"),
    ),
    Family(
        "brightstaff_pin_store_errors_total",
        "counter",
        "Pin store operations that failed (the request was served without affinity).",
        ("op",),
    ),
    Family(
        "brightstaff_pin_races_total",
        "counter",
        "First pins lost to a concurrent writer (the request followed the winner).",
    ),
    Family(
        "brightstaff_pin_store_short_circuits_total",
        "counter",
        "Pin store calls skipped without I/O because its circuit was open.",
        ("op",),
    ),
    Family(
        "brightstaff_pin_store_circuit_opens_total",
        "counter",
        "Times the pin store's circuit opened (its backend down or too slow).",
    ),
    Family("brightstaff_pin_store_corrupt_total", "counter", "Stored pins that did not decode (treated as absent)."),
    Family("brightstaff_decision_seconds", "histogram", "Time from the request body received to the decision."),
    Family("brightstaff_router_seconds", "histogram", "Time the LLM router's HTTP call took."),
    Family(
        "brightstaff_pin_store_circuit_open", "gauge", "1 while the pin store's circuit is open or probing, else 0."
    ),
    Family("brightstaff_pins", "gauge", "Pins held by the in-process store (absent for a shared store)."),
)
FAMILIES: Mapping[str, Family] = {family.name: family for family in _FAMILIES}


class _Children(Generic[M]):
    """A family's children, cached per label set: the hot path is one dict look-up."""

    __slots__ = ("_children", "metric")

    def __init__(self, metric: M) -> None:
        self.metric: M = metric
        self._children: dict[tuple[tuple[str, str], ...], M] = {}

    def child(self, labels: dict[str, str]) -> M:
        if not labels:
            return self.metric
        key = tuple(labels.items())
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.metric.labels(**labels)
        return child


class Metrics:
    """brightstaff's metrics in a registry of its own; `render()` is what /metrics serves."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        Info("brightstaff_build", "The running brightstaff: version and Python.", registry=self.registry).info(
            {"version": __version__, "python": platform.python_version()}
        )
        self._counters: dict[str, _Children[Counter]] = {}
        self._histograms: dict[str, _Children[Histogram]] = {}
        self._gauges: dict[str, _Children[Gauge]] = {}
        for family in _FAMILIES:
            if family.name != "brightstaff_pins":  # registered by `set_pins`: absent for a shared store
                self._register(family)
        self._routes: frozenset[str] | None = None  # the route labels the config can produce
        # requests_total's children by (affinity, provider, route): one look-up per request, no kwargs.
        self._requests: dict[tuple[str, str, str], Counter] = {}
        self._decision_seconds = self._histograms["brightstaff_decision_seconds"].metric

    def _register(self, family: Family) -> None:
        name, help_, labels, registry = family.name, family.help, family.labels, self.registry
        if family.type == "counter":
            self._counters[name] = _Children(Counter(name, help_, labels, registry=registry))
        elif family.type == "histogram":
            metric = Histogram(name, help_, labels, registry=registry, buckets=LATENCY_BUCKETS_SECONDS)
            self._histograms[name] = _Children(metric)
        else:
            self._gauges[name] = _Children(Gauge(name, help_, labels, registry=registry))

    # ----------------------------------------------------------------------------------------------
    # Counting

    def inc(self, name: CounterName, amount: float = 1.0, **labels: str) -> None:
        self._counters[name].child(labels).inc(amount)

    def observe(self, name: HistogramName, seconds: float, **labels: str) -> None:
        self._histograms[name].child(labels).observe(seconds)

    def set_gauge(self, name: GaugeName, value: float, **labels: str) -> None:
        self._gauges[name].child(labels).set(value)

    def decided(self, decision: Decision, seconds: float) -> None:
        """One decided request: `brightstaff_requests_total{affinity,provider,route}` and its decision time."""
        route = decision.route_label
        if self._routes is not None and route not in self._routes:
            route = OTHER_ROUTE
        key = (decision.affinity.value, decision.provider.name, route)
        child = self._requests.get(key)
        if child is None:
            child = self._requests[key] = self._counters["brightstaff_requests_total"].metric.labels(*key)
        child.inc()
        self._decision_seconds.observe(seconds)

    def set_pins(self, count: int) -> None:
        """The in-process store's pin count, set before each scrape (a shared store has none: absent)."""
        if "brightstaff_pins" not in self._gauges:
            self._register(FAMILIES["brightstaff_pins"])
        self.set_gauge("brightstaff_pins", count)

    # ----------------------------------------------------------------------------------------------
    # Series present from start-up

    def start_at_zero(self, config: Config, router: str) -> None:
        """Create, at 0, every series of a bounded label set the config implies: each affinity outcome for
        each configured route (and the default model's `default`), each router reason and confidence, each
        failure kind of the configured router, each client error code, each pin store operation."""
        routes = [(route.provider, route.name) for route in config.routes]
        routes.append((config.default_provider.name, "default"))
        self._routes = frozenset(name for _, name in routes) | frozenset(get_args(Reason))
        requests = self._counters["brightstaff_requests_total"].metric
        for affinity in AFFINITY_OUTCOMES:
            for provider, route in routes:
                self._requests[(affinity, provider, route)] = requests.labels(affinity, provider, route)
        self._zero("brightstaff_router_calls_total", [(router, r, c) for r in ROUTER_REASONS for c in CONFIDENCES])
        llm = isinstance(config.routing.router, LlmRouterSettings)
        kinds = (*LLM_ROUTER_FAILURE_KINDS, ROUTER_EXCEPTION) if llm else (ROUTER_EXCEPTION,)
        self._zero("brightstaff_router_failures_total", [(router, kind) for kind in kinds])
        self._zero("brightstaff_client_errors_total", [(code,) for code in CLIENT_ERROR_CODES])
        shared = isinstance(config.routing.session_cache, RedisPinStoreSettings)
        ops = (*STORE_OPS, REDIS_STARTUP_OP) if shared else STORE_OPS
        self._zero("brightstaff_pin_store_errors_total", [(op,) for op in ops])
        if shared:
            self._zero("brightstaff_pin_store_short_circuits_total", [(op,) for op in REDIS_OPS])

    def _zero(self, name: CounterName, label_sets: Iterable[tuple[str, ...]]) -> None:
        family = self._counters[name]
        for values in label_sets:
            family.child(dict(zip(FAMILIES[name].labels, values, strict=True)))

    # ----------------------------------------------------------------------------------------------
    # Reading

    def get(self, name: MetricName, **labels: str) -> float:
        """The sum of a family's series whose labels include `labels` (a counter's or gauge's value, a
        histogram's observation count); 0 when none matches."""
        family = self._counters.get(name) or self._histograms.get(name) or self._gauges.get(name)
        if family is None:
            return 0.0
        wanted = name + ("_count" if FAMILIES[name].type == "histogram" else "")
        return sum(
            float(sample.value)
            for metric in family.metric.collect()
            for sample in metric.samples
            if sample.name == wanted and all(sample.labels.get(k) == v for k, v in labels.items())
        )

    def render(self) -> bytes:
        """The Prometheus text exposition (served as `CONTENT_TYPE`)."""
        return generate_latest(self.registry)
