"""`model_providers` (or its older name `llm_providers`): the models brightstaff routes between.

Invariants: names are unique; exactly one provider is the default (when none says so, the first that is not
a wildcard, with a note); every base_url passed the one URL validator, and one without a path gets the
API's usual path (the vendor's default, else /v1) as in Plano; `provider_interface` is a vendor Plano
knows. A wildcard (`vendor/*`) serves explicit `vendor/<model>` requests and may be the default, never a
route. Each provider carries its inline `routing_preferences` as written; `routes.py` merges them with
the top-level ones.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from brightstaff.config.fields import Findings, Section, did_you_mean, header_name, resolve_secret
from brightstaff.config.model import ConfigError, Provider, ProviderApi, UnsetSecret
from brightstaff.config.routes import read_preference
from brightstaff.core.headers import INTERNAL_HEADER_PREFIX
from brightstaff.providers.catalog import (
    CAVEATS,
    KNOWN_VENDORS,
    PASSTHROUGH_BY_DEFAULT,
    PROVIDER_INTERFACES,
    default_base_url,
)
from brightstaff.providers.credentials import CLIENT_CREDENTIAL_HEADERS

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
        "http_host",
        "headers",
        # Plano keys brightstaff does not act on: noted
        "usage",
        "cluster_name",
        "rate_limits",
    }
)
_NOTED_KEYS = {
    "usage": "not used by brightstaff",
    "cluster_name": "not used; brightstaff names its Envoy clusters itself",
    "rate_limits": "not enforced by brightstaff",
}
# Headers a provider's `headers` may not set: credentials (access_key and passthrough_auth own them),
# what Envoy frames itself, the Host (that is `http_host`); brightstaff's internal headers (by prefix) too.
_RESERVED_HEADERS = frozenset(
    {
        *CLIENT_CREDENTIAL_HEADERS,
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "upgrade",
    }
)
_CLUSTER_UNSAFE = re.compile(r"[^a-z0-9_.-]+")
_OPENAI_PATH = "/v1"  # where OpenAI-compatible servers (vLLM, Ollama, LiteLLM...) serve the API


def cluster_name(provider_name: str) -> str:
    return "provider_" + _CLUSTER_UNSAFE.sub("_", provider_name.lower())


def parse_providers(raw: Any, key: str, env: Mapping[str, str], findings: Findings) -> tuple[Provider, ...]:
    """The list under `key` ("model_providers" or "llm_providers"), checked as a whole."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError(
            key,
            "required: a non-empty list of providers (brightstaff routes between model providers; a config "
            "without any, such as one serving only prompt_targets, has nothing for it to serve)",
        )
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
        # A wildcard passes the client's model name through: the default only when nothing else can be.
        first = next((i for i, p in enumerate(providers) if not p.wildcard), 0)
        findings.note(f"{key}: no provider has default: true; {providers[first].name} is the default")
        providers[first] = dataclasses.replace(providers[first], default=True)
    return tuple(providers)


def parse_provider(raw: Any, path: str, env: Mapping[str, str], findings: Findings) -> Provider:
    section = Section(raw, path, _PROVIDER_KEYS)
    model_field = section.string("model")
    interface = _interface(section)
    if "/" in model_field:
        vendor, model = model_field.split("/", 1)
    elif interface is not None:
        vendor, model = interface, model_field
    else:
        raise ConfigError(
            section.where("model"), f"expected 'provider/model' such as 'openai/gpt-4o', got {model_field!r}"
        )
    vendor, model = vendor.strip().lower(), model.strip()
    if not model:
        raise ConfigError(section.where("model"), "the model name after the provider prefix is empty")

    # The vendor of the model prefix, else the interface it speaks (`custom/x` with `provider_interface: groq`).
    known = default_base_url(vendor) or (default_base_url(interface) if interface else None)
    if section.get("base_url") is not None:
        base_url = section.http_url("base_url")
        if not urlsplit(base_url).path:
            # As in Plano, a base_url without a path keeps the API's usual one: the vendor's, else /v1.
            base_url += urlsplit(known).path if known else _OPENAI_PATH
    else:
        if known is None:
            raise ConfigError(
                section.where("base_url"),
                f"required for provider '{vendor}' (known providers without base_url: {', '.join(KNOWN_VENDORS)})",
            )
        base_url = known
    kind = vendor if interface is None or default_base_url(vendor) else interface
    if kind in CAVEATS:
        findings.note(f"{section.where('model')}: {CAVEATS[kind]}")

    given_key = section.get("access_key")
    passthrough_default = kind in PASSTHROUGH_BY_DEFAULT and given_key is None
    passthrough = section.boolean("passthrough_auth", passthrough_default or Provider.passthrough_auth)
    if passthrough_default and "passthrough_auth" not in section:
        findings.note(
            f"{section.where('passthrough_auth')}: true for a {kind} provider without access_key (clients send "
            "their own credentials)"
        )
    key = findings.credential(
        given_key, section.where("access_key"), env, example="$OPENAI_API_KEY", passthrough=passthrough
    )

    prefs_raw = section.get("routing_preferences")
    prefs_raw = [] if prefs_raw is None else prefs_raw
    if not isinstance(prefs_raw, list):
        raise ConfigError(section.where("routing_preferences"), "expected a list")
    prefs = tuple(read_preference(p, f"{section.where('routing_preferences')}[{j}]") for j, p in enumerate(prefs_raw))
    for noted, why in _NOTED_KEYS.items():
        if noted in section:
            findings.note(f"{section.where(noted)}: accepted for Plano compatibility; {why}")

    name = section.string("name", default=f"{vendor}/{model}")
    return Provider(
        api=_backend_api(vendor, interface),
        name=name,
        vendor=vendor,
        model=model,
        base_url=base_url,
        cluster=cluster_name(name),
        access_key=key.secret if key else None,
        access_key_source=key.source if key else None,
        default=section.boolean("default", Provider.default),
        passthrough_auth=passthrough,
        routing_preferences=prefs,
        http_host=_http_host(section),
        headers=_headers(section, env, findings),
    )


