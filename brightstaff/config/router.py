"""The router run on a pin miss: `routing.router`, or Plano's ways of naming a router model mapped onto it:
`routing.llm_provider` (+ `routing.model`), and `overrides.llm_routing_model` (+
`overrides.orchestrator_model_context_length`), in that order of precedence.

Invariants: `type: embedded` (the default) takes no other key, and an LLM-only key under it is an error
naming that key; an LLM router's timeout leaves `ROUTER_TIMEOUT_HEADROOM_MS` of Envoy's message timeout
for the rest of the decision, and its connect timeout fits within its timeout. A Plano mapping that names
no configured endpoint keeps the embedded router, with a note (Plano would call its hosted router there).
Plano's other `overrides` are noted; an `overrides` key Plano does not know is a typo, refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
from brightstaff.config.references import find_provider

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
OVERRIDES = "overrides"
# Plano's `overrides` keys brightstaff reads; the others (`_OVERRIDES_NOTED`) are Plano features it lacks.
_OVERRIDES_READ = frozenset({"llm_routing_model", "orchestrator_model_context_length"})
_OVERRIDES_NOTED = frozenset(
    {
        "prompt_target_intent_matching_threshold",
        "optimize_context_window",
        "use_agent_orchestrator",
        "disable_signals",
        "upstream_connect_timeout",
        "upstream_tls_ca_path",
        "agent_orchestration_model",
    }
)


def parse_router(
    routing: Section,
    providers: tuple[Provider, ...],
    server: ServerSettings,
    env: Mapping[str, str],
    findings: Findings,
    raw_overrides: Mapping[str, Any],
) -> RouterSettings:
    """The router configured by the `routing` section, or by Plano's top-level `overrides`."""
    overrides = Section(raw_overrides, OVERRIDES, _OVERRIDES_READ | _OVERRIDES_NOTED)
    noted = sorted(key for key in overrides.data if key in _OVERRIDES_NOTED)
    if noted:
        findings.note(f"{OVERRIDES}: accepted for Plano compatibility; not used by brightstaff: {', '.join(noted)}")
    if "router" in routing:
        for key in ("model", "llm_provider"):
            if key in routing:
                findings.note(f"routing.{key}: ignored; routing.router configures the router")
        _shadowed(overrides, "routing.router", findings)
        return _parse_router_block(Section(routing.get("router"), PATH, _ROUTER_KEYS), server, env, findings)
    if "llm_provider" in routing:
        _shadowed(overrides, "routing.llm_provider", findings)
        return _plano_router(routing, providers, server, findings)
    if "model" in routing:
        findings.note(
            "routing.model: without routing.llm_provider naming the provider that serves it there is no router "
            "endpoint; the embedded router is used (or configure routing.router)"
        )
    if "llm_routing_model" in overrides:
        return _override_router(overrides, providers, server, findings)
    if "orchestrator_model_context_length" in overrides:
        findings.note(
            f"{overrides.where('orchestrator_model_context_length')}: applies to an LLM router only; "
            "the embedded router is used"
        )
    return _DEFAULT_ROUTER


def _shadowed(overrides: Section, by: str, findings: Findings) -> None:
    for key in sorted(_OVERRIDES_READ):
        if key in overrides:
            findings.note(f"{overrides.where(key)}: ignored; {by} configures the router")


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
    hint = routing.get("model")
    fmt = _guess_format(hint if isinstance(hint, str) and hint.strip() else provider.model)
    return _router_on_provider(provider, fmt, None, server, findings, "routing.llm_provider")


def _override_router(
    overrides: Section, providers: tuple[Provider, ...], server: ServerSettings, findings: Findings
) -> RouterSettings:
    # Plano 0.4: `llm_routing_model` names the router model, matched against the providers' names and model
    # ids; Plano calls its hosted Plano-Orchestrator when none serves it, brightstaff its embedded router.
    where = overrides.where("llm_routing_model")
    reference = overrides.string("llm_routing_model")
    provider = find_provider(reference, providers, where)
    if provider is None or provider.wildcard:
        findings.note(
            f"{where}: no model_providers entry serves {reference!r}, so there is no router endpoint; the "
            "embedded router is used (add a provider for it with the router's base_url)"
        )
        return _DEFAULT_ROUTER
    fmt = _guess_format(provider.model)
    context = overrides.integer("orchestrator_model_context_length", ROUTER_CONTEXT_TOKENS[fmt], 256, 1_000_000)
    return _router_on_provider(provider, fmt, context, server, findings, where)


def _router_on_provider(
    provider: Provider,
    fmt: RouterFormat,
    max_context_tokens: int | None,
    server: ServerSettings,
    findings: Findings,
    source: str,
) -> LlmRouterSettings:
    """An LLM router calling the endpoint (and key) of a model_providers entry; tunables take their defaults."""
    key = None
    if provider.access_key_source is not None:
        key = ResolvedSecret(provider.access_key, provider.access_key_source)
        if provider.access_key is None and provider.passthrough_auth:
            # The provider forwards its clients' keys; the router has no client to take one from.
            findings.unset_secrets.append(UnsetSecret(source, provider.access_key_source))
    return _llm_router(
        _NO_TUNABLES,
        base_url=provider.base_url,
        model=provider.model,
        fmt=fmt,
        key=key,
        server=server,
        source=source,
        max_context_tokens=max_context_tokens,
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
    max_context_tokens: int | None = None,
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
        max_context_tokens=max_context_tokens
        if max_context_tokens is not None
        else section.integer("max_context_tokens", ROUTER_CONTEXT_TOKENS[fmt], 256, 1_000_000),
        source=source,
    )
