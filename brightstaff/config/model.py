"""The config's data model: frozen dataclasses whose field defaults are brightstaff's defaults.

Invariants
    - A leaf: imports only the standard library (no yaml, no environment, no file reading, nothing from
      brightstaff), so the sans-IO `brightstaff.core` may import it.
    - Every default is stated here, once, as a field default. The parsers, the Redis pin store and the
      circuit breaker read it from the class (`RedisPinStoreSettings.timeout_ms` is 100), never restate it.
    - Kinds are `Literal`s; the tuple of a kind's values (for parsers and messages) is derived from it.
    - Router and pin-store settings are tagged unions: each branch carries only its own fields and a
      `type` class attribute holding the config's `type:` value, for check-config and logs.
    - A `Secret` never shows its value in `repr`/`str`; a Redis URL (which may carry a password) is kept
      out of `repr` and shown through `display_url`.
    - Routes have one representation whichever config shape declared them (v0.3 inline
      `model_providers[].routing_preferences`, v0.4 top-level `routing_preferences` with ranked `models`):
      each `RoutingPreference` sits on the provider that serves it, with the route's other models as
      `fallbacks`. Routers read them through `routes_of` / `Config.routes`, never per shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal, get_args
from urllib.parse import urlsplit

# The API a provider's endpoint speaks; the provider adapter layer picks its translator by it.
ProviderApi = Literal["openai", "anthropic"]
TtlMode = Literal["sliding", "fixed"]
FailureMode = Literal["closed", "open"]
Transport = Literal["native", "grpcio"]
LogFormat = Literal["text", "json"]
RouterFormat = Literal["arch_router", "orchestrator_v1"]
RouterType = Literal["embedded", "llm"]
PinStoreType = Literal["memory", "redis"]
# v0.4 `routing_preferences[].selection_policy.prefer`: how Plano ranks a route's models per request.
SelectionPolicy = Literal["none", "cheapest", "fastest"]
# Where an affinity id may come from (`routing.affinity.sources`, first present wins; see
# core/affinity_sources.py): the configured header, or what agent harnesses already send.
AffinitySource = Literal["header", "claude-code", "codex", "opencode", "prompt-cache-key", "anthropic-metadata"]
# A subagent's requests: under its parent session's pin, or pinned on their own as `<session>/<agent>`.
SubagentPinning = Literal["share", "own"]

TTL_MODES: tuple[TtlMode, ...] = get_args(TtlMode)
FAILURE_MODES: tuple[FailureMode, ...] = get_args(FailureMode)
TRANSPORTS: tuple[Transport, ...] = get_args(Transport)
LOG_FORMATS: tuple[LogFormat, ...] = get_args(LogFormat)
ROUTER_FORMATS: tuple[RouterFormat, ...] = get_args(RouterFormat)
ROUTER_TYPES: tuple[RouterType, ...] = get_args(RouterType)
PIN_STORE_TYPES: tuple[PinStoreType, ...] = get_args(PinStoreType)
SELECTION_POLICIES: tuple[SelectionPolicy, ...] = get_args(SelectionPolicy)
AFFINITY_SOURCES: tuple[AffinitySource, ...] = get_args(AffinitySource)
SUBAGENT_PINNING: tuple[SubagentPinning, ...] = get_args(SubagentPinning)

DEFAULT_PIN_KEY_PREFIX = "brightstaff:pin:"
# `brightstaff.access_log`'s two words; any other value is a file path.
ACCESS_LOG_STDOUT = "stdout"
ACCESS_LOG_OFF = "off"
# The model of a wildcard provider (`openai/*`).
WILDCARD = "*"
# Prompt budget per format, in tokens estimated as characters / 4: Arch-Router-1.5B is usually served
# with a small context; Plano-Orchestrator is built to read long multi-turn conversations.
ROUTER_CONTEXT_TOKENS: Mapping[RouterFormat, int] = {"arch_router": 2048, "orchestrator_v1": 8192}


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
class UnsetSecret:
    """An `access_key: $VAR` whose variable is not set: `serve`, `up` and `check-config` refuse it."""

    path: str  # the field, e.g. "model_providers[0].access_key"
    source: str  # "$OPENAI_API_KEY", as written

    def __str__(self) -> str:
        return f"{self.path}: {self.source} is not set"


@dataclass(frozen=True)
class RoutingPreference:
    name: str
    description: str
    # A few example asks for this route: a brightstaff extension (Plano ignores it); the embedded router
    # blends them into the route's vector (few-shot), the LLM router does not read them.
    examples: tuple[str, ...] = ()
    # The route's other configured models, best first (v0.4 `models[1:]`, or the later providers of a v0.3
    # preference declared under several): recorded for failover, which no request path uses yet.
    fallbacks: tuple[str, ...] = ()
    # v0.4 `selection_policy.prefer`. Without pricing or latency data brightstaff keeps the listed order,
    # which is what `none` asks for; `cheapest` and `fastest` are noted as not honoured.
    prefer: SelectionPolicy = "none"


@dataclass(frozen=True)
class Route:
    """A routing preference with the provider that serves it: what routers and decisions read."""

    provider: str  # the configured provider serving the route
    preference: RoutingPreference

    @property
    def name(self) -> str:
        return self.preference.name

    @property
    def description(self) -> str:
        return self.preference.description

    @property
    def examples(self) -> tuple[str, ...]:
        return self.preference.examples

    @property
    def fallbacks(self) -> tuple[str, ...]:
        return self.preference.fallbacks


def routes_of(providers: Iterable[Provider]) -> tuple[Route, ...]:
    """Every route, whichever shape declared it: providers in file order, each provider's routes in order."""
    return tuple(Route(p.name, pref) for p in providers for pref in p.routing_preferences)


