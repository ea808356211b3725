"""`routing`: pin lifetime and scope, the pin store (`pin_store.py`), the router (`router.py`),
`route_on_user_only`, and where affinity ids come from (`affinity.py`).

Plano's `routing.session_cache.tenant_header` is read as `routing.tenant_header` (which wins when both are
given); `session_max_entries` with a Redis store is noted, since only the memory store uses it. Plano's
`routing_budget` (a per-session cost gate on model switches, fed by pricing data) is noted: brightstaff
has no pricing data, and under affinity a session keeps its model anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brightstaff.config import pin_store
from brightstaff.config.affinity import parse_affinity
from brightstaff.config.fields import Findings, Section, header_name
from brightstaff.config.model import TTL_MODES, Provider, RedisPinStoreSettings, RoutingSettings, ServerSettings
from brightstaff.config.router import parse_router

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
        # Plano's: acted on, and noted
        "route_on_user_only",
        "routing_budget",
        "affinity",
    }
)


def parse_routing(
    raw: Any,
    providers: tuple[Provider, ...],
    server: ServerSettings,
    env: Mapping[str, str],
    findings: Findings,
    overrides: Mapping[str, Any] | None = None,
) -> RoutingSettings:
    """`overrides` is Plano's top-level `overrides` (its router model keys configure the router)."""
    section = Section({} if raw is None else raw, "routing", _ROUTING_KEYS)
    if section.get("routing_budget") is not None:
        findings.note(
            "routing.routing_budget: accepted for Plano compatibility; not enforced: brightstaff has no pricing "
            "data, and with X-Model-Affinity a session never switches models"
        )
    cache = Section(section.data.get("session_cache", {}), pin_store.PATH, pin_store.KEYS)
    session_cache = pin_store.parse_pin_store(cache, env)
    if isinstance(session_cache, RedisPinStoreSettings) and "session_max_entries" in section:
        findings.note(
            "routing.session_max_entries: bounds the memory store only; with redis, bound memory with Redis's "
            "maxmemory and maxmemory-policy volatile-lru (see README, Shared pins on Redis)"
        )
    tenant: str | None = None
    if section.get("tenant_header") is not None:
        tenant = section.header_name("tenant_header")
    elif cache.get("tenant_header") is not None:
        tenant = header_name(cache.get("tenant_header"), cache.where("tenant_header"))
    return RoutingSettings(
        session_ttl_seconds=section.integer("session_ttl_seconds", RoutingSettings.session_ttl_seconds, 1, 30 * 86400),
        session_max_entries=section.integer("session_max_entries", RoutingSettings.session_max_entries, 1, 100_000_000),
        session_ttl_mode=section.choice("session_ttl_mode", RoutingSettings.session_ttl_mode, TTL_MODES),
        tenant_header=tenant,
        session_cache=session_cache,
        min_match_score=section.number("min_match_score", RoutingSettings.min_match_score, 0, 1),
        router=parse_router(section, providers, server, env, findings, overrides or {}),
        route_on_user_only=section.boolean("route_on_user_only", RoutingSettings.route_on_user_only),
        affinity=parse_affinity(section.get("affinity"), env, findings),
    )
