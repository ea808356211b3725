"""The facts of Plano's config schema that brightstaff relies on, written down as a small JSON schema of our own.

Why not Plano's file: what we ship, we wrote, so the repository does not carry katanemo/plano's
`config/plano_config_schema.yaml`, and tests do not fetch it (they run offline). These facts were read from
it at Plano release 0.4.36 (commit 003c36ae) and restate only what brightstaff parses or notes: the keys each
section allows (`additionalProperties: false` where Plano has it, so a test config using a key Plano does
not know fails here), the v0.4 route shape, aliases, the listener shapes, the provider enum. Sections
brightstaff only notes are typed, not described. Every test config in `plano_shapes/` validates against
these facts (tests/config/test_plano_shapes.py) and was also validated, by hand, against Plano's own file.
"""

from __future__ import annotations

from typing import Any

_STR = {"type": "string"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_STRINGS = {"type": "array", "items": _STR}


def _closed(properties: dict[str, Any], *required: str) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


# Plano's `provider_interface` enum (the current list; `claude` was dropped from it in 0.4.x).
PROVIDER_INTERFACES = [
    "plano",
    "deepseek",
    "groq",
    "mistral",
    "openai",
    "xiaomi",
    "gemini",
    "chatgpt",
    "digitalocean",
    "vercel",
    "openrouter",
    "edenai",
    "moonshotai",
]

_INLINE_PREFERENCE = _closed({"name": _STR, "description": _STR}, "name", "description")
_PROVIDER = _closed(
    {
        "name": _STR,
        "model": _STR,
        "access_key": _STR,
        "default": _BOOL,
        "base_url": _STR,
        "passthrough_auth": _BOOL,
        "http_host": _STR,
        "provider_interface": {"enum": PROVIDER_INTERFACES},
        "headers": {"type": "object", "additionalProperties": _STR},
        "routing_preferences": {"type": "array", "items": _INLINE_PREFERENCE},
    },
    "model",
)
_PROVIDERS = {"type": "array", "items": _PROVIDER}

_LISTENER = _closed(
    {
        "type": {"enum": ["model", "prompt", "agent"]},
        "name": _STR,
        "port": _INT,
        "address": _STR,
        "timeout": _STR,
        "max_retries": _INT,
        "router": {"enum": ["plano_orchestrator_v1"]},
        "agents": {"type": "array", "items": {"type": "object", "required": ["id", "description"]}},
        "input_filters": _STRINGS,
        "output_filters": _STRINGS,
    },
    "type",
    "name",
)
_LEGACY_TRAFFIC = _closed(
    {"address": _STR, "port": _INT, "message_format": {"enum": ["openai"]}, "timeout": _STR},
)
_LISTENERS = {
    "oneOf": [
        {"type": "array", "items": _LISTENER},
        _closed({"ingress_traffic": _LEGACY_TRAFFIC, "egress_traffic": _LEGACY_TRAFFIC}),
    ]
}

# v0.4: routes at the top level ranking configured models.
_ROUTE = _closed(
    {
        "name": _STR,
        "description": _STR,
        "models": {"type": "array", "items": _STR, "minItems": 1},
        "selection_policy": _closed({"prefer": {"enum": ["cheapest", "fastest", "none"]}}, "prefer"),
    },
    "name",
    "description",
    "models",
)

_ROUTING = _closed(
    {
        "llm_provider": _STR,
        "model": _STR,
        "session_ttl_seconds": {"type": "integer", "minimum": 1},
        "session_max_entries": {"type": "integer", "minimum": 1, "maximum": 10000},
        "session_cache": _closed({"type": {"enum": ["memory", "redis"]}, "url": _STR, "tenant_header": _STR}),
        "routing_budget": {"type": "object", "required": ["max_switch_spend_pct"]},
        "route_on_user_only": _BOOL,
    }
)

_METRICS_SOURCE = {
    "oneOf": [
        _closed(
            {
                "type": {"const": "cost"},
                "provider": {"enum": ["digitalocean", "models.dev"]},
                "url": _STR,
                "refresh_interval": _INT,
                "model_aliases": {"type": "object", "additionalProperties": _STR},
            },
            "type",
            "provider",
        ),
        _closed(
            {
                "type": {"const": "latency"},
                "provider": {"enum": ["prometheus"]},
                "url": _STR,
                "query": _STR,
                "refresh_interval": _INT,
            },
            "type",
            "provider",
            "url",
            "query",
        ),
    ]
}

_OVERRIDES = _closed(
    {
        "prompt_target_intent_matching_threshold": {"type": "number"},
        "optimize_context_window": _BOOL,
        "use_agent_orchestrator": _BOOL,
        "disable_signals": _BOOL,
        "upstream_connect_timeout": _STR,
        "upstream_tls_ca_path": _STR,
        "llm_routing_model": _STR,
        "agent_orchestration_model": _STR,
        "orchestrator_model_context_length": _INT,
    }
)

_OBJECT = {"type": "object"}
_ARRAY = {"type": "array"}

PLANO_SCHEMA_FACTS: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    **_closed(
        {
            "version": {"enum": ["v0.1", "v0.1.0", "0.1-beta", "0.2.0", "v0.3.0", "v0.4.0"]},
            "listeners": _LISTENERS,
            "model_providers": _PROVIDERS,
            "llm_providers": _PROVIDERS,
            "routing_preferences": {"type": "array", "items": _ROUTE},
            "model_aliases": {"type": "object", "additionalProperties": _closed({"target": _STR}, "target")},
            "routing": _ROUTING,
            "model_metrics_sources": {"type": "array", "items": _METRICS_SOURCE},
            "overrides": _OVERRIDES,
            # Plano features brightstaff notes without reading them
            "agents": _ARRAY,
            "filters": _ARRAY,
            "endpoints": _OBJECT,
            "prompt_targets": _ARRAY,
            "prompt_guards": _OBJECT,
            "prompt_caching": _OBJECT,
            "ratelimits": _ARRAY,
            "tracing": _OBJECT,
            "state_storage": _OBJECT,
            "system_prompt": _STR,
            "mode": {"enum": ["llm", "prompt"]},
        },
        "version",
        "listeners",
    ),
}
