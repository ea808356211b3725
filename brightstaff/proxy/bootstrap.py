"""Render the Envoy bootstrap from a Config: listener, ext_proc filter, routes, clusters.

The shape follows what was measured against Envoy 1.40 (see README "How it works"):
- ext_proc sees request headers (SEND) and the whole body (BUFFERED); responses are never sent to it, so
  SSE streams pass through untouched.
- brightstaff answers the body with the new body, `content-length`, the provider header and
  `clear_route_cache`; one route per provider matches that header. A header (not `cluster_header`) is
  the decision so the same brightstaff works where a mesh control plane owns routes and cluster names.
- Client copies of the provider header are removed before ext_proc, so no client can pick a cluster.
- Envoy's own error replies (body too large, brightstaff down, upstream unreachable) become JSON.
No credential is ever written into this config: brightstaff injects them per request.
"""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path
from typing import Any

from brightstaff.config import Config, Provider
from brightstaff.config.model import ACCESS_LOG_OFF, ACCESS_LOG_STDOUT
from brightstaff.core.headers import (
    INTERNAL_REQUEST_HEADERS,
    METADATA_NAMESPACE,
    PROVIDER_HEADER,
    RESPONSE_HEADERS,
)

EXTPROC_CLUSTER = "brightstaff_extproc"
_TYPE = "@type"
_EARLY_HEADER_MUTATION_TYPE = (
    "type.googleapis.com/envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation"
)
_HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_CA_BUNDLE_CANDIDATES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/cert.pem",  # macOS, BSD
)


class RenderError(ValueError):
    """The config cannot be turned into a working Envoy bootstrap on this machine."""


def find_ca_bundle() -> str:
    for candidate in (*_CA_BUNDLE_CANDIDATES, ssl.get_default_verify_paths().cafile):
        if candidate and Path(candidate).is_file():
            return candidate
    raise RenderError(
        "no CA bundle found for TLS to https providers (looked in " + ", ".join(_CA_BUNDLE_CANDIDATES) + ")"
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _endpoint(host: str, port: int) -> dict[str, Any]:
    return {"endpoint": {"address": {"socket_address": {"address": host, "port_value": port}}}}


def _http_options(*, http2: bool, auto: bool = False) -> dict[str, Any]:
    options: dict[str, Any] = {_TYPE: "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"}
    if auto:
        options["auto_config"] = {"http2_protocol_options": {}, "http_protocol_options": {}}
    elif http2:
        options["explicit_http_config"] = {"http2_protocol_options": {}}
    else:
        options["explicit_http_config"] = {"http_protocol_options": {}}
    return {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": options}


def _cluster(name: str, host: str, port: int, *, connect_timeout: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": "STATIC" if _is_ip(host) else "LOGICAL_DNS",
        "dns_lookup_family": "V4_PREFERRED",
        "connect_timeout": connect_timeout,
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [_endpoint(host, port)]}]},
    }


def _provider_cluster(provider: Provider, ca_bundle: str | None) -> dict[str, Any]:
    cluster = _cluster(provider.cluster, provider.host, provider.port, connect_timeout="5s")
    # Long agent streams hold a request open for minutes: Envoy's default of 1024 would cap concurrency.
    cluster["circuit_breakers"] = {
        "thresholds": [{"max_connections": 16384, "max_pending_requests": 16384, "max_requests": 16384}]
    }
    if provider.scheme == "https":
        cluster["typed_extension_protocol_options"] = _http_options(http2=True, auto=True)
        cluster["transport_socket"] = {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                _TYPE: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                "sni": provider.host,
                "common_tls_context": {
                    "alpn_protocols": ["h2", "http/1.1"],
                    "validation_context": {
                        "trusted_ca": {"filename": ca_bundle},
                        "match_typed_subject_alt_names": [{"san_type": "DNS", "matcher": {"exact": provider.host}}],
                    },
                },
            },
        }
    else:
        cluster["typed_extension_protocol_options"] = _http_options(http2=False)
    return cluster


