"""`routing.affinity`: where affinity ids come from (`sources`), how subagents pin, and the provider cache key.

Invariants: `sources` is a non-empty list of distinct known sources (`AFFINITY_SOURCES`); without the
section brightstaff reads the configured header only, as before. `cache_key_salt` is a secret (`$VAR`):
one naming an unset variable is refused at start-up like an unset access key; it is only meaningful with
`provider_cache_key: true`, so giving it alone is noted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brightstaff.config.fields import Findings, Section
from brightstaff.config.model import AFFINITY_SOURCES, SUBAGENT_PINNING, AffinitySettings, ConfigError

PATH = "routing.affinity"
KEYS = frozenset({"sources", "subagents", "provider_cache_key", "cache_key_salt"})


def parse_affinity(raw: Any, env: Mapping[str, str], findings: Findings) -> AffinitySettings:
    section = Section({} if raw is None else raw, PATH, KEYS)
    defaults = AffinitySettings
    sources = defaults.sources
    if "sources" in section:
        listed = section.get("sources")
        where = section.where("sources")
        if not isinstance(listed, list) or not listed:
            raise ConfigError(where, f"expected a non-empty list of: {', '.join(AFFINITY_SOURCES)}")
        chosen = []
        for i, name in enumerate(listed):
            source = next((s for s in AFFINITY_SOURCES if s == name), None)
            if source is None:
                raise ConfigError(f"{where}[{i}]", f"expected one of {', '.join(AFFINITY_SOURCES)}, got {name!r}")
            if source in chosen:
                raise ConfigError(f"{where}[{i}]", f"{name!r} is listed twice")
            chosen.append(source)
        sources = tuple(chosen)
    provider_cache_key = section.boolean("provider_cache_key", defaults.provider_cache_key)
    salt = findings.credential(
        section.get("cache_key_salt"), section.where("cache_key_salt"), env, example="$BRIGHTSTAFF_CACHE_KEY_SALT"
    )
    if salt is not None and not provider_cache_key:
        findings.note(
            f"{section.where('cache_key_salt')}: used only with provider_cache_key: true (and, with tracing, to "
            "hash gen_ai.conversation.id)"
        )
    return AffinitySettings(
        sources=sources,
        subagents=section.choice("subagents", defaults.subagents, SUBAGENT_PINNING),
        provider_cache_key=provider_cache_key,
        cache_key_salt=salt.secret if salt is not None else None,
    )
