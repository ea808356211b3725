"""`model_aliases`: model names a client may ask for that stand for a configured provider.

`{alias: {target: <provider name or model id>}}`, the target matched as `references.py` says. A request
whose `model` is an alias goes to its target like an explicit `provider/model` (core.decision.explicit):
unrouted, unpinned. Invariants: every alias names a configured, non-wildcard provider (a target naming
none is an error, as in Plano); an alias spelled like a provider's name wins over it, with a note.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from brightstaff.config.fields import Findings, Section, expect_mapping
from brightstaff.config.model import ConfigError, Provider
from brightstaff.config.references import find_provider, unknown_reference

PATH = "model_aliases"
_ALIAS_KEYS = frozenset({"target"})


def parse_aliases(raw: Any, providers: tuple[Provider, ...], findings: Findings) -> Mapping[str, str]:
    """alias -> the name of the provider it stands for (read-only)."""
    if raw is None:
        return MappingProxyType({})
    aliases: dict[str, str] = {}
    for alias, item in expect_mapping(raw, PATH).items():
        where = f"{PATH}.{alias}"
        if not isinstance(alias, str) or not alias.strip() or alias != alias.strip():
            raise ConfigError(where, "an alias is a model name: non-empty, without surrounding spaces")
        entry = Section(item, where, _ALIAS_KEYS)
        target = entry.string("target")
        provider = find_provider(target, providers, entry.where("target"))
        if provider is None:
            raise ConfigError(entry.where("target"), unknown_reference(target, providers))
        if provider.wildcard:
            raise ConfigError(entry.where("target"), f"{provider.name} is a wildcard; an alias needs a named model")
        if alias != provider.name and any(p.name == alias for p in providers):
            findings.note(f"{where}: requests for {alias} go to {provider.name}, not to the provider named {alias}")
        aliases[alias] = provider.name
    return MappingProxyType(aliases)
