"""Read a Plano-compatible config.yaml into a `Config`: the top-level keys, Plano-only keys, YAML, files.

Invariants
    - A `Config` that exists is valid: nothing downstream re-checks shapes. Every error is a `ConfigError`
      naming its field path (`model_providers[1].model`); a typo gets a "did you mean" hint.
    - Keys Plano accepts that brightstaff does not act on are tolerated with a note, never an error; the
      note says what the key is for where brightstaff has something close (`PLANO_ONLY_KEYS`).
    - `parse_config` does no I/O: the environment is a mapping handed in (tests pass a plain dict). An
      access key naming an unset variable does not stop parsing: it is listed in `Config.unset_secrets`,
      and `require_secrets` (called by serve, up, demo --config and check-config) refuses it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from brightstaff.config.aliases import parse_aliases
from brightstaff.config.fields import INLINE, Findings, check_keys, expect_mapping
from brightstaff.config.listener import parse_listener
from brightstaff.config.model import Config, ConfigError, Provider
from brightstaff.config.providers import parse_providers
from brightstaff.config.routes import assign_routes
from brightstaff.config.routing import parse_routing
from brightstaff.config.server import parse_server
from brightstaff.config.tracing import parse_tracing

_UNUSED = "accepted for Plano compatibility; brightstaff does not use it"
# Top-level keys Plano accepts that brightstaff does not act on -> the note check-config shows for each.
_PLANO_ONLY_NOTES: dict[str, str] = {
    "endpoints": f"{_UNUSED} (prompt targets' and agents' upstreams)",
    "prompt_targets": f"{_UNUSED} (brightstaff serves the model listener only)",
    "prompt_guards": _UNUSED,
    "system_prompt": f"{_UNUSED}; requests keep their own system messages",
    "ratelimits": f"{_UNUSED}; limits are not enforced",
    "agents": f"{_UNUSED} (agent orchestration is a Plano feature)",
    "filters": f"{_UNUSED} (filter chains are a Plano feature)",
    "mode": _UNUSED,
    "state_storage": f"{_UNUSED} (conversation state of the Responses API)",
    "prompt_caching": f"{_UNUSED}; X-Model-Affinity keeps a session on one model, which keeps provider caches warm",
    "model_metrics_sources": (
        f"{_UNUSED}: no pricing or latency data is fetched, so selection_policy cheapest/fastest and "
        "routing.routing_budget are not honoured"
    ),
}
PLANO_ONLY_KEYS = frozenset(_PLANO_ONLY_NOTES)
OUR_TOP_LEVEL_KEYS = frozenset(
    {
        "version",
        "listeners",
        "model_providers",
        "llm_providers",
        "routing",
        "brightstaff",
        # Plano's, acted on: routes, aliases, the router model (overrides.llm_routing_model)
        "routing_preferences",
        "model_aliases",
        "overrides",
        "tracing",  # Plano's, acted on: a span per decision over OTLP/gRPC (config/tracing.py)
    }
)
DEFAULT_VERSION = "v0.3.0"


def parse_config(data: Any, env: Mapping[str, str]) -> Config:
    """Validate an already-parsed YAML document. `env` resolves `$VAR` credentials."""
    top = expect_mapping(data, "")
    findings = Findings()
    for key in top:
        if key in PLANO_ONLY_KEYS:
            findings.note(f"{key}: {_PLANO_ONLY_NOTES[key]}")
    check_keys(top, OUR_TOP_LEVEL_KEYS | PLANO_ONLY_KEYS, "")
    if "model_providers" in top and "llm_providers" in top:
        raise ConfigError("llm_providers", "give either model_providers or its older name llm_providers, not both")
    version = str(top.get("version", DEFAULT_VERSION))
    key = "model_providers" if "model_providers" in top else "llm_providers"
    providers = parse_providers(top.get(key), key, env, findings)
    providers = assign_routes(providers, key, top.get("routing_preferences"), version, findings)
    listener = parse_listener(top.get("listeners"), findings)
    server = parse_server(top.get("brightstaff"))
    if server.failure_mode == "open":
        _check_fail_open(providers, key)
    overrides = expect_mapping(top.get("overrides") or {}, "overrides")
    routing = parse_routing(top.get("routing"), providers, server, env, findings, overrides)
    aliases = parse_aliases(top.get("model_aliases"), providers, findings)
    tracing = parse_tracing(top.get("tracing"), env, findings)
    return Config(
        version=version,
        listener=listener,
        providers=providers,
        routing=routing,
        server=server,
        notes=tuple(findings.notes),
        unset_secrets=tuple(findings.unset_secrets),
        aliases=aliases,
        tracing=tracing,
    )


def _check_fail_open(providers: tuple[Provider, ...], key: str) -> None:
    """With `failure_mode: open`, Envoy itself sends the default provider's key when brightstaff is bypassed:
    it must read it from an environment variable (`$VAR`), since a key is never written into its config."""
    index, default = next((i, p) for i, p in enumerate(providers) if p.default)
    if default.access_key_source == INLINE and not default.passthrough_auth:
        raise ConfigError(
            f"{key}[{index}].access_key",
            "brightstaff.failure_mode: open needs the default provider's key as an environment variable "
            "reference (such as $OPENAI_API_KEY): Envoy injects it when brightstaff is bypassed, and a key "
            "is never written into Envoy's config (or use failure_mode: closed)",
        )


def require_secrets(config: Config) -> None:
    """Refuse a config whose access keys name unset environment variables: requests would go out without
    credentials. The error names the first such field and lists the others."""
    if not config.unset_secrets:
        return
    first, *others = config.unset_secrets
    also = f" (also {', '.join(str(u) for u in others)})" if others else ""
    raise ConfigError(
        first.path,
        f"{first.source} is not set in the environment{also}; requests would go out without credentials "
        "(set it, or give the provider passthrough_auth: true to forward the clients' own keys)",
    )


def read_yaml(path: str | Path) -> Any:
    """The YAML document in a file; a missing file or bad YAML is a ConfigError saying where."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("", f"cannot read {path}: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError("", f"{path} is not valid YAML{where}") from None


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config file; `env` defaults to the process environment."""
    return parse_config(read_yaml(path), os.environ if env is None else env)