def _host_header(provider: Provider) -> str:
    if provider.http_host is not None:
        return provider.http_host
    default_port = 443 if provider.scheme == "https" else 80
    return provider.host if provider.port == default_port else f"{provider.host}:{provider.port}"


def _upstream_route(provider: Provider, config: Config) -> dict[str, Any]:
    """The route action towards one provider: its cluster and Host, the listener's timeout and retries."""
    route: dict[str, Any] = {
        "cluster": provider.cluster,
        "host_rewrite_literal": _host_header(provider),
        "timeout": f"{config.listener.timeout_seconds:g}s",
    }
    if config.listener.max_retries:
        # Plano's listener max_retries. Only failures before a response started are retried (a 5xx answer,
        # a reset, a refused connection or stream); the body is replayed from the buffer ext_proc filled.
        route["retry_policy"] = {
            "retry_on": "5xx,reset,connect-failure,refused-stream",
            "num_retries": config.listener.max_retries,
            "retry_back_off": {"base_interval": "0.5s", "max_interval": "5s"},
        }
    return route


def _extra_headers(provider: Provider) -> dict[str, Any]:
    """The provider's configured `headers`, set on every request routed to it."""
    if not provider.headers:
        return {}
    return {
        "request_headers_to_add": [
            # Envoy reads %...% in a value as a formatter command: a literal % is written %%.
            {"header": {"key": name, "value": value.replace("%", "%%")}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}
            for name, value in provider.headers
        ]
    }


def _json_error(message: str, error_type: str, code: str) -> dict[str, Any]:
    return {
        "json_format": {"error": {"message": message, "type": error_type, "param": None, "code": code}},
        "content_type": "application/json",
    }


def _local_reply_config(max_body: int) -> dict[str, Any]:
    """Envoy's own error replies as OpenAI-style JSON. ext_proc ImmediateResponses are JSON already."""
    return {
        "mappers": [
            {
                "filter": {"response_flag_filter": {"flags": ["UF", "UH", "URX", "UO", "UC", "UT", "UMSDR"]}},
                "body_format_override": _json_error(
                    "The provider could not be reached: %LOCAL_REPLY_BODY%",
                    "upstream_error",
                    "%RESPONSE_CODE_DETAILS%",
                ),
            },
            {
                "filter": {
                    "status_code_filter": {
                        "comparison": {
                            "op": "EQ",
                            "value": {"default_value": 413, "runtime_key": "brightstaff.unused_413"},
                        }
                    }
                },
                "body_format_override": _json_error(
                    f"The request body exceeds the limit of {max_body} bytes.",
                    "invalid_request_error",
                    "request_too_large",
                ),
            },
            {
                "filter": {
                    "status_code_filter": {
                        "comparison": {
                            "op": "GE",
                            "value": {"default_value": 500, "runtime_key": "brightstaff.unused_5xx"},
                        }
                    }
                },
                "body_format_override": _json_error(
                    "brightstaff is unavailable; the request was not forwarded.",
                    "server_error",
                    "%RESPONSE_CODE_DETAILS%",
                ),
            },
        ]
    }


def _routes(config: Config) -> list[dict[str, Any]]:
    routes: list[dict[str, Any]] = [
        {
            "name": f"to_{provider.cluster}",
            "match": {
                "prefix": "/",
                "headers": [{"name": PROVIDER_HEADER, "string_match": {"exact": provider.cluster}}],
            },
            "route": _upstream_route(provider, config),
            # The decision header has done its job once the route matched; providers need not see it.
            "request_headers_to_remove": [PROVIDER_HEADER],
            **_extra_headers(provider),
        }
        for provider in config.providers
    ]
    if config.server.failure_mode == "open":
        default = config.default_provider
        # Reached only when brightstaff was bypassed: the original request goes to the default provider.
        routes.append(
            {
                "name": "fail_open_default",
                "match": {"prefix": "/"},
                "route": _upstream_route(default, config),
                **_extra_headers(default),
            }
        )
    else:
        routes.append(
            {
                "name": "unrouted",
                "match": {"prefix": "/"},
                "direct_response": {
                    "status": 503,
                    "body": {
                        "inline_string": '{"error":{"message":"brightstaff did not route this request.",'
                        '"type":"server_error","param":null,"code":"unrouted"}}'
                    },
                },
            }
        )
    return routes


