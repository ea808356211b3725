"""brightstaff's config: a Plano-compatible config.yaml, validated into frozen dataclasses.

Modules
    model       the dataclasses and their defaults, `Secret`, `ConfigError` (a leaf: standard library only)
    fields      the field readers every section shares (secrets, URLs, choices, numbers, unknown keys)
    providers   `model_providers`
    references  names elsewhere in the config that stand for a provider
    routes      routes of both shapes (inline v0.3, top-level v0.4 `routing_preferences`) onto one
    aliases     `model_aliases`
    listener    `listeners`
    pin_store   `routing.session_cache`
    router      `routing.router`, Plano's `routing.llm_provider` / `routing.model` and `overrides`
    affinity    `routing.affinity` (where affinity ids come from, the provider cache key)
    routing     the rest of `routing`
    server      `brightstaff`
    tracing     Plano's `tracing` (a span per decision over OTLP/gRPC)
    load        the top level: `parse_config`, `load_config`, `require_secrets`

This module re-exports the public names, so `from brightstaff.config import Config` keeps working. The
parsing side (`parse_config`, `load_config`, ...) is imported on first use, so that importing the leaf
`brightstaff.config.model` (which runs this module first) loads neither yaml nor the parsers.
"""

import importlib
from typing import TYPE_CHECKING, Any

from brightstaff.config.model import (
    DEFAULT_PIN_KEY_PREFIX,
    ROUTER_CONTEXT_TOKENS,
    ROUTER_FORMATS,
    AffinitySettings,
    Config,
    ConfigError,
    EmbeddedRouterSettings,
    FailureMode,
    Listener,
    LlmRouterSettings,
    MemoryPinStoreSettings,
    PinStoreSettings,
    Provider,
    ProviderApi,
    RedisPinStoreSettings,
    RedisTLS,
    Route,
    RouterFormat,
    RouterSettings,
    RoutingPreference,
    RoutingSettings,
    Secret,
    SelectionPolicy,
    ServerSettings,
    TracingSettings,
    Transport,
    TtlMode,
    UnsetSecret,
    routes_of,
)

if TYPE_CHECKING:
    from brightstaff.config.load import PLANO_ONLY_KEYS, load_config, parse_config, require_secrets
    from brightstaff.config.router import ROUTER_TIMEOUT_HEADROOM_MS

# name -> the module of this package that defines it, imported when the name is first looked up
_PARSING_SIDE = {
    "PLANO_ONLY_KEYS": "load",
    "load_config": "load",
    "parse_config": "load",
    "require_secrets": "load",
    "ROUTER_TIMEOUT_HEADROOM_MS": "router",
}


def __getattr__(name: str) -> Any:
    module = _PARSING_SIDE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "DEFAULT_PIN_KEY_PREFIX",
    "PLANO_ONLY_KEYS",
    "ROUTER_CONTEXT_TOKENS",
    "ROUTER_FORMATS",
    "ROUTER_TIMEOUT_HEADROOM_MS",
    "AffinitySettings",
    "Config",
    "ConfigError",
    "EmbeddedRouterSettings",
    "FailureMode",
    "Listener",
    "LlmRouterSettings",
    "MemoryPinStoreSettings",
    "PinStoreSettings",
    "Provider",
    "ProviderApi",
    "RedisPinStoreSettings",
    "RedisTLS",
    "Route",
    "RouterFormat",
    "RouterSettings",
    "RoutingPreference",
    "RoutingSettings",
    "Secret",
    "SelectionPolicy",
    "ServerSettings",
    "TracingSettings",
    "Transport",
    "TtlMode",
    "UnsetSecret",
    "load_config",
    "parse_config",
    "require_secrets",
    "routes_of",
]