@dataclass(frozen=True)
class Provider:
    """One `model_providers` entry: where a model lives and how to reach it."""

    name: str  # unique id used in headers, pins and logs, e.g. "openai/gpt-4o"
    vendor: str  # "openai", "anthropic", ... (the part before the slash)
    model: str  # the model id the upstream expects, e.g. "gpt-4o"
    base_url: str
    cluster: str  # the Envoy cluster serving this provider
    access_key: Secret | None = None
    access_key_source: str | None = None  # "$OPENAI_API_KEY" as written, for messages that must not show the key
    default: bool = False
    passthrough_auth: bool = False
    # the routes this provider serves first (both config shapes; see `routes_of`)
    routing_preferences: tuple[RoutingPreference, ...] = ()
    # Plano's `http_host`: the Host header upstream when it differs from the base URL's host
    http_host: str | None = None
    # Plano's `headers`: extra request headers for this provider, as (lowercased name, value) pairs
    headers: tuple[tuple[str, str], ...] = ()
    # Every provider is reached through its OpenAI-compatible endpoint for now (see providers/catalog.py).
    api: ProviderApi = "openai"

    @property
    def wildcard(self) -> bool:
        """`vendor/*`: serves whatever model of that vendor the client names (see core.decision)."""
        return self.model == WILDCARD

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
    """The model listener Envoy serves (`listeners[]` entry of type `model`)."""

    name: str = "model_listener"
    address: str = "127.0.0.1"
    port: int = 12000
    timeout_seconds: float = 300.0  # upstream request timeout: covers a whole streamed answer
    # Plano's `max_retries`: Envoy retries a failed upstream attempt (5xx, reset, connect failure) this often
    max_retries: int = 0


@dataclass(frozen=True)
class RedisTLS:
    """TLS settings for a `rediss://` pin store; without files the system CA bundle verifies the server."""

    ca_file: str | None = None
    cert_file: str | None = None  # client certificate, for Redis servers that require mutual TLS
    key_file: str | None = None
    verify: bool = True  # false skips certificate and hostname checks: for test servers only


@dataclass(frozen=True)
class MemoryPinStoreSettings:
    """`routing.session_cache.type: memory`: pins live in this process (bounded by `session_max_entries`)."""

    type: ClassVar[Literal["memory"]] = "memory"