def _decision_response_headers() -> list[dict[str, Any]]:
    return [
        {
            "header": {"key": header, "value": f"%DYNAMIC_METADATA({METADATA_NAMESPACE}:{field})%"},
            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
        }
        for header, field in RESPONSE_HEADERS.items()
    ]


# Envoy's access log: one JSON object per request (json_format keeps numbers as numbers, a missing value
# is null). No request header that can carry a credential (authorization, x-api-key, cookie) is logged,
# and the path is logged without its query string, where some APIs take a key.
ACCESS_LOG_FIELDS: dict[str, str] = {
    "time": "%START_TIME%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "method": "%REQ(:METHOD)%",
    "path": "%PATH(WQ)%",  # as forwarded: brightstaff may have rewritten it for the provider's API
    "protocol": "%PROTOCOL%",
    "status": "%RESPONSE_CODE%",
    "response_code_details": "%RESPONSE_CODE_DETAILS%",
    "response_flags": "%RESPONSE_FLAGS%",
    "duration_ms": "%DURATION%",
    "first_byte_ms": "%RESPONSE_DURATION%",  # request start to the provider's first byte
    "bytes_received": "%BYTES_RECEIVED%",
    "bytes_sent": "%BYTES_SENT%",
    "upstream_cluster": "%UPSTREAM_CLUSTER%",
    "upstream_host": "%UPSTREAM_HOST%",
    "client_address": "%DOWNSTREAM_REMOTE_ADDRESS%",
    "user_agent": "%REQ(USER-AGENT)%",
    # The decision, from the metadata brightstaff returns (the x-brightstaff-* response headers' values).
    **{field: f"%DYNAMIC_METADATA({METADATA_NAMESPACE}:{field})%" for field in RESPONSE_HEADERS.values()},
}


def _access_log(destination: str) -> list[dict[str, Any]]:
    """`brightstaff.access_log`: JSON lines on Envoy's stdout, in a file, or none."""
    if destination == ACCESS_LOG_OFF:
        return []
    log_format = {"json_format": ACCESS_LOG_FIELDS}
    if destination == ACCESS_LOG_STDOUT:
        sink = {
            "name": "envoy.access_loggers.stdout",
            "typed_config": {
                _TYPE: "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
                "log_format": log_format,
            },
        }
    else:
        sink = {
            "name": "envoy.access_loggers.file",
            "typed_config": {
                _TYPE: "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                "path": destination,
                "log_format": log_format,
            },
        }
    return [sink]


