"""Load and validate a Plano-compatible config.yaml into frozen dataclasses; every error names its field.

Invariant: a `Config` that exists is valid. Nothing downstream re-checks shapes; nothing here does I/O
beyond reading the file and the environment passed in (so tests hand in a plain dict as `env`).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

from brightstaff.providers.catalog import KNOWN_VENDORS, default_base_url

DEFAULT_SESSION_TTL_SECONDS = 600
DEFAULT_SESSION_MAX_ENTRIES = 10_000
DEFAULT_AFFINITY_HEADER = "x-model-affinity"
# Agent conversations grow: 16 MiB holds ~4M tokens of text, far past any model's context window.
DEFAULT_MAX_REQUEST_BODY_BYTES = 16 * 1024 * 1024

# Top-level keys Plano accepts that brightstaff does not act on: tolerated with a note, never an error.
PLANO_ONLY_KEYS = frozenset(
    {
        "endpoints",
        "prompt_targets",
        "prompt_guards",
        "system_prompt",
        "tracing",
        "ratelimits",
        "agents",
        "filters",
        "model_aliases",
        "mode",
        "overrides",
        "state_storage",
    }
)
OUR_TOP_LEVEL_KEYS = frozenset({"version", "listeners", "model_providers", "llm_providers", "routing", "brightstaff"})


class ConfigError(ValueError):
    """A config problem, located by a field path such as `model_providers[1].model`."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class Secret:
    """A credential: usable by `reveal()`, never by `repr`/`str`, so it cannot leak into logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class RoutingPreference:
    name: str
    description: str


@dataclass(frozen=True)
class Provider:
    """One `model_providers` entry: where a model lives and how to reach it."""

    name: str  # unique id used in headers, pins and logs, e.g. "openai/gpt-4o"
    vendor: str  # "openai", "anthropic", ... (the part before the slash)
    model: str  # the model id the upstream expects, e.g. "gpt-4o"
    base_url: str
    access_key: Secret | None
    access_key_source: str | None  # "$OPENAI_API_KEY" as written, for messages that must not show the key
    default: bool
    passthrough_auth: bool
    routing_preferences: tuple[RoutingPreference, ...]
    cluster: str  # the Envoy cluster serving this provider
    api: Literal["openai", "anthropic"] = "openai"  # the backend API it speaks (picks the provider adapter)

    @property
    def scheme(self) -> str:
        return urlsplit(self.base_url).scheme

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.base_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def path_prefix(self) -> str:
        """The base URL's path without the trailing slash, e.g. "/v1"."""
        return urlsplit(self.base_url).path.rstrip("/")


@dataclass(frozen=True)
class Listener:
    name: str
    address: str
    port: int
    timeout_seconds: float


DEFAULT_PIN_KEY_PREFIX = "brightstaff:pin:"


@dataclass(frozen=True)
class RedisTLS:
    """TLS settings for a `rediss://` pin store; without files the system CA bundle verifies the server."""

    ca_file: str | None = None
    cert_file: str | None = None  # client certificate, for Redis servers that require mutual TLS
    key_file: str | None = None
    verify: bool = True  # false skips certificate and hostname checks: for test servers only


@dataclass(frozen=True)
class SessionCache:
    """Where pins live (`routing.session_cache`). `memory`: this process; `redis`: shared by every replica."""

    type: Literal["memory", "redis"] = "memory"
    # The URL may carry a password: kept out of repr, logs use `display_url`.
    url: str | None = field(default=None, repr=False)
    key_prefix: str = DEFAULT_PIN_KEY_PREFIX
    # Per-call bound on a Redis round trip (connect included); a pin lookup must never hold a request long.
    timeout_ms: int = 100
    # Consecutive failures that open the circuit, and how long it stays open before one probe call.
    circuit_failures: int = 3
    circuit_cooldown_ms: int = 1000
    # Connections per replica; requests beyond it queue for a free one (within timeout_ms).
    max_connections: int = 64
    tls: RedisTLS | None = None

    @property
    def display_url(self) -> str:
        """The URL without credentials, for logs and check-config."""
        if self.url is None:
            return "-"
        parts = urlsplit(self.url)
        if parts.scheme == "unix":
            return f"unix://{parts.path}"
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        return f"{parts.scheme}://{host}:{parts.port or 6379}{parts.path or '/0'}"


