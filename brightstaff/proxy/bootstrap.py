"""Render the Envoy bootstrap from a Config: listener, ext_proc filter, routes, clusters.

The shape follows what was measured against Envoy 1.40 (see README "How it works"):
- ext_proc sees request headers (SEND) and the whole body (BUFFERED); responses are never sent to it, so
  SSE streams pass through untouched.
- brightstaff answers the body with the new body, `content-length`, the provider header and
  `clear_route_cache`; one route per provider matches that header. A header (not `cluster_header`) is
  the decision so the same brightstaff works where a mesh control plane owns routes and cluster names.
- Client copies of every `x-brightstaff-*` header are removed before route matching and ext_proc (a
  prefix match), so no client can pick a cluster or pass for brightstaff.
- Held requests cannot starve others: the buffer filter holds a body until it is complete, so an
  ext_proc stream is opened only for a whole request; a request not received within
  `request_timeout_ms` (headers: `request_headers_timeout_ms`) ends with a 408; a client connection
  carries at most DOWNSTREAM_STREAMS_PER_CONNECTION streams; the ext_proc cluster's circuit breakers and
  per-connection streams match what brightstaff serves. The upstream timeout (the listener's `timeout`)
  is a separate timer, started once the request is sent: long streamed answers are not cut by the above.
- A gzip request body is decoded before the buffer and ext_proc (the limit counts the decoded body; Envoy's
  zlib stops at 100x inflation per read); another encoding is refused by brightstaff (415).
- Envoy's own error replies are JSON in the client's API shape (local_replies.py).
- `failure_mode: open`: when brightstaff is bypassed, requests of the default provider's own API go to
  it with its key (read by Envoy from the environment variable the config names, never written here),
  its model in the body (the transform filter) and its path; requests of other APIs get a JSON 503.
No credential is ever written into this config: brightstaff injects them per request.
"""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path
from typing import Any

from brightstaff.config import Config, Provider
from brightstaff.config.model import ACCESS_LOG_OFF, ACCESS_LOG_STDOUT, WILDCARD
from brightstaff.core.headers import (
    INTERNAL_HEADER_PREFIX,
    METADATA_NAMESPACE,
    PROVIDER_HEADER,
    RESPONSE_HEADERS,
)
from brightstaff.extproc.http2.connection import MAX_CONCURRENT_STREAMS
from brightstaff.providers.backends import ANTHROPIC_VERSION, KEY_HEADERS
from brightstaff.providers.credentials import CLIENT_CREDENTIAL_HEADERS
from brightstaff.providers.endpoints import ENDPOINTS
from brightstaff.proxy.local_replies import local_reply_config

EXTPROC_CLUSTER = "brightstaff_extproc"
# Streams one client HTTP/2 connection may have open at once (Envoy's edge default; its own is 2^31-1):
# compliant clients queue past it, so one connection cannot hold thousands of requests.
DOWNSTREAM_STREAMS_PER_CONNECTION = 100
# Requests in flight towards one cluster (Envoy's default circuit breakers allow 1024): long agent
# streams hold provider requests for minutes, and translated ones their ext_proc stream as well.
CLUSTER_CONCURRENCY = 16384
TRANSFORM_FILTER = "envoy.filters.http.transform"
_TYPE = "@type"
_TRANSFORM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.transform.v3.TransformConfig"
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


