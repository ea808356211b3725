"""`brightstaff`: brightstaff's own knobs (ports, failure mode, limits, transport); none exists in Plano."""

from __future__ import annotations

from typing import Any

from brightstaff.config.fields import Section
from brightstaff.config.model import (
    ACCESS_LOG_OFF,
    ACCESS_LOG_STDOUT,
    FAILURE_MODES,
    LOG_FORMATS,
    TRANSPORTS,
    ConfigError,
    ServerSettings,
)

PATH = "brightstaff"
_SERVER_KEYS = frozenset(
    {
        "grpc_host",
        "grpc_port",
        "admin_host",
        "admin_port",
        "envoy_admin_port",
        "failure_mode",
        "message_timeout_ms",
        "max_request_body_bytes",
        "request_headers_timeout_ms",
        "request_timeout_ms",
        "affinity_header",
        "affinity_id_max_length",
        "transport",
        "log_format",
        "drain_timeout_ms",
        "access_log",
    }
)


def parse_server(raw: Any) -> ServerSettings:
    s = Section({} if raw is None else raw, PATH, _SERVER_KEYS)
    d = ServerSettings
    return ServerSettings(
        grpc_host=s.string("grpc_host", d.grpc_host),
        grpc_port=s.integer("grpc_port", d.grpc_port, 1, 65535),
        admin_host=s.string("admin_host", d.admin_host),
        admin_port=s.integer("admin_port", d.admin_port, 0, 65535),
        envoy_admin_port=s.integer("envoy_admin_port", d.envoy_admin_port, 0, 65535),
        failure_mode=s.choice("failure_mode", d.failure_mode, FAILURE_MODES),
        message_timeout_ms=s.integer("message_timeout_ms", d.message_timeout_ms, 50, 60_000),
        max_request_body_bytes=s.integer("max_request_body_bytes", d.max_request_body_bytes, 1024, 256 * 1024 * 1024),
        request_headers_timeout_ms=s.integer("request_headers_timeout_ms", d.request_headers_timeout_ms, 100, 600_000),
        request_timeout_ms=s.integer("request_timeout_ms", d.request_timeout_ms, 100, 3_600_000),
        affinity_header=s.header_name("affinity_header", d.affinity_header),
        affinity_id_max_length=s.integer("affinity_id_max_length", d.affinity_id_max_length, 8, 1024),
        transport=s.choice("transport", d.transport, TRANSPORTS),
        log_format=s.choice("log_format", d.log_format, LOG_FORMATS),
        drain_timeout_ms=s.integer("drain_timeout_ms", d.drain_timeout_ms, 0, 3_600_000),
        access_log=_access_log(s),
    )


def _access_log(s: Section) -> str:
    """`stdout`, `off`, or an absolute file path. YAML reads a bare `off` as false (and `on` as true)."""
    raw = s.get("access_log")
    if raw is None:
        return ServerSettings.access_log
    if isinstance(raw, bool):
        return ACCESS_LOG_STDOUT if raw else ACCESS_LOG_OFF
    value = raw.strip() if isinstance(raw, str) else ""
    if value in (ACCESS_LOG_STDOUT, ACCESS_LOG_OFF) or (value.startswith("/") and value.isprintable()):
        return value
    raise ConfigError(s.where("access_log"), f"expected stdout, off or an absolute file path, got {raw!r}")
