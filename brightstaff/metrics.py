"""Counters and histograms kept in process and rendered in the Prometheus text format at /metrics."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict

Labels = tuple[tuple[str, str], ...]

_LATENCY_BUCKETS_MS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 1000.0)

_HELP = {
    "brightstaff_requests_total": "Requests decided, by affinity outcome and provider.",
    "brightstaff_client_errors_total": "Requests refused with a client error, by error code.",
    "brightstaff_internal_errors_total": "Requests that failed inside brightstaff (answered 500).",
    "brightstaff_router_calls_total": "Router invocations, by router, reason and confidence (high, medium, low, none).",
    "brightstaff_router_failures_total": "Router calls that failed, by router and kind (served by the default model).",
    "brightstaff_router_ms": "Time the router took to answer, in milliseconds.",
    "brightstaff_pin_store_errors_total": "Pin store operations that failed (served without affinity).",
    "brightstaff_pin_races_total": "First pins lost to a concurrent writer (the request followed the winner).",
    "brightstaff_decision_ms": "Time from body received to decision, in milliseconds.",
    "brightstaff_pin_store_short_circuits_total": "Pin store calls skipped without I/O because its circuit was open.",
    "brightstaff_pin_store_circuit_opens_total": "Times the pin store's circuit opened (backend down or too slow).",
    "brightstaff_pin_store_circuit_open": "1 while the pin store's circuit is open or probing, else 0.",
    "brightstaff_pin_store_corrupt_total": "Stored pins that did not decode (treated as absent).",
    "brightstaff_pins": "Pins held by the in-process store (absent for shared stores).",
}


class Metrics:
    """A tiny registry: enough for counters and one latency histogram, with no global state."""

    def __init__(self) -> None:
        self._counters: defaultdict[tuple[str, Labels], float] = defaultdict(float)
        self._hist_counts: defaultdict[str, list[int]] = defaultdict(lambda: [0] * (len(_LATENCY_BUCKETS_MS) + 1))
        self._hist_sum: defaultdict[str, float] = defaultdict(float)
        self._gauges: dict[str, float] = {}

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        self._counters[(name, tuple(sorted(labels.items())))] += amount

    def get(self, name: str, **labels: str) -> float:
        return self._counters.get((name, tuple(sorted(labels.items()))), 0.0)

    def set_gauge(self, name: str, value: float) -> None:
        self._gauges[name] = value

    def observe_ms(self, name: str, value_ms: float) -> None:
        self._hist_counts[name][bisect_left(_LATENCY_BUCKETS_MS, value_ms)] += 1
        self._hist_sum[name] += value_ms

    def render(self, gauges: dict[str, float] | None = None) -> str:
        lines: list[str] = []
        by_name: defaultdict[str, list[tuple[Labels, float]]] = defaultdict(list)
        for (name, labels), value in sorted(self._counters.items()):
            by_name[name].append((labels, value))
        for name, series in by_name.items():
            lines.append(f"# HELP {name} {_HELP.get(name, name)}")
            lines.append(f"# TYPE {name} counter")
            for labels, value in series:
                lines.append(f"{name}{_fmt_labels(labels)} {value:g}")
        for name, counts in sorted(self._hist_counts.items()):
            lines.append(f"# HELP {name} {_HELP.get(name, name)}")
            lines.append(f"# TYPE {name} histogram")
            cumulative = 0
            for bound, count in zip(_LATENCY_BUCKETS_MS, counts, strict=False):
                cumulative += count
                lines.append(f'{name}_bucket{{le="{bound:g}"}} {cumulative}')
            cumulative += counts[-1]
            lines.append(f'{name}_bucket{{le="+Inf"}} {cumulative}')
            lines.append(f"{name}_sum {self._hist_sum[name]:g}")
            lines.append(f"{name}_count {cumulative}")
        for name, value in sorted({**self._gauges, **(gauges or {})}.items()):
            lines.append(f"# HELP {name} {_HELP.get(name, name)}")
            lines.append(f"# TYPE {name} gauge")
            lines.append(f"{name} {value:g}")
        return "\n".join(lines) + "\n"


def _fmt_labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