@dataclass(frozen=True)
class RedisPinStoreSettings:
    """`routing.session_cache.type: redis`: pins shared by every replica through one Redis."""

    type: ClassVar[Literal["redis"]] = "redis"
    # The URL may carry a password: kept out of repr, logs use `display_url`.
    url: str = field(repr=False)
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
        parts = urlsplit(self.url)
        if parts.scheme == "unix":
            return f"unix://{parts.path}"
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        return f"{parts.scheme}://{host}:{parts.port or 6379}{parts.path or '/0'}"


PinStoreSettings = MemoryPinStoreSettings | RedisPinStoreSettings


@dataclass(frozen=True)
class EmbeddedRouterSettings:
    """`routing.router.type: embedded`: the offline router (tuned by `routing.min_match_score`)."""

    type: ClassVar[Literal["embedded"]] = "embedded"


@dataclass(frozen=True)
class LlmRouterSettings:
    """`routing.router.type: llm`: a router model such as Arch-Router or Plano-Orchestrator behind an
    OpenAI-compatible endpoint."""

    type: ClassVar[Literal["llm"]] = "llm"
    base_url: str  # calls go to <base_url>/chat/completions
    model: str  # the model name the endpoint serves
    format: RouterFormat = "arch_router"
    access_key: Secret | None = None
    access_key_source: str | None = None
    # One deadline for the whole call: waiting for a pooled connection, connecting, the answer.
    timeout_ms: int = 1500
    connect_timeout_ms: int = 250
    # Connections per process, kept alive; calls beyond it queue for one within timeout_ms.
    max_connections: int = 32
    max_messages: int = 16  # most recent user/assistant turns shown to the router
    # Whole prompt, chars / 4. The parser takes the budget of the chosen format from ROUTER_CONTEXT_TOKENS.
    max_context_tokens: int = ROUTER_CONTEXT_TOKENS["arch_router"]
    source: str = "routing.router"  # the key that configured it, for check-config and logs


RouterSettings = EmbeddedRouterSettings | LlmRouterSettings


@dataclass(frozen=True)
class AffinitySettings:
    """`routing.affinity`: where a request's affinity id comes from, and what the pin does upstream."""

    # The default keeps brightstaff's first behaviour: the configured header (`brightstaff.affinity_header`)
    # only. Ids from every source pass the same validation and tenant scoping.
    sources: tuple[AffinitySource, ...] = ("header",)
    subagents: SubagentPinning = "share"
    # Opt-in: an OpenAI-compatible backend gets a `prompt_cache_key` derived from the pin key (a keyed
    # hash, never the raw id) when the client sent none, so the provider's own cache routing sticks too.
    provider_cache_key: bool = False
    # The hash's key: a secret shared by every replica (`$VAR`); None keeps a fixed public salt.
    cache_key_salt: Secret | None = field(default=None, repr=False)


@dataclass(frozen=True)
class RoutingSettings:
    session_ttl_seconds: int = 600
    session_max_entries: int = 10_000  # the memory store's bound; Redis is bounded by its maxmemory
    # sliding: every hit restarts the TTL, so an agent run longer than the TTL keeps its pin while active.
    session_ttl_mode: TtlMode = "sliding"
    tenant_header: str | None = None
    session_cache: PinStoreSettings = field(default_factory=MemoryPinStoreSettings)
    # Below this score (a cosine) the embedded router picks the default model instead of a weak match.
    # Re-derived on the eval sets' dev split: 0.0-0.10 score alike there, 0.15 starts losing asks.
    min_match_score: float = 0.1
    router: RouterSettings = field(default_factory=EmbeddedRouterSettings)
    # Plano's `route_on_user_only`: a request whose latest turn is not the user's (a tool result, an
    # assistant continuation) is routed on the conversation as of its last user turn; a live pin answers
    # it anyway (core.decision.routing_view).
    route_on_user_only: bool = False
    affinity: AffinitySettings = field(default_factory=AffinitySettings)


