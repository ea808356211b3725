"""`model_providers` (or its older name `llm_providers`): the models brightstaff routes between.

Invariants: names are unique, exactly one provider is the default (the first one when none says so, with
a note), a routing preference belongs to one provider, and every base_url passed the one URL validator.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from brightstaff.config.fields import Findings, Section
from brightstaff.config.model import ConfigError, Provider, RoutingPreference
from brightstaff.providers.catalog import KNOWN_VENDORS, default_base_url

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
_PREFERENCE_KEYS = frozenset({"name", "description", "examples"})
_CLUSTER_UNSAFE = re.compile(r"[^a-z0-9_.-]+")


def cluster_name(provider_name: str) -> str:
    return "provider_" + _CLUSTER_UNSAFE.sub("_", provider_name.lower())


def parse_providers(raw: Any, key: str, env: Mapping[str, str], findings: Findings) -> tuple[Provider, ...]:
    """The list under `key` ("model_providers" or "llm_providers"), checked as a whole."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError(key, "required: a non-empty list of providers")
    providers = [parse_provider(p, f"{key}[{i}]", env, findings) for i, p in enumerate(raw)]

    seen: dict[str, int] = {}
    for i, p in enumerate(providers):
        if p.name in seen:
            raise ConfigError(f"{key}[{i}].model", f"duplicate provider {p.name!r} (also {key}[{seen[p.name]}])")
        seen[p.name] = i
    defaults = [i for i, p in enumerate(providers) if p.default]
    if len(defaults) > 1:
        raise ConfigError(f"{key}[{defaults[1]}].default", "only one provider may be the default")
    if not defaults:
        findings.note(f"{key}: no provider has default: true; {providers[0].name} is the default")
        providers[0] = dataclasses.replace(providers[0], default=True)
    pref_owner: dict[str, str] = {}
    for i, p in enumerate(providers):
        for j, pref in enumerate(p.routing_preferences):
            if pref.name in pref_owner:
                raise ConfigError(
                    f"{key}[{i}].routing_preferences[{j}].name",
                    f"preference {pref.name!r} is already routed to {pref_owner[pref.name]}",
                )
            pref_owner[pref.name] = p.name
    return tuple(providers)


def parse_provider(raw: Any, path: str, env: Mapping[str, str], findings: Findings) -> Provider:
    section = Section(raw, path, _PROVIDER_KEYS)
    model_field = section.string("model")
    vendor_given = section.get("provider_interface")
    if "/" in model_field:
        vendor, model = model_field.split("/", 1)
    elif isinstance(vendor_given, str):
        vendor, model = vendor_given, model_field
    else:
        raise ConfigError(
            section.where("model"), f"expected 'provider/model' such as 'openai/gpt-4o', got {model_field!r}"
        )
    vendor, model = vendor.strip().lower(), model.strip()
    if not model:
        raise ConfigError(section.where("model"), "the model name after the provider prefix is empty")

    if section.get("base_url") is not None:
        base_url = section.http_url("base_url")
    else:
        known = default_base_url(vendor)
        if known is None:
            raise ConfigError(
                section.where("base_url"),
                f"required for provider '{vendor}' (known providers without base_url: {', '.join(KNOWN_VENDORS)})",
            )
        base_url = known

    passthrough = section.boolean("passthrough_auth", Provider.passthrough_auth)
    key = findings.credential(
        section.get("access_key"), section.where("access_key"), env, example="$OPENAI_API_KEY", passthrough=passthrough
    )

    prefs_raw = section.data.get("routing_preferences", [])
    if not isinstance(prefs_raw, list):
        raise ConfigError(section.where("routing_preferences"), "expected a list")
    prefs = []
    for j, pref in enumerate(prefs_raw):
        entry = Section(pref, f"{section.where('routing_preferences')}[{j}]", _PREFERENCE_KEYS)
        examples = entry.data.get("examples", [])
        if not isinstance(examples, list) or not all(isinstance(e, str) and e.strip() for e in examples):
            raise ConfigError(entry.where("examples"), "expected a list of non-empty strings")
        prefs.append(
            RoutingPreference(
                name=entry.string("name"),
                description=entry.string("description"),
                examples=tuple(e.strip() for e in examples),
            )
        )

    name = section.string("name", default=f"{vendor}/{model}")
    return Provider(
        name=name,
        vendor=vendor,
        model=model,
        base_url=base_url,
        cluster=cluster_name(name),
        access_key=key.secret if key else None,
        access_key_source=key.source if key else None,
        default=section.boolean("default", Provider.default),
        passthrough_auth=passthrough,
        routing_preferences=tuple(prefs),
    )
