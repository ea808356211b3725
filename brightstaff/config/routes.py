"""Routes, from either config shape, onto one representation: each route on the provider that serves it.

Shapes
    v0.3  `model_providers[].routing_preferences: [{name, description}]`: the provider serves the route. A
          name declared under several providers is one route (as Plano's own migration merges it): the
          first provider serves it, the others are its fallbacks, the first description wins.
    v0.4  top-level `routing_preferences: [{name, description, models: [...], selection_policy}]`: `models`
          ranks configured providers; the first available serves the route, the rest are its fallbacks.
          "Available" is "configured" today: a model no provider serves is skipped with a note (Plano
          refuses it at start-up), and a route none of whose models is configured is an error.
    Both may appear; a top-level route wins over an inline one of the same name (noted).

Invariants: route names are unique; every route is served by a configured, non-wildcard provider; a
provider's `routing_preferences` end up holding the routes it serves, top-level ones first in the order
declared, then inline ones. `selection_policy.prefer: none` is honoured (the listed order); `cheapest`
and `fastest` need pricing or latency data brightstaff does not have: noted, the listed order stays.
`examples` (few-shot asks, a brightstaff extension Plano's schema does not know) is read in both shapes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from brightstaff.config.fields import Findings, Section
from brightstaff.config.model import SELECTION_POLICIES, ConfigError, Provider, RoutingPreference, SelectionPolicy
from brightstaff.config.references import find_provider, unknown_reference

PATH = "routing_preferences"
_INLINE_KEYS = frozenset({"name", "description", "examples"})
_TOP_LEVEL_KEYS = _INLINE_KEYS | {"models", "selection_policy"}
_POLICY_KEYS = frozenset({"prefer"})
_FIRST_V04 = (0, 4, 0)


def read_preference(raw: Any, path: str) -> RoutingPreference:
    """One inline (v0.3) preference: its name, description and examples."""
    return _preference(Section(raw, path, _INLINE_KEYS))


def _preference(entry: Section) -> RoutingPreference:
    return RoutingPreference(
        name=entry.string("name"), description=entry.string("description"), examples=entry.strings("examples")
    )


@dataclasses.dataclass
class _Route:
    preference: RoutingPreference
    models: list[str]  # configured provider names, best first
    where: str  # the field that declared it, for messages
    top_level: bool


def assign_routes(
    providers: tuple[Provider, ...], key: str, raw: Any, version: str, findings: Findings
) -> tuple[Provider, ...]:
    """The providers (listed under `key`) with every route, of both shapes, on the provider that serves it;
    `raw` is the top-level `routing_preferences` (None when absent)."""
    routes = _top_level(raw, providers, version, findings) if raw is not None else []
    declared = {r.preference.name: r for r in routes}
    for i, provider in enumerate(providers):
        for j, pref in enumerate(provider.routing_preferences):
            where = f"{key}[{i}].routing_preferences[{j}]"
            if provider.wildcard:
                raise ConfigError(
                    where, f"{provider.name} is a wildcard; a route needs a named model (Plano refuses it too)"
                )
            route = declared.get(pref.name)
            if route is None:
                declared[pref.name] = _Route(pref, [provider.name], where, top_level=False)
                routes.append(declared[pref.name])
            elif route.top_level:
                findings.note(f"{where}: {pref.name!r} is also declared in {route.where}, which wins")
            else:
                kept = "" if pref.description == route.preference.description else " (and its description)"
                findings.note(
                    f"{where}: {pref.name!r} is also declared at {route.where}: one route, served by "
                    f"{route.models[0]}{kept}, with {provider.name} as a fallback"
                )
                route.models.append(provider.name)
    served: dict[str, list[RoutingPreference]] = {p.name: [] for p in providers}
    for route in routes:
        first, *rest = route.models
        served[first].append(dataclasses.replace(route.preference, fallbacks=tuple(rest)))
    return tuple(dataclasses.replace(p, routing_preferences=tuple(served[p.name])) for p in providers)


def _top_level(raw: Any, providers: tuple[Provider, ...], version: str, findings: Findings) -> list[_Route]:
    if not isinstance(raw, list):
        raise ConfigError(PATH, "expected a list of routes ({name, description, models})")
    if _version(version) < _FIRST_V04:
        findings.note(f"{PATH}: Plano reads top-level routes from version v0.4.0 on (this config says {version})")
    routes: list[_Route] = []
    for i, item in enumerate(raw):
        entry = Section(item, f"{PATH}[{i}]", _TOP_LEVEL_KEYS)
        pref = dataclasses.replace(_preference(entry), prefer=_policy(entry, findings))
        if any(r.preference.name == pref.name for r in routes):
            raise ConfigError(entry.where("name"), f"duplicate route {pref.name!r}")
        models = _models(entry, providers, findings)
        routes.append(_Route(pref, models, entry.path, top_level=True))
    return routes


def _models(entry: Section, providers: Sequence[Provider], findings: Findings) -> list[str]:
    """The configured providers `models` names, in order, without repeats; a route needs at least one."""
    names: list[str] = []
    skipped: list[str] = []
    for k, reference in enumerate(entry.strings("models", required=True)):
        where = f"{entry.where('models')}[{k}]"
        provider = find_provider(reference, providers, where)
        if provider is None:
            findings.note(f"{where}: {unknown_reference(reference, providers)}; the route's other models serve it")
            skipped.append(reference)
        elif provider.wildcard:
            raise ConfigError(where, f"{provider.name} is a wildcard; a route needs a named model")
        elif provider.name not in names:
            names.append(provider.name)
    if not names:
        raise ConfigError(entry.where("models"), f"no configured provider serves any of {', '.join(skipped)}")
    return names


def _policy(entry: Section, findings: Findings) -> SelectionPolicy:
    if entry.get("selection_policy") is None:
        return RoutingPreference.prefer
    policy = Section(entry.get("selection_policy"), entry.where("selection_policy"), _POLICY_KEYS)
    prefer = policy.choice("prefer", RoutingPreference.prefer, SELECTION_POLICIES)
    if prefer != "none":
        data = "pricing" if prefer == "cheapest" else "latency"
        findings.note(
            f"{policy.where('prefer')}: {prefer} is not honoured: brightstaff has no {data} data (it does not "
            "read model_metrics_sources); the route's models keep their listed order"
        )
    return prefer


def _version(version: str) -> tuple[int, ...]:
    """`v0.4.0`, `0.2.0`, `0.1-beta` as a comparable tuple (unreadable parts count as 0)."""
    parts = version.strip().lstrip("vV").split("-", 1)[0].split(".")
    numbers = [int(p) if p.isdigit() else 0 for p in parts[:3]]
    return tuple(numbers + [0] * (3 - len(numbers)))