@dataclass(frozen=True)
class ServerSettings:
    """brightstaff's own knobs (top-level `brightstaff:` key); none of them exists in Plano."""

    grpc_host: str = "127.0.0.1"
    grpc_port: int = 18080
    admin_host: str = "127.0.0.1"
    admin_port: int = 19090
    envoy_admin_port: int = 9901
    failure_mode: FailureMode = "closed"
    message_timeout_ms: int = 2000
    # Agent conversations grow: 16 MiB holds ~4M tokens of text, far past any model's context window.
    # The body as the client sent it (decoded, if gzip); brightstaff refuses a larger one with its own 413.
    max_request_body_bytes: int = 16 * 1024 * 1024
    # Envoy's request timers (the response has its own: the listener's `timeout`). A client has this long
    # to send its request headers, and this long for the whole request (headers, body, the decision):
    # a request held open past it ends with a 408, so held requests cannot pile up.
    request_headers_timeout_ms: int = 10_000
    request_timeout_ms: int = 60_000
    affinity_header: str = "x-model-affinity"
    affinity_id_max_length: int = 128
    # native: brightstaff's own gRPC/HTTP/2 framing on the event loop; grpcio: grpcio's asyncio server (README)
    transport: Transport = "native"
    # text: `time level logger message key=value ...` (values escaped); json: one JSON object per line
    log_format: LogFormat = "text"
    # On SIGTERM/SIGINT/SIGHUP: how long requests in flight (a streamed answer) may take to finish.
    drain_timeout_ms: int = 30_000
    # Envoy's access log, one JSON object per request: ACCESS_LOG_STDOUT, ACCESS_LOG_OFF or an absolute path.
    access_log: str = "stdout"

    @property
    def envoy_body_limit_bytes(self) -> int:
        """Envoy's buffer limit for a request body: the client-side limit plus room for brightstaff's rewrite
        (a longer model name, a translation to the provider's API), a quarter of it and at least 64 KiB.
        A body within `max_request_body_bytes` never meets Envoy's 413; brightstaff refuses larger bodies
        (and a rewrite that would not fit) itself, in the client's API shape."""
        return self.max_request_body_bytes + max(64 * 1024, self.max_request_body_bytes // 4)


@dataclass(frozen=True)
class TracingSettings:
    """Plano's `tracing`: a span per decision, exported over OTLP/gRPC. Plano's rule: on only with an
    endpoint and a `random_sampling` above 0."""

    endpoint: str | None = None  # `opentracing_grpc_endpoint`: an OTLP/gRPC collector, e.g. http://127.0.0.1:4317
    # Percent of traces started here (no sampled `traceparent` from the client) that are recorded. A
    # client's traceparent decides for its own trace: sampled, the span is recorded; not sampled, it is not.
    random_sampling: int = 0
    # `span_attributes.static`: (name, value) pairs set on every span
    static_attributes: tuple[tuple[str, str], ...] = ()

    @property
    def enabled(self) -> bool:
        return self.endpoint is not None and self.random_sampling > 0


@dataclass(frozen=True)
class Config:
    version: str
    listener: Listener
    providers: tuple[Provider, ...]
    routing: RoutingSettings
    server: ServerSettings
    notes: tuple[str, ...] = ()  # tolerated keys and other remarks, for check-config and start-up logs
    # access keys naming unset variables (providers with passthrough_auth excepted): refused at start-up
    unset_secrets: tuple[UnsetSecret, ...] = ()
    # Plano's `model_aliases`: a requested model name -> the configured provider it stands for
    aliases: Mapping[str, str] = field(default_factory=dict, hash=False)
    tracing: TracingSettings = field(default_factory=TracingSettings)

    @property
    def default_provider(self) -> Provider:
        return next(p for p in self.providers if p.default)

    @property
    def routes(self) -> tuple[Route, ...]:
        return routes_of(self.providers)

    def provider(self, name: str) -> Provider | None:
        return next((p for p in self.providers if p.name == name), None)

    def wildcard_for(self, vendor: str) -> Provider | None:
        """The `vendor/*` provider, if one is configured."""
        return next((p for p in self.providers if p.wildcard and p.vendor == vendor), None)
