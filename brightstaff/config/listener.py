"""`listeners`: the one model listener Envoy serves.

Both of Plano's shapes are read: the list of typed listeners, and the older mapping whose `egress_traffic`
is the model listener. Listeners of other types (prompt, agent, the older `ingress_traffic`), and the
agent and filter-chain keys of a model listener, are Plano features brightstaff does not serve: noted,
never refused. Without a model listener brightstaff serves its default one, with a note.
"""

from __future__ import annotations

from typing import Any

from brightstaff.config.fields import Findings, Section
from brightstaff.config.model import ConfigError, Listener

PATH = "listeners"
_NOTED_KEYS = {
    "router": "brightstaff's router is configured under routing (routing.router)",
    "agents": "agents are a Plano feature brightstaff does not serve",
    "input_filters": "filter chains are a Plano feature brightstaff does not run",
    "output_filters": "filter chains are a Plano feature brightstaff does not run",
}
_LISTENER_KEYS = frozenset({"type", "name", "port", "address", "timeout", "max_retries", *_NOTED_KEYS})
_LEGACY_KEYS = frozenset({"ingress_traffic", "egress_traffic"})
_LEGACY_EGRESS_KEYS = frozenset({"address", "port", "timeout", "message_format"})
_LEGACY_NAME = "egress_traffic"  # Plano's name for the model listener of the older shape
_MAX_RETRIES = 100


def parse_listener(raw: Any, findings: Findings) -> Listener:
    if raw is None:
        return Listener()
    if isinstance(raw, dict):
        return _legacy(Section(raw, PATH, _LEGACY_KEYS), findings)
    if not isinstance(raw, list):
        raise ConfigError(PATH, "expected a list of listeners")
    chosen: Listener | None = None
    for i, item in enumerate(raw):
        section = Section(item, f"{PATH}[{i}]", _LISTENER_KEYS)
        kind = section.data.get("type", "model")
        if kind != "model":
            findings.note(f"{section.path}: listener type {kind!r} is not served by brightstaff (only 'model')")
            continue
        if chosen is not None:
            raise ConfigError(section.path, "only one listener of type 'model' is supported")
        for key, why in _NOTED_KEYS.items():
            if key in section:
                findings.note(f"{section.where(key)}: accepted for Plano compatibility; {why}")
        chosen = _model_listener(section, section.string("name", Listener.name))
    if chosen is None:
        chosen = Listener()
        findings.note(
            f"{PATH}: no listener of type 'model'; brightstaff serves its own on {chosen.address}:{chosen.port}"
        )
    return chosen


def _model_listener(section: Section, name: str) -> Listener:
    return Listener(
        name=name,
        address=section.string("address", Listener.address),
        port=section.integer("port", Listener.port, 1, 65535),
        timeout_seconds=section.duration_seconds("timeout", Listener.timeout_seconds),
        max_retries=section.integer("max_retries", Listener.max_retries, 0, _MAX_RETRIES),
    )


def _legacy(section: Section, findings: Findings) -> Listener:
    """Plano's older mapping: `egress_traffic` is the model listener, `ingress_traffic` the prompt one."""
    if section.get("ingress_traffic") is not None:
        findings.note(f"{section.where('ingress_traffic')}: the prompt listener is not served by brightstaff")
    egress = Section(section.get("egress_traffic") or {}, section.where("egress_traffic"), _LEGACY_EGRESS_KEYS)
    if "message_format" in egress:
        egress.choice("message_format", "openai", ("openai",))
    return _model_listener(egress, _LEGACY_NAME)