def render_envoy(
    config: Config,
    *,
    extproc_host: str | None = None,
    extproc_port: int | None = None,
    listener_port: int | None = None,
    admin_port: int | None = None,
    ca_bundle: str | None = None,
    exclusive_listener: bool = False,
) -> dict[str, Any]:
    """The Envoy bootstrap as a dict (dump it with yaml.safe_dump). Overrides serve tests and compose.

    `exclusive_listener` turns off SO_REUSEPORT (Envoy's default) on the listener, so a second Envoy on the
    same port fails to bind instead of sharing it: `brightstaff up` on a host, where one may be left over.
    """
    server = config.server
    max_body = server.max_request_body_bytes
    if ca_bundle is None and any(p.scheme == "https" for p in config.providers):
        ca_bundle = find_ca_bundle()
    ext_proc: dict[str, Any] = {
        "name": "envoy.filters.http.ext_proc",
        "typed_config": {
            _TYPE: "type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor",
            "grpc_service": {"envoy_grpc": {"cluster_name": EXTPROC_CLUSTER}, "timeout": "30s"},
            "processing_mode": {
                "request_header_mode": "SEND",
                "response_header_mode": "SKIP",
                "request_body_mode": "BUFFERED",
                "response_body_mode": "NONE",
                "request_trailer_mode": "SKIP",
                "response_trailer_mode": "SKIP",
            },
            # brightstaff asks for a translated request's response (client and provider speak different APIs)
            # with a mode override in its reply to the request headers; Envoy ignores overrides without this.
            "allow_mode_override": True,
            # Envoy's 200 ms default turns any GC pause into a 504; brightstaff decides in well under 1 ms.
            "message_timeout": f"{server.message_timeout_ms / 1000:g}s",
            "failure_mode_allow": server.failure_mode == "open",
            "metadata_options": {"receiving_namespaces": {"untyped": [METADATA_NAMESPACE]}},
        },
    }
    if server.failure_mode == "closed":
        ext_proc["typed_config"]["status_on_error"] = {"code": 503}
    # Kept as well: it is the part a mesh (Istio EnvoyFilter) can insert where the HCM is not ours to render.
    strip_internal = {
        "name": "envoy.filters.http.header_mutation",
        "typed_config": {
            _TYPE: "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
            "mutations": {"request_mutations": [{"remove": header} for header in INTERNAL_REQUEST_HEADERS]},
        },
    }
    hcm = {
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            _TYPE: _HCM_TYPE,
            "stat_prefix": "brightstaff",
            "codec_type": "AUTO",
            # Runs before route matching: a client's copy of the decision header can never pick a route,
            # even when ext_proc is bypassed (fail open) and the route cache is never cleared.
            "early_header_mutation_extensions": [
                {
                    "name": "envoy.http.early_header_mutation.header_mutation",
                    "typed_config": {
                        _TYPE: _EARLY_HEADER_MUTATION_TYPE,
                        "mutations": [{"remove": header} for header in INTERNAL_REQUEST_HEADERS],
                    },
                }
            ],
            "local_reply_config": _local_reply_config(max_body),
            "access_log": _access_log(server.access_log),
            "route_config": {
                "name": "brightstaff_routes",
                "virtual_hosts": [
                    {
                        "name": "models",
                        "domains": ["*"],
                        "routes": _routes(config),
                        "response_headers_to_add": _decision_response_headers(),
                    }
                ],
            },
            "http_filters": [
                strip_internal,
                ext_proc,
                {
                    "name": "envoy.filters.http.router",
                    "typed_config": {
                        _TYPE: "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
                        "suppress_envoy_headers": True,
                    },
                },
            ],
        },
    }
    listener = config.listener
    extproc_cluster = _cluster(
        EXTPROC_CLUSTER,
        extproc_host or server.grpc_host,
        server.grpc_port if extproc_port is None else extproc_port,
        connect_timeout="1s",
    )
    # gRPC needs HTTP/2; without it every request fails with protocol_error, and validate does not notice.
    extproc_cluster["typed_extension_protocol_options"] = _http_options(http2=True)
    return {
        "admin": {
            "address": {
                "socket_address": {
                    "address": "127.0.0.1",
                    "port_value": server.envoy_admin_port if admin_port is None else admin_port,
                }
            }
        },
        "static_resources": {
            "listeners": [
                {
                    "name": listener.name,
                    "address": {
                        "socket_address": {
                            "address": listener.address,
                            "port_value": listener.port if listener_port is None else listener_port,
                        }
                    },
                    # BUFFERED bodies above this are refused with 413 (Envoy's default is 1 MiB).
                    "per_connection_buffer_limit_bytes": max_body,
                    "filter_chains": [{"filters": [hcm]}],
                    **({"enable_reuse_port": False} if exclusive_listener else {}),
                }
            ],
            "clusters": [extproc_cluster, *(_provider_cluster(p, ca_bundle) for p in config.providers)],
        },
    }