def _http_options(*, http2: bool, auto: bool = False, max_concurrent_streams: int | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {_TYPE: "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"}
    if auto:
        options["auto_config"] = {"http2_protocol_options": {}, "http_protocol_options": {}}
    elif http2:
        http2_options = {} if max_concurrent_streams is None else {"max_concurrent_streams": max_concurrent_streams}
        options["explicit_http_config"] = {"http2_protocol_options": http2_options}
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


def _circuit_breakers() -> dict[str, Any]:
    limits = {"max_connections": CLUSTER_CONCURRENCY, "max_pending_requests": CLUSTER_CONCURRENCY}
    return {"thresholds": [{**limits, "max_requests": CLUSTER_CONCURRENCY}]}


def _provider_cluster(provider: Provider, ca_bundle: str | None) -> dict[str, Any]:
    cluster = _cluster(provider.cluster, provider.host, provider.port, connect_timeout="5s")
    cluster["circuit_breakers"] = _circuit_breakers()
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
        routes.extend(_fail_open_routes(config))
    # Reached when brightstaff did not route the request: Envoy's local reply renders it as a JSON 503 in
    # the client's API shape (local_replies.py).
    routes.append({"name": "unrouted", "match": {"prefix": "/"}, "direct_response": {"status": 503}})
    return routes


def fail_open_paths(provider: Provider) -> dict[str, str]:
    """Client path -> upstream path of the requests Envoy forwards to `provider` when brightstaff is
    bypassed: the endpoints whose API the provider speaks itself (no translation needed), each to its
    endpoint under the provider's base path (`/v1/chat/completions` -> `<base path>/chat/completions`)."""
    paths: dict[str, str] = {}
    for path, endpoint in ENDPOINTS.items():
        if endpoint.kind not in ("generate", "count_tokens") or endpoint.api is None:
            continue  # the model list and the routing service are brightstaff's own answers
        adapter = endpoint.api.adapter_for(provider)
        if adapter is not None and adapter.response is None:
            paths[path] = provider.path_prefix + path.removeprefix("/v1")
    return paths


def _fail_open_credentials(provider: Provider) -> tuple[list[dict[str, Any]], list[str]]:
    """(headers to add, headers to remove) so that the provider gets its own key and no client's: the key
    as Envoy reads it from the environment variable the config names (`access_key: $VAR`)."""
    if provider.passthrough_auth:
        return [], []
    if provider.access_key_source is None or not provider.access_key_source.startswith("$"):
        # config.load refuses an inline key with failure_mode: open; a provider without a key gets none.
        return [], list(CLIENT_CREDENTIAL_HEADERS)
    key = KEY_HEADERS[provider.api]
    value = f"{key.prefix}%ENVIRONMENT({provider.access_key_source[1:]})%"
    add = [{"header": {"key": key.name, "value": value}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}]
    return add, list(CLIENT_CREDENTIAL_HEADERS)


def _fail_open_routes(config: Config) -> list[dict[str, Any]]:
    """Reached only when brightstaff was bypassed (down, overloaded, too slow): the request goes to the
    default provider as that provider accepts it, or, for an API the provider does not speak, nowhere."""
    default = config.default_provider
    add, remove = _fail_open_credentials(default)
    if default.api == "anthropic":
        name, value = ANTHROPIC_VERSION
        add.append({"header": {"key": name, "value": value}, "append_action": "ADD_IF_ABSENT"})
    add.extend(_extra_headers(default).get("request_headers_to_add", []))
    per_filter: dict[str, Any] = {}
    if default.model != WILDCARD:
        # The client's `model` means nothing to this provider (an alias, another vendor's model): its own.
        per_filter[TRANSFORM_FILTER] = {
            _TYPE: _TRANSFORM_TYPE,
            "request_transformation": {
                "body_transformation": {"body_format": {"json_format": {"model": default.model}}, "action": "MERGE"}
            },
        }
    return [
        {
            "name": f"fail_open{path.replace('/', '_')}",
            "match": {"path": path},
            "route": {**_upstream_route(default, config), "prefix_rewrite": upstream},
            **({"request_headers_to_add": add} if add else {}),
            **({"request_headers_to_remove": remove} if remove else {}),
            **({"typed_per_filter_config": per_filter} if per_filter else {}),
        }
        for path, upstream in fail_open_paths(default).items()
    ]


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


def _seconds(ms: int) -> str:
    return f"{ms / 1000:g}s"


# A client's copy of any internal header is removed (a prefix match: headers added later are covered).
_STRIP_INTERNAL = [{"remove_on_match": {"key_matcher": {"prefix": INTERNAL_HEADER_PREFIX}}}]


def _request_filters(config: Config) -> list[dict[str, Any]]:
    """The HTTP filters before the router, in order: strip, decode, buffer, ext_proc (, transform)."""
    server = config.server
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
            "message_timeout": _seconds(server.message_timeout_ms),
            "failure_mode_allow": server.failure_mode == "open",
            "metadata_options": {"receiving_namespaces": {"untyped": [METADATA_NAMESPACE]}},
        },
    }
    if server.failure_mode == "closed":
        ext_proc["typed_config"]["status_on_error"] = {"code": 503}
    filters = [
        # Also done early in the HCM; kept as a filter: it is the part a mesh (Istio EnvoyFilter) can insert
        # where the HCM is not ours to render.
        {
            "name": "envoy.filters.http.header_mutation",
            "typed_config": {
                _TYPE: "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
                "mutations": {"request_mutations": _STRIP_INTERNAL},
            },
        },
        # `content-encoding: gzip` request bodies are decoded (and the header removed) before anything reads
        # them; the buffer's limit bounds the decoded size. Responses pass untouched (clients asked for them).
        {
            "name": "envoy.filters.http.decompressor",
            "typed_config": {
                _TYPE: "type.googleapis.com/envoy.extensions.filters.http.decompressor.v3.Decompressor",
                "decompressor_library": {
                    "name": "gzip",
                    "typed_config": {
                        _TYPE: "type.googleapis.com/envoy.extensions.compression.gzip.decompressor.v3.Gzip"
                    },
                },
                "request_direction_config": {"advertise_accept_encoding": False},
                "response_direction_config": {
                    "common_config": {
                        "enabled": {"default_value": False, "runtime_key": "brightstaff.decompress_responses"}
                    }
                },
            },
        },
        # The whole body before ext_proc sees the request: a client that sends headers and part of a body
        # holds only its own connection and buffer, never an ext_proc stream (Envoy opens one at the
        # request headers). Past the limit: 413, rendered by local_replies.py.
        {
            "name": "envoy.filters.http.buffer",
            "typed_config": {
                _TYPE: "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
                "max_request_bytes": server.envoy_body_limit_bytes,
            },
        },
        ext_proc,
    ]
    if server.failure_mode == "open":
        # Does nothing by itself; the fail-open routes configure it (the default provider's model).
        filters.append({"name": TRANSFORM_FILTER, "typed_config": {_TYPE: _TRANSFORM_TYPE}})
    return filters


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
    if ca_bundle is None and any(p.scheme == "https" for p in config.providers):
        ca_bundle = find_ca_bundle()
    hcm = {
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            _TYPE: _HCM_TYPE,
            "stat_prefix": "brightstaff",
            "codec_type": "AUTO",
            # The request's own timers; the response's is the route's (the listener's `timeout`), which starts
            # once the request is sent, so a long streamed answer is not cut by these.
            "request_headers_timeout": _seconds(server.request_headers_timeout_ms),
            "request_timeout": _seconds(server.request_timeout_ms),
            # HTTP/1.0 clients (some health checkers, old tools) are served rather than refused with 426.
            "http_protocol_options": {"accept_http_10": True, "default_host_for_http_10": "brightstaff"},
            "http2_protocol_options": {"max_concurrent_streams": DOWNSTREAM_STREAMS_PER_CONNECTION},
            # Runs before route matching: a client's copy of the decision header can never pick a route,
            # even when ext_proc is bypassed (fail open) and the route cache is never cleared.
            "early_header_mutation_extensions": [
                {
                    "name": "envoy.http.early_header_mutation.header_mutation",
                    "typed_config": {_TYPE: _EARLY_HEADER_MUTATION_TYPE, "mutations": _STRIP_INTERNAL},
                }
            ],
            "local_reply_config": local_reply_config(server),
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
                *_request_filters(config),
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
    # Streams per connection as brightstaff advertises them: past that Envoy opens another connection.
    extproc_cluster["typed_extension_protocol_options"] = _http_options(
        http2=True, max_concurrent_streams=MAX_CONCURRENT_STREAMS
    )
    # Requests being decided and translated responses (their stream stays open) hold an ext_proc stream.
    extproc_cluster["circuit_breakers"] = _circuit_breakers()
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
                    # Bodies above this are refused with 413 (Envoy's default is 1 MiB): the client-side limit
                    # plus room for brightstaff's rewrite (ServerSettings.envoy_body_limit_bytes).
                    "per_connection_buffer_limit_bytes": server.envoy_body_limit_bytes,
                    "filter_chains": [{"filters": [hcm]}],
                    **({"enable_reuse_port": False} if exclusive_listener else {}),
                }
            ],
            "clusters": [extproc_cluster, *(_provider_cluster(p, ca_bundle) for p in config.providers)],
        },
    }
