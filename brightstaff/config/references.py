"""Names elsewhere in the config that stand for a configured provider: v0.4 `routing_preferences[].models`,
`model_aliases` targets, `overrides.llm_routing_model`.

A reference matches as in Plano: a provider's name (`openai/gpt-4o`, or its own `name:`), then its
`vendor/model`, then its bare model id (`gpt-4o`) when exactly one provider serves that id. A bare id served
by several providers is an error naming them; a reference to nothing is for the caller to refuse or note,
with `unknown_reference` saying so with a "did you mean" hint.
"""

from __future__ import annotations

from collections.abc import Sequence

from brightstaff.config.fields import did_you_mean
from brightstaff.config.model import ConfigError, Provider


def find_provider(reference: str, providers: Sequence[Provider], where: str) -> Provider | None:
    for p in providers:
        if p.name == reference:
            return p
    for p in providers:
        if f"{p.vendor}/{p.model}" == reference:
            return p
    serving = [p for p in providers if p.model == reference and not p.wildcard]
    if len(serving) > 1:
        names = ", ".join(p.name for p in serving)
        raise ConfigError(where, f"{reference!r} is served by several providers ({names}); name one of them")
    return serving[0] if serving else None


def unknown_reference(reference: str, providers: Sequence[Provider]) -> str:
    """The message for a reference that names no configured provider."""
    known = {p.name for p in providers} | {p.model for p in providers if not p.wildcard}
    return f"{reference!r} names no configured provider{did_you_mean(reference, known)}"
