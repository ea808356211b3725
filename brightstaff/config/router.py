"""The router run on a pin miss: `routing.router`, or Plano's `routing.llm_provider` (+ `routing.model`)
mapped onto it.

Invariants: `type: embedded` (the default) takes no other key, and an LLM-only key under it is an error
naming that key; an LLM router's timeout leaves `ROUTER_TIMEOUT_HEADROOM_MS` of Envoy's message timeout
for the rest of the decision, and its connect timeout fits within its timeout. A Plano mapping that names
no configured endpoint keeps the embedded router, with a note.
"""

from __future__ import annotations

from collections.abc import Mapping

from brightstaff.config.fields import Findings, ResolvedSecret, Section
from brightstaff.config.model import (
    ROUTER_CONTEXT_TOKENS,
    ROUTER_FORMATS,
    ROUTER_TYPES,
    ConfigError,
    EmbeddedRouterSettings,
    LlmRouterSettings,
    Provider,
    RouterFormat,
    RouterSettings,
    RoutingSettings,
    ServerSettings,
    UnsetSecret,
)

PATH = "routing.router"
# Time left inside Envoy's message_timeout_ms for the rest of a decision (pin store, gRPC reply), so a
# slow router falls back to the default model before Envoy gives up on brightstaff.
ROUTER_TIMEOUT_HEADROOM_MS = 100
# The shortest router deadline worth configuring.
_MIN_TIMEOUT_MS = 10
_LLM_KEYS = frozenset(
    {
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
_ROUTER_KEYS = frozenset({"type", *_LLM_KEYS})
# Plano's mapping has no place for the router's tunables: each takes its default.
_NO_TUNABLES = Section({}, "routing", frozenset())
_DEFAULT_ROUTER = RoutingSettings().router


def parse_router(
    routing: Section,
    providers: tuple[Provider, ...],
    server: ServerSettings,
    env: Mapping[str, str],
    findings: Findings,
) -> RouterSettings:
    """The router configured by the `routing` section."""
    if "router" in routing:
        for key in ("model", "llm_provider"):
            if key in routing:
                findings.note(f"routing.{key}: ignored; routing.router configures the router")
        return _parse_router_block(Section(routing.get("router"), PATH, _ROUTER_KEYS), server, env, findings)
    if "llm_provider" in routing:
        return _plano_router(routing, providers, server, findings)
    if "model" in routing:
        findings.note(
            "routing.model: without routing.llm_provider naming the provider that serves it there is no router "
            "endpoint; the embedded router is used (or configure routing.router)"
        )
    return _DEFAULT_ROUTER


def _parse_router_block(
    section: Section, server: ServerSettings, env: Mapping[str, str], findings: Findings
) -> RouterSettings:
    if section.choice("type", _DEFAULT_ROUTER.type, ROUTER_TYPES) == "embedded":
        for key in sorted(_LLM_KEYS):
            if key in section:
                raise ConfigError(section.where(key), "only applies to type: llm")
        return EmbeddedRouterSettings()
    model = section.string("model")
    return _llm_router(
        section,
        base_url=section.http_url("base_url"),
        model=model,
        fmt=section.choice("format", _guess_format(model), ROUTER_FORMATS),
        key=findings.credential(section.get("access_key"), section.where("access_key"), env, example="$ROUTER_API_KEY"),
        server=server,
    )


def _plano_router(
    routing: Section, providers: tuple[Provider, ...], server: ServerSettings, findings: Findings
) -> RouterSettings:
    # Plano: `llm_provider` names the model_providers entry serving the router model; `model` is the
    # router's name there (Arch-Router, Plano-Orchestrator), used here to pick the prompt format.
    name = routing.string("llm_provider")
    provider = next((p for p in providers if p.name == name), None)
    if provider is None:
        findings.note(
            f"routing.llm_provider: {name!r} is not the name of a model_providers entry, so there is no "
            "router endpoint; the embedded router is used (add a provider with that name and the router's "
            "base_url, or configure routing.router)"
        )
        return _DEFAULT_ROUTER
    key = None
    if provider.access_key_source is not None:
        key = ResolvedSecret(provider.access_key, provider.access_key_source)
        if provider.access_key is None and provider.passthrough_auth:
            # The provider forwards its clients' keys; the router has no client to take one from.
            findings.unset_secrets.append(UnsetSecret("routing.llm_provider", provider.access_key_source))
    hint = routing.get("model")
    return _llm_router(
        _NO_TUNABLES,
        base_url=provider.base_url,
        model=provider.model,
        fmt=_guess_format(hint if isinstance(hint, str) and hint.strip() else provider.model),
        key=key,
        server=server,
        source="routing.llm_provider",
    )


def _guess_format(model: str) -> RouterFormat:
    return "orchestrator_v1" if "orchestrator" in model.lower() else "arch_router"


def _llm_router(
    section: Section,
    *,
    base_url: str,
    model: str,
    fmt: RouterFormat,
    key: ResolvedSecret | None,
    server: ServerSettings,
    source: str = PATH,
) -> LlmRouterSettings:
    ceiling = server.message_timeout_ms - ROUTER_TIMEOUT_HEADROOM_MS
    if ceiling < _MIN_TIMEOUT_MS:
        raise ConfigError(
            "brightstaff.message_timeout_ms",
            f"leaves no time for the LLM router ({source}); set it to at least "
            f"{_MIN_TIMEOUT_MS + ROUTER_TIMEOUT_HEADROOM_MS}",
        )
    timeout = section.integer("timeout_ms", min(LlmRouterSettings.timeout_ms, ceiling), _MIN_TIMEOUT_MS, 60_000)
    if timeout > ceiling:
        raise ConfigError(
            section.where("timeout_ms"),
            f"must be at most brightstaff.message_timeout_ms - {ROUTER_TIMEOUT_HEADROOM_MS} ({ceiling}), so a slow "
            "router falls back to the default model before Envoy gives up on brightstaff",
        )
    connect = section.integer("connect_timeout_ms", min(LlmRouterSettings.connect_timeout_ms, timeout), 1, 60_000)
    if connect > timeout:
        raise ConfigError(section.where("connect_timeout_ms"), f"must not exceed timeout_ms ({timeout})")
    return LlmRouterSettings(
        base_url=base_url,
        model=model,
        format=fmt,
        access_key=key.secret if key else None,
        access_key_source=key.source if key else None,
        timeout_ms=timeout,
        connect_timeout_ms=connect,
        max_connections=section.integer("max_connections", LlmRouterSettings.max_connections, 1, 10_000),
        max_messages=section.integer("max_messages", LlmRouterSettings.max_messages, 1, 1000),
        max_context_tokens=section.integer("max_context_tokens", ROUTER_CONTEXT_TOKENS[fmt], 256, 1_000_000),
        source=source,
    )