ROUTER_FORMATS = ("arch_router", "orchestrator_v1")
# Prompt budget per format, in tokens estimated as characters / 4: Arch-Router-1.5B is usually served
# with a small context; Plano-Orchestrator is built to read long multi-turn conversations.
DEFAULT_ROUTER_CONTEXT_TOKENS = {"arch_router": 2048, "orchestrator_v1": 8192}
DEFAULT_ROUTER_TIMEOUT_MS = 1500
DEFAULT_ROUTER_CONNECT_TIMEOUT_MS = 250
# Time left inside Envoy's message_timeout_ms for the rest of a decision (pin store, gRPC reply), so a
# slow router falls back to the default model before Envoy gives up on brightstaff.
ROUTER_TIMEOUT_HEADROOM_MS = 100


@dataclass(frozen=True)
class RouterSettings:
    """The router run on a miss (`routing.router`): `embedded` (offline, the default) or `llm`, a router
    model such as Arch-Router or Plano-Orchestrator behind an OpenAI-compatible endpoint."""

    type: Literal["embedded", "llm"] = "embedded"
    base_url: str = ""  # llm: calls go to <base_url>/chat/completions
    model: str = ""  # llm: the model name the endpoint serves
    format: Literal["arch_router", "orchestrator_v1"] = "arch_router"
    access_key: Secret | None = None
    access_key_source: str | None = None
    # One deadline for the whole call: waiting for a pooled connection, connecting, the answer.
    timeout_ms: int = DEFAULT_ROUTER_TIMEOUT_MS
    connect_timeout_ms: int = DEFAULT_ROUTER_CONNECT_TIMEOUT_MS
    # Connections per process, kept alive; calls beyond it queue for one within timeout_ms.
    max_connections: int = 32
    max_messages: int = 16  # most recent user/assistant turns shown to the router
    max_context_tokens: int = DEFAULT_ROUTER_CONTEXT_TOKENS["arch_router"]  # whole prompt, chars / 4
    source: str = "routing.router"  # the key that configured it, for check-config and logs


@dataclass(frozen=True)
class RoutingSettings:
    session_ttl_seconds: int = DEFAULT_SESSION_TTL_SECONDS
    session_max_entries: int = DEFAULT_SESSION_MAX_ENTRIES
    # sliding: every hit restarts the TTL, so an agent run longer than the TTL keeps its pin while active.
    session_ttl_mode: Literal["sliding", "fixed"] = "sliding"
    tenant_header: str | None = None
    session_cache: SessionCache = field(default_factory=SessionCache)
    # Below this score the embedded router picks the default model instead of a weak match.
    min_match_score: float = 0.2
    router: RouterSettings = field(default_factory=RouterSettings)


@dataclass(frozen=True)
class ServerSettings:
    """brightstaff's own knobs (top-level `brightstaff:` key); none of them exists in Plano."""

    grpc_host: str = "127.0.0.1"
    grpc_port: int = 18080
    admin_host: str = "127.0.0.1"
    admin_port: int = 19090
    envoy_admin_port: int = 9901
    failure_mode: Literal["closed", "open"] = "closed"
    message_timeout_ms: int = 2000
    max_request_body_bytes: int = DEFAULT_MAX_REQUEST_BODY_BYTES
    affinity_header: str = DEFAULT_AFFINITY_HEADER
    affinity_id_max_length: int = 128
    # native: brightstaff's own gRPC/HTTP/2 framing on the event loop; grpcio: grpcio's asyncio server (README)
    transport: Literal["grpcio", "native"] = "native"


@dataclass(frozen=True)
class Config:
    version: str
    listener: Listener
    providers: tuple[Provider, ...]
    routing: RoutingSettings
    server: ServerSettings
    notes: tuple[str, ...] = ()  # tolerated keys and missing credentials, for check-config and start-up logs

    @property
    def default_provider(self) -> Provider:
        return next(p for p in self.providers if p.default)

    def provider(self, name: str) -> Provider | None:
        return next((p for p in self.providers if p.name == name), None)


