"""`listeners`: the one model listener Envoy serves; listeners of other Plano types are noted and skipped."""

from __future__ import annotations

from typing import Any

from brightstaff.config.fields import Findings, Section
from brightstaff.config.model import ConfigError, Listener

_LISTENER_KEYS = frozenset({"type", "name", "port", "address", "timeout", "router"})


def parse_listener(raw: Any, findings: Findings) -> Listener:
    if raw is None:
        return Listener()
    if not isinstance(raw, list) or not raw:
        raise ConfigError("listeners", "expected a non-empty list")
    chosen: Listener | None = None
    for i, item in enumerate(raw):
        section = Section(item, f"listeners[{i}]", _LISTENER_KEYS)
        kind = section.data.get("type", "model")
        if kind != "model":
            findings.note(f"{section.path}: listener type {kind!r} is not served by brightstaff (only 'model')")
            continue
        if chosen is not None:
            raise ConfigError(section.path, "only one listener of type 'model' is supported")
        chosen = Listener(
            name=section.string("name", Listener.name),
            address=section.string("address", Listener.address),
            port=section.integer("port", Listener.port, 1, 65535),
            timeout_seconds=section.duration_seconds("timeout", Listener.timeout_seconds),
        )
    if chosen is None:
        raise ConfigError("listeners", "no listener of type 'model'")
    return chosen