# `provider_interface` values (and, without one, model prefixes) that mean Anthropic's native Messages API.
_ANTHROPIC_NATIVE = frozenset({"anthropic", "claude"})


def _backend_api(vendor: str, interface: str | None) -> ProviderApi:
    """The API brightstaff speaks to the provider: Anthropic's native Messages API for `anthropic/...` models
    (prompt caching, extended thinking), unless `provider_interface` names another (e.g. `openai` for
    Anthropic's OpenAI-compatible endpoint); the OpenAI API for everything else."""
    return "anthropic" if (interface or vendor) in _ANTHROPIC_NATIVE else "openai"


def _interface(section: Section) -> str | None:
    """`provider_interface`: a vendor name Plano knows (its schema's list, and the model prefixes it knows)."""
    if section.get("provider_interface") is None:
        return None
    value = section.string("provider_interface").lower()
    if value not in PROVIDER_INTERFACES:
        raise ConfigError(
            section.where("provider_interface"),
            f"unknown interface {value!r}{did_you_mean(value, PROVIDER_INTERFACES)}; "
            f"expected one of {', '.join(PROVIDER_INTERFACES)}",
        )
    return value


_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_]([A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?)(:[1-9][0-9]{0,4})?$")


def _http_host(section: Section) -> str | None:
    """`http_host`: the Host header upstream, a host name with an optional port."""
    if section.get("http_host") is None:
        return None
    value = section.string("http_host")
    match = _HOST.match(value)
    if match is None or (match.group(3) is not None and int(match.group(3)[1:]) > 65535):
        raise ConfigError(section.where("http_host"), f"expected a host name such as api.example.com, got {value!r}")
    return value


def _headers(section: Section, env: Mapping[str, str], findings: Findings) -> tuple[tuple[str, str], ...]:
    """`headers`: extra upstream request headers, set by Envoy's route for this provider. A `$VAR` value is
    read from the environment (an unset one is refused at start-up, like an access key)."""
    raw = section.get("headers")
    if raw is None:
        return ()
    base = section.where("headers")
    if not isinstance(raw, Mapping):
        raise ConfigError(base, "expected a mapping of header names to values")
    headers: dict[str, str] = {}
    for raw_name, raw_value in raw.items():
        where = f"{base}.{raw_name}"
        name = header_name(raw_name, where)
        if name in _RESERVED_HEADERS or name.startswith(INTERNAL_HEADER_PREFIX):
            why = "use access_key or passthrough_auth" if name in CLIENT_CREDENTIAL_HEADERS else "not settable here"
            if name == "host":
                why = "use http_host"
            raise ConfigError(where, f"{name} cannot be set through headers ({why})")
        if name in headers:
            raise ConfigError(where, f"{name} is given twice (header names ignore case)")
        if not isinstance(raw_value, str) or any(c in raw_value for c in "\r\n\0"):
            raise ConfigError(where, "expected a string without line breaks")
        value = raw_value
        if raw_value.strip().startswith("$"):
            resolved = resolve_secret(raw_value, where, env, expected="a header value")
            if resolved.secret is None:
                findings.unset_secrets.append(UnsetSecret(where, resolved.source))
                continue
            value = resolved.secret.reveal()
        headers[name] = value
    return tuple(headers.items())