# --------------------------------------------------------------------------------------------------
# Parsing helpers: each takes the field path so that every error names where it happened.


def _expect_mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(path, f"expected a mapping, got {type(value).__name__}")
    return value


def _check_keys(data: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    for key in data:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            where = f"{path}.{key}" if path else str(key)
            raise ConfigError(where, f"unknown key{suggestion}; allowed: {', '.join(sorted(allowed))}")


def _str(data: Mapping[str, Any], key: str, path: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if value is None:
        raise ConfigError(f"{path}.{key}" if path else key, "required")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}.{key}" if path else key, "expected a non-empty string")
    return value.strip()


def _int(data: Mapping[str, Any], key: str, path: str, default: int, lo: int, hi: int) -> int:
    value = data.get(key, default)
    where = f"{path}.{key}" if path else key
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(where, f"expected an integer, got {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(where, f"must be between {lo} and {hi}, got {value}")
    return value


def _bool(data: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{path}.{key}", f"expected true or false, got {value!r}")
    return value


def _choice(data: Mapping[str, Any], key: str, path: str, default: str, choices: tuple[str, ...]) -> str:
    value = data.get(key, default)
    if value not in choices:
        raise ConfigError(f"{path}.{key}", f"expected one of {', '.join(choices)}, got {value!r}")
    return str(value)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")


def _duration_seconds(value: Any, where: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ConfigError(where, f"expected a duration such as 30s or 500ms, got {value!r}")
        number, unit = float(match.group(1)), match.group(2) or "s"
        seconds = number / 1000 if unit == "ms" else number * 60 if unit == "m" else number
    if seconds <= 0:
        raise ConfigError(where, "must be positive")
    return seconds


_HEADER_NAME = re.compile(r"^[a-z0-9!#$%&'*+.^_`|~-]+$")


def _header_name(value: str, where: str) -> str:
    lowered = value.lower()
    if not _HEADER_NAME.match(lowered):
        raise ConfigError(where, f"not a valid HTTP header name: {value!r}")
    return lowered


_ENV_REF = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
_CLUSTER_UNSAFE = re.compile(r"[^a-z0-9_.-]+")


def _cluster_name(provider_name: str) -> str:
    return "provider_" + _CLUSTER_UNSAFE.sub("_", provider_name.lower())


# --------------------------------------------------------------------------------------------------


_PROVIDER_KEYS = frozenset(
    {
        "model",
        "name",
        "access_key",
        "default",
        "base_url",
        "routing_preferences",
        "passthrough_auth",
        "provider_interface",
        # Plano keys brightstaff tolerates without acting on them
        "usage",
        "cluster_name",
        "rate_limits",
        "headers",
    }
)


def _parse_provider(raw: Any, path: str, env: Mapping[str, str], notes: list[str]) -> Provider:
    data = _expect_mapping(raw, path)
    _check_keys(data, _PROVIDER_KEYS, path)
    model_field = _str(data, "model", path)
    vendor_given = data.get("provider_interface")
    if "/" in model_field:
        vendor, model = model_field.split("/", 1)
    elif isinstance(vendor_given, str):
        vendor, model = vendor_given, model_field
    else:
        raise ConfigError(f"{path}.model", f"expected 'provider/model' such as 'openai/gpt-4o', got {model_field!r}")
    vendor = vendor.strip().lower()
    if not model.strip():
        raise ConfigError(f"{path}.model", "the model name after the provider prefix is empty")
    base_url_raw = data.get("base_url")
    if base_url_raw is None:
        base_url = default_base_url(vendor)
        if base_url is None:
            raise ConfigError(
                f"{path}.base_url",
                f"required for provider '{vendor}' (known providers without base_url: {', '.join(KNOWN_VENDORS)})",
            )
    else:
        base_url = _str(data, "base_url", path)
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{path}.base_url", f"expected an http(s) URL, got {base_url!r}")
        if parts.query or parts.fragment:
            raise ConfigError(f"{path}.base_url", "must not carry a query or fragment")

    access_key: Secret | None = None
    key_source: str | None = None
    raw_key = data.get("access_key")
    if raw_key is not None:
        if not isinstance(raw_key, str):
            raise ConfigError(f"{path}.access_key", "expected a string such as $OPENAI_API_KEY")
        ref = _ENV_REF.match(raw_key.strip())
        if ref:
            key_source = f"${ref.group(1)}"
            value = env.get(ref.group(1))
            if value:
                access_key = Secret(value)
            else:
                notes.append(f"{path}.access_key: {key_source} is not set; requests go out without credentials")
        else:
            key_source = "(inline value)"
            access_key = Secret(raw_key.strip())

    prefs_raw = data.get("routing_preferences", [])
    if not isinstance(prefs_raw, list):
        raise ConfigError(f"{path}.routing_preferences", "expected a list")
    prefs = []
    for j, pref in enumerate(prefs_raw):
        ppath = f"{path}.routing_preferences[{j}]"
        pdata = _expect_mapping(pref, ppath)
        _check_keys(pdata, frozenset({"name", "description"}), ppath)
        prefs.append(RoutingPreference(name=_str(pdata, "name", ppath), description=_str(pdata, "description", ppath)))

    name = data.get("name", f"{vendor}/{model.strip()}")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{path}.name", "expected a non-empty string")
    return Provider(
        name=name.strip(),
        vendor=vendor,
        model=model.strip(),
        base_url=base_url.rstrip("/"),
        access_key=access_key,
        access_key_source=key_source,
        default=_bool(data, "default", path, False),
        passthrough_auth=_bool(data, "passthrough_auth", path, False),
        routing_preferences=tuple(prefs),
        cluster=_cluster_name(name.strip()),
    )


def _parse_listener(raw: Any, notes: list[str]) -> Listener:
    if raw is None:
        return Listener(name="model_listener", address="127.0.0.1", port=12000, timeout_seconds=300.0)
    if not isinstance(raw, list) or not raw:
        raise ConfigError("listeners", "expected a non-empty list")
    chosen: Listener | None = None
    for i, item in enumerate(raw):
        path = f"listeners[{i}]"
        data = _expect_mapping(item, path)
        _check_keys(data, frozenset({"type", "name", "port", "address", "timeout", "router"}), path)
        kind = data.get("type", "model")
        if kind != "model":
            notes.append(f"{path}: listener type {kind!r} is not served by brightstaff (only 'model')")
            continue
        if chosen is not None:
            raise ConfigError(path, "only one listener of type 'model' is supported")
        chosen = Listener(
            name=_str(data, "name", path, default="model_listener"),
            address=_str(data, "address", path, default="127.0.0.1"),
            port=_int(data, "port", path, 12000, 1, 65535),
            timeout_seconds=_duration_seconds(data.get("timeout", "300s"), f"{path}.timeout"),
        )
    if chosen is None:
        raise ConfigError("listeners", "no listener of type 'model'")
    return chosen


_ROUTING_KEYS = frozenset(
    {
        "session_ttl_seconds",
        "session_max_entries",
        "session_ttl_mode",
        "tenant_header",
        "session_cache",
        "min_match_score",
        # the router: `router` (brightstaff's), or Plano's `model` + `llm_provider`, mapped onto it
        "model",
        "llm_provider",
        "router",
    }
)


_REDIS_ONLY_KEYS = ("url", "timeout_ms", "circuit_failures", "circuit_cooldown_ms", "max_connections", "tls")
_SESSION_CACHE_KEYS = frozenset({"type", "key_prefix", "tenant_header", *_REDIS_ONLY_KEYS})
_REDIS_SCHEMES = ("redis", "rediss", "unix")
# Printable, no spaces: the prefix shows up in redis-cli output and in ACL key patterns (`~brightstaff:pin:*`).
_KEY_PREFIX = re.compile(r"^[!-~]{0,128}$")


def _redis_url(data: Mapping[str, Any], env: Mapping[str, str]) -> str:
    where = "routing.session_cache.url"
    raw = data.get("url")
    if raw is None:
        raise ConfigError(where, "required when type is redis, e.g. redis://127.0.0.1:6379/0")
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(where, "expected a URL such as redis://127.0.0.1:6379/0")
    url = raw.strip()
    ref = _ENV_REF.match(url)
    if ref:  # `$REDIS_URL`: keeps a password out of the file
        resolved = env.get(ref.group(1))
        if not resolved:
            raise ConfigError(where, f"${ref.group(1)} is not set")
        url = resolved.strip()
    shown = _redact(url)
    parts = urlsplit(url)
    if parts.scheme not in _REDIS_SCHEMES:
        raise ConfigError(where, f"expected a redis://, rediss:// or unix:// URL, got {shown!r}")
    if parts.scheme == "unix":
        if not parts.path:
            raise ConfigError(where, f"a unix:// URL needs a socket path, got {shown!r}")
        return url
    if not parts.hostname:
        raise ConfigError(where, f"no host in {shown!r}")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(where, f"the port is not a number between 1 and 65535 in {shown!r}") from None
    if port == 0:
        raise ConfigError(where, f"the port is not a number between 1 and 65535 in {shown!r}")
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise ConfigError(where, f"the path must be a database number such as /0, got {parts.path!r}")
    if parts.query or parts.fragment:
        raise ConfigError(where, "must not carry a query or fragment; set options as routing.session_cache keys")
    return url


def _redact(url: str) -> str:
    """The URL with any password replaced, for error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=user + netloc).geturl()


def _parse_tls(raw: Any, scheme: str) -> RedisTLS:
    where = "routing.session_cache.tls"
    data = _expect_mapping(raw, where)
    _check_keys(data, frozenset({"ca_file", "cert_file", "key_file", "verify"}), where)
    if scheme != "rediss":
        raise ConfigError(where, "only applies to a rediss:// url")
    files = {key: _str(data, key, where) if key in data else None for key in ("ca_file", "cert_file", "key_file")}
    if (files["cert_file"] is None) != (files["key_file"] is None):
        raise ConfigError(where, "cert_file and key_file go together (a client certificate and its key)")
    return RedisTLS(
        ca_file=files["ca_file"],
        cert_file=files["cert_file"],
        key_file=files["key_file"],
        verify=_bool(data, "verify", where, True),
    )


def _parse_session_cache(data: Mapping[str, Any], env: Mapping[str, str]) -> SessionCache:
    path = "routing.session_cache"
    _check_keys(data, _SESSION_CACHE_KEYS, path)
    cache_type = _choice(data, "type", path, "memory", ("memory", "redis"))
    prefix = data.get("key_prefix", DEFAULT_PIN_KEY_PREFIX)
    if not isinstance(prefix, str) or not _KEY_PREFIX.match(prefix):
        raise ConfigError(
            f"{path}.key_prefix", f"expected up to 128 printable characters without spaces, got {prefix!r}"
        )
    if cache_type == "memory":
        for key in _REDIS_ONLY_KEYS:
            if key in data:
                raise ConfigError(f"{path}.{key}", "only applies to type: redis")
        return SessionCache(type="memory", key_prefix=prefix)
    url = _redis_url(data, env)
    scheme = urlsplit(url).scheme
    tls = _parse_tls(data["tls"], scheme) if "tls" in data else (RedisTLS() if scheme == "rediss" else None)
    return SessionCache(
        type="redis",
        url=url,
        key_prefix=prefix,
        timeout_ms=_int(data, "timeout_ms", path, 100, 1, 60_000),
        circuit_failures=_int(data, "circuit_failures", path, 3, 1, 1000),
        circuit_cooldown_ms=_int(data, "circuit_cooldown_ms", path, 1000, 10, 3_600_000),
        max_connections=_int(data, "max_connections", path, 64, 1, 10_000),
        tls=tls,
    )


def _parse_routing(raw: Any, notes: list[str], env: Mapping[str, str]) -> RoutingSettings:
    if raw is None:
        return RoutingSettings()
    data = _expect_mapping(raw, "routing")
    _check_keys(data, _ROUTING_KEYS, "routing")
    tenant = data.get("tenant_header")
    cache_data = _expect_mapping(data.get("session_cache", {"type": "memory"}), "routing.session_cache")
    session_cache = _parse_session_cache(cache_data, env)
    if session_cache.type == "redis" and "session_max_entries" in data:
        notes.append(
            "routing.session_max_entries: bounds the memory store only; with redis, bound memory with Redis's "
            "maxmemory and maxmemory-policy volatile-lru (see README, Shared pins on Redis)"
        )
    if tenant is None and "tenant_header" in cache_data:
        tenant = cache_data["tenant_header"]
    score = data.get("min_match_score", 0.2)
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
        raise ConfigError("routing.min_match_score", f"expected a number between 0 and 1, got {score!r}")
    return RoutingSettings(
        session_ttl_seconds=_int(data, "session_ttl_seconds", "routing", DEFAULT_SESSION_TTL_SECONDS, 1, 30 * 86400),
        session_max_entries=_int(data, "session_max_entries", "routing", DEFAULT_SESSION_MAX_ENTRIES, 1, 100_000_000),
        session_ttl_mode="fixed"
        if _choice(data, "session_ttl_mode", "routing", "sliding", ("sliding", "fixed")) == "fixed"
        else "sliding",
        tenant_header=_header_name(str(tenant), "routing.tenant_header") if tenant is not None else None,
        session_cache=session_cache,
        min_match_score=float(score),
    )


_ROUTER_KEYS = frozenset(
    {
        "type",
        "base_url",
        "model",
        "format",
        "access_key",
        "timeout_ms",
        "connect_timeout_ms",
        "max_connections",
        "max_messages",
        "max_context_tokens",
    }
)


def _router_url(value: str, where: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(where, f"expected an http(s) URL such as http://127.0.0.1:8000/v1, got {value!r}")
    if parts.query or parts.fragment:
        raise ConfigError(where, "must not carry a query or fragment")
    if parts.username or parts.password:
        raise ConfigError(where, "must not carry credentials; use access_key")
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ConfigError(where, f"the port is not a number between 1 and 65535 in {value!r}") from None
    return value.rstrip("/")


def _router_key(raw: Any, where: str, env: Mapping[str, str], notes: list[str]) -> tuple[Secret | None, str | None]:
    if raw is None:
        return None, None
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(where, "expected a string such as $ROUTER_API_KEY")
    ref = _ENV_REF.match(raw.strip())
    if ref is None:
        return Secret(raw.strip()), "(inline value)"
    value = env.get(ref.group(1))
    if not value:
        notes.append(f"{where}: ${ref.group(1)} is not set; router calls go out without credentials")
        return None, f"${ref.group(1)}"
    return Secret(value), f"${ref.group(1)}"


def _guess_format(model: str) -> Literal["arch_router", "orchestrator_v1"]:
    return "orchestrator_v1" if "orchestrator" in model.lower() else "arch_router"


def _llm_router(
    block: Mapping[str, Any],
    path: str,
    *,
    base_url: str,
    model: str,
    fmt: Literal["arch_router", "orchestrator_v1"],
    key: tuple[Secret | None, str | None],
    server: ServerSettings,
    source: str,
) -> RouterSettings:
    ceiling = server.message_timeout_ms - ROUTER_TIMEOUT_HEADROOM_MS
    if ceiling < 10:
        raise ConfigError(
            "brightstaff.message_timeout_ms",
            f"leaves no time for the LLM router ({source}); set it to at least {10 + ROUTER_TIMEOUT_HEADROOM_MS}",
        )
    timeout = _int(block, "timeout_ms", path, min(DEFAULT_ROUTER_TIMEOUT_MS, ceiling), 10, 60_000)
    if timeout > ceiling:
        raise ConfigError(
            f"{path}.timeout_ms",
            f"must be at most brightstaff.message_timeout_ms - {ROUTER_TIMEOUT_HEADROOM_MS} ({ceiling}), so a slow "
            "router falls back to the default model before Envoy gives up on brightstaff",
        )
    connect = _int(block, "connect_timeout_ms", path, min(DEFAULT_ROUTER_CONNECT_TIMEOUT_MS, timeout), 1, 60_000)
    if connect > timeout:
        raise ConfigError(f"{path}.connect_timeout_ms", f"must not exceed timeout_ms ({timeout})")
    return RouterSettings(
        type="llm",
        base_url=base_url,
        model=model,
        format=fmt,
        access_key=key[0],
        access_key_source=key[1],
        timeout_ms=timeout,
        connect_timeout_ms=connect,
        max_connections=_int(block, "max_connections", path, 32, 1, 10_000),
        max_messages=_int(block, "max_messages", path, 16, 1, 1000),
        max_context_tokens=_int(block, "max_context_tokens", path, DEFAULT_ROUTER_CONTEXT_TOKENS[fmt], 256, 1_000_000),
        source=source,
    )


def _parse_router(
    raw: Any, providers: tuple[Provider, ...], server: ServerSettings, env: Mapping[str, str], notes: list[str]
) -> RouterSettings:
    """`routing.router`, or Plano's `routing.llm_provider` (+ `routing.model`) mapped onto it."""
    data: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    if "router" in data:
        for key in ("model", "llm_provider"):
            if key in data:
                notes.append(f"routing.{key}: ignored; routing.router configures the router")
        path = "routing.router"
        block = _expect_mapping(data["router"], path)
        _check_keys(block, _ROUTER_KEYS, path)
        if _choice(block, "type", path, "embedded", ("embedded", "llm")) == "embedded":
            for key in sorted(_ROUTER_KEYS - {"type"}):
                if key in block:
                    raise ConfigError(f"{path}.{key}", "only applies to type: llm")
            return RouterSettings()
        model = _str(block, "model", path)
        chosen = _choice(block, "format", path, _guess_format(model), ROUTER_FORMATS)
        fmt: Literal["arch_router", "orchestrator_v1"] = (
            "orchestrator_v1" if chosen == "orchestrator_v1" else "arch_router"
        )
        return _llm_router(
            block,
            path,
            base_url=_router_url(_str(block, "base_url", path), f"{path}.base_url"),
            model=model,
            fmt=fmt,
            key=_router_key(block.get("access_key"), f"{path}.access_key", env, notes),
            server=server,
            source=path,
        )
    if "llm_provider" in data:
        # Plano: `llm_provider` names the model_providers entry serving the router model; `model` is the
        # router's name there (Arch-Router, Plano-Orchestrator), used here to pick the prompt format.
        name = _str(data, "llm_provider", "routing")
        provider = next((p for p in providers if p.name == name), None)
        if provider is None:
            notes.append(
                f"routing.llm_provider: {name!r} is not the name of a model_providers entry, so there is no "
                "router endpoint; the embedded router is used (add a provider with that name and the router's "
                "base_url, or configure routing.router)"
            )
            return RouterSettings()
        hint = data.get("model")
        fmt = _guess_format(hint if isinstance(hint, str) and hint.strip() else provider.model)
        return _llm_router(
            {},
            "routing",
            base_url=provider.base_url,
            model=provider.model,
            fmt=fmt,
            key=(provider.access_key, provider.access_key_source),
            server=server,
            source="routing.llm_provider",
        )
    if "model" in data:
        notes.append(
            "routing.model: without routing.llm_provider naming the provider that serves it there is no router "
            "endpoint; the embedded router is used (or configure routing.router)"
        )
    return RouterSettings()


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
        "affinity_header",
        "affinity_id_max_length",
        "transport",
    }
)


def _parse_server(raw: Any) -> ServerSettings:
    if raw is None:
        return ServerSettings()
    data = _expect_mapping(raw, "brightstaff")
    _check_keys(data, _SERVER_KEYS, "brightstaff")
    d = ServerSettings()
    return ServerSettings(
        grpc_host=_str(data, "grpc_host", "brightstaff", default=d.grpc_host),
        grpc_port=_int(data, "grpc_port", "brightstaff", d.grpc_port, 1, 65535),
        admin_host=_str(data, "admin_host", "brightstaff", default=d.admin_host),
        admin_port=_int(data, "admin_port", "brightstaff", d.admin_port, 0, 65535),
        envoy_admin_port=_int(data, "envoy_admin_port", "brightstaff", d.envoy_admin_port, 0, 65535),
        failure_mode="open"
        if _choice(data, "failure_mode", "brightstaff", d.failure_mode, ("closed", "open")) == "open"
        else "closed",
        message_timeout_ms=_int(data, "message_timeout_ms", "brightstaff", d.message_timeout_ms, 50, 60_000),
        max_request_body_bytes=_int(
            data, "max_request_body_bytes", "brightstaff", d.max_request_body_bytes, 1024, 256 * 1024 * 1024
        ),
        affinity_header=_header_name(
            _str(data, "affinity_header", "brightstaff", default=d.affinity_header),
            "brightstaff.affinity_header",
        ),
        affinity_id_max_length=_int(data, "affinity_id_max_length", "brightstaff", d.affinity_id_max_length, 8, 1024),
        transport="grpcio"
        if _choice(data, "transport", "brightstaff", d.transport, ("native", "grpcio")) == "grpcio"
        else "native",
    )


def parse_config(data: Any, env: Mapping[str, str]) -> Config:
    """Validate an already-parsed YAML document. `env` resolves `$VAR` credentials."""
    top = _expect_mapping(data, "")
    notes: list[str] = []
    for key in top:
        if key in PLANO_ONLY_KEYS:
            notes.append(f"{key}: accepted for Plano compatibility; brightstaff does not use it")
    _check_keys(top, OUR_TOP_LEVEL_KEYS | PLANO_ONLY_KEYS, "")
    version = str(top.get("version", "v0.3.0"))
    if "model_providers" in top and "llm_providers" in top:
        raise ConfigError("llm_providers", "give either model_providers or its older name llm_providers, not both")
    key = "model_providers" if "model_providers" in top else "llm_providers"
    raw_providers = top.get(key)
    if not isinstance(raw_providers, list) or not raw_providers:
        raise ConfigError(key, "required: a non-empty list of providers")
    providers = [_parse_provider(p, f"{key}[{i}]", env, notes) for i, p in enumerate(raw_providers)]

    seen: dict[str, int] = {}
    for i, p in enumerate(providers):
        if p.name in seen:
            raise ConfigError(f"{key}[{i}].model", f"duplicate provider {p.name!r} (also {key}[{seen[p.name]}])")
        seen[p.name] = i
    defaults = [i for i, p in enumerate(providers) if p.default]
    if len(defaults) > 1:
        raise ConfigError(f"{key}[{defaults[1]}].default", "only one provider may be the default")
    if not defaults:
        notes.append(f"{key}: no provider has default: true; {providers[0].name} is the default")
        first = providers[0]
        providers[0] = Provider(**{**first.__dict__, "default": True})
    pref_owner: dict[str, str] = {}
    for i, p in enumerate(providers):
        for j, pref in enumerate(p.routing_preferences):
            if pref.name in pref_owner:
                raise ConfigError(
                    f"{key}[{i}].routing_preferences[{j}].name",
                    f"preference {pref.name!r} is already routed to {pref_owner[pref.name]}",
                )
            pref_owner[pref.name] = p.name

    listener = _parse_listener(top.get("listeners"), notes)
    routing = _parse_routing(top.get("routing"), notes, env)
    server = _parse_server(top.get("brightstaff"))
    router = _parse_router(top.get("routing"), tuple(providers), server, env, notes)
    return Config(
        version=version,
        listener=listener,
        providers=tuple(providers),
        routing=dataclasses.replace(routing, router=router),
        server=server,
        notes=tuple(notes),
    )


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config file; `env` defaults to the process environment."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("", f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError("", f"{path} is not valid YAML{where}") from None
    return parse_config(data, os.environ if env is None else env)
