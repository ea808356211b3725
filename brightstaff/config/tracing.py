"""`tracing` (Plano's key): OpenTelemetry spans of decisions, exported over OTLP/gRPC.

Invariants
    - Opt-in, Plano's rule: tracing is on only with an endpoint (`opentracing_grpc_endpoint`, else the
      `OTEL_TRACING_GRPC_ENDPOINT` variable, as Plano reads it) and `random_sampling` above 0. A `tracing`
      section that does not turn it on says why in a note; Plano's default endpoint is not assumed, so a
      config written for Plano never sends spans to a collector nobody runs.
    - The Plano sub-keys brightstaff does not act on are noted, never refused; any other key is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brightstaff.config.fields import Findings, Section, expect_mapping, http_url, resolve_secret
from brightstaff.config.model import ConfigError, TracingSettings

PATH = "tracing"
ENDPOINT_VARIABLE = "OTEL_TRACING_GRPC_ENDPOINT"
_ACTED_ON = frozenset({"random_sampling", "opentracing_grpc_endpoint", "span_attributes"})
_SPAN_ATTRIBUTE_KEYS = frozenset({"header_prefixes", "static"})
# Plano's other `tracing` keys -> what the note says.
_NOTED = {
    "sampling_rate": "not used; random_sampling (percent) sets the sampling",
    "trace_arch_internal": "not used (Plano's internal spans)",
    "exporters": "not used; spans go to opentracing_grpc_endpoint over OTLP/gRPC only",
}


def parse_tracing(raw: Any, env: Mapping[str, str], findings: Findings) -> TracingSettings:
    if raw is None:
        return TracingSettings()
    section = Section(raw, PATH, _ACTED_ON | frozenset(_NOTED))
    for key, note in _NOTED.items():
        if key in section:
            findings.note(f"{section.where(key)}: {note}")
    defaults = TracingSettings
    sampling = section.integer("random_sampling", defaults.random_sampling, 0, 100)
    endpoint = _endpoint(section, env)
    static = _span_attributes(section, findings)
    settings = TracingSettings(endpoint=endpoint, random_sampling=sampling, static_attributes=static)
    if endpoint is None:
        findings.note(
            f"{PATH}: off, no opentracing_grpc_endpoint (nor ${ENDPOINT_VARIABLE}); give an OTLP/gRPC collector "
            "such as http://127.0.0.1:4317 to export a span per decision"
        )
    elif sampling == 0:
        findings.note(f"{PATH}: off, random_sampling is 0 (the percent of requests traced)")
    return settings


def _endpoint(section: Section, env: Mapping[str, str]) -> str | None:
    key = "opentracing_grpc_endpoint"
    where = section.where(key)
    raw = section.get(key)
    if raw is None:
        raw = env.get(ENDPOINT_VARIABLE, "").strip() or None
        where = f"${ENDPOINT_VARIABLE}"
        if raw is None:
            return None
    # `$VAR` or `${VAR}` reads the environment, as Plano does; an unset variable leaves tracing off.
    resolved = resolve_secret(raw, where, env, expected="an OTLP/gRPC URL such as http://127.0.0.1:4317")
    if resolved.secret is None:
        return None
    return http_url(resolved.secret.reveal(), where)


def _span_attributes(section: Section, findings: Findings) -> tuple[tuple[str, str], ...]:
    if "span_attributes" not in section:
        return ()
    attributes = Section(section.get("span_attributes"), section.where("span_attributes"), _SPAN_ATTRIBUTE_KEYS)
    if "header_prefixes" in attributes:
        findings.note(
            f"{attributes.where('header_prefixes')}: not used; the decision span carries brightstaff's "
            "decision, not request headers"
        )
    static = expect_mapping(attributes.get("static") or {}, attributes.where("static"))
    pairs = []
    for name, value in static.items():
        if not isinstance(name, str) or not name or not isinstance(value, (str, int, float, bool)):
            raise ConfigError(attributes.where(f"static.{name}"), "expected a name and a string value")
        pairs.append((name, str(value)))
    return tuple(pairs)
