"""Field readers shared by every config section; each error they raise names the field path.

Invariants
    - One of each: `resolve_secret` (`$VAR`, `${VAR}` or a literal), `http_url` (every http(s) base URL),
      `Section.choice` (a value of a `Literal` kind, returned typed as that kind), and one reader each for
      integers, numbers, booleans, strings, durations and header names.
    - An unknown key is an error naming it, with the closest allowed key as a "did you mean" hint
      (`did_you_mean`, also used for values that name something: a provider, a vendor).
    - Defaults are never stated here: callers pass the dataclass's own (`ServerSettings.grpc_port`).
    - No I/O: the environment is a mapping handed in by the caller.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import SplitResult, urlsplit

from brightstaff.config.model import ConfigError, Secret, UnsetSecret

T = TypeVar("T")


def join(path: str, key: str) -> str:
    """The path of `key` inside the section at `path` ("" is the top level)."""
    return f"{path}.{key}" if path else key


def expect_mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(path, f"expected a mapping, got {type(value).__name__}")
    return value


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """The hint ` (did you mean 'x'?)` for the closest candidate, or an empty string when none is close."""
    hint = difflib.get_close_matches(word, sorted(candidates), n=1)
    return f" (did you mean '{hint[0]}'?)" if hint else ""


def check_keys(data: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    for key in data:
        if key not in allowed:
            suggestion = did_you_mean(str(key), allowed)
            raise ConfigError(join(path, str(key)), f"unknown key{suggestion}; allowed: {', '.join(sorted(allowed))}")


# --------------------------------------------------------------------------------------------------
# Values, each checked where it stands (`where` is its field path).


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")


def duration_seconds(value: Any, where: str) -> float:
    """A number of seconds, or a string such as `30s`, `500ms`, `5m`; positive."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ConfigError(where, f"expected a duration such as 30s or 500ms, got {value!r}")
        number, unit = float(match.group(1)), match.group(2) or "s"
        seconds = number / 1000 if unit == "ms" else number * 60 if unit == "m" else number
    if seconds <= 0:
        raise ConfigError(where, "must be positive")
    return seconds


_HEADER_NAME = re.compile(r"^[a-z0-9!#$%&'*+.^_`|~-]+$")


def header_name(value: Any, where: str) -> str:
    """An HTTP header name (RFC 9110 token), lowercased."""
    lowered = value.lower() if isinstance(value, str) else ""
    if not _HEADER_NAME.match(lowered):
        raise ConfigError(where, f"not a valid HTTP header name: {value!r}")
    return lowered


# A host name's label as Envoy's socket_address and a TLS SNI take it: letters, digits and inner dashes (and
# the underscores of container and service names). IP literals are checked by `ipaddress`.
_HOST_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


def http_url(value: Any, where: str) -> str:
    """An http(s) base URL without credentials, query or fragment, with a valid host and port (1-65535),
    returned without its trailing slash. The one validator of provider and router base URLs."""
    example = "an http(s) URL such as https://api.example.com/v1"
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(where, f"expected {example}")
    url = value.strip()
    if any(c.isspace() or not c.isprintable() for c in url):
        raise ConfigError(where, f"must not contain spaces or control characters, got {url!r}")
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket
        raise ConfigError(where, f"expected {example}, got {url!r}") from None
    if "@" in parts.netloc:
        # Not echoed: the part before the @ is a password. Envoy would send it nowhere anyway.
        raise ConfigError(where, "must not carry credentials (user:password@); use access_key")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(where, f"expected {example}, got {url!r}")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ConfigError(where, "must not carry a query or fragment")
    check_port(parts, where, url)
    if not _valid_host(parts.hostname):
        raise ConfigError(where, f"not a valid host name: {parts.hostname!r}")
    return url.rstrip("/")


def check_port(parts: SplitResult, where: str, shown: str) -> None:
    """The URL's port, when given, is a number from 1 to 65535 (`:0`, `:70000` and `:1:2` are not)."""
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ConfigError(where, f"the port is not a number between 1 and 65535 in {shown!r}")


def _valid_host(host: str) -> bool:
    if ":" in host:  # an IPv6 literal (urlsplit dropped its brackets)
        try:
            return ipaddress.ip_address(host).version == 6
        except ValueError:
            return False
    return all(_HOST_LABEL.match(label) for label in host.split("."))


_ENV_REF = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
INLINE = "(inline value)"


@dataclass(frozen=True)
class ResolvedSecret:
    """A secret field after resolution: `secret` is None when it names a variable that is not set."""

    secret: Secret | None
    source: str  # "$NAME" as written (braces dropped), or "(inline value)"


def resolve_secret(raw: Any, where: str, env: Mapping[str, str], *, expected: str) -> ResolvedSecret:
    """The one secret resolver: `$VAR` or `${VAR}` reads `env` (a blank value counts as unset), anything
    else is the literal value. Surrounding whitespace is dropped, so a key file's newline does no harm."""
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(where, f"expected {expected}")
    text = raw.strip()
    ref = _ENV_REF.match(text)
    if ref is None:
        return ResolvedSecret(Secret(text), INLINE)
    value = env.get(ref.group(1), "").strip()
    return ResolvedSecret(Secret(value) if value else None, f"${ref.group(1)}")


@dataclass
class Findings:
    """What parsing noticed without refusing: notes (tolerated keys, fallbacks) and unset secrets."""

    notes: list[str] = field(default_factory=list)
    unset_secrets: list[UnsetSecret] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def credential(
        self, raw: Any, where: str, env: Mapping[str, str], *, example: str, passthrough: bool = False
    ) -> ResolvedSecret | None:
        """An `access_key` (None when absent). One naming an unset variable is recorded as unset (refused
        by serve, up and check-config), or only noted when the clients' own credentials are passed through."""
        if raw is None:
            return None
        resolved = resolve_secret(raw, where, env, expected=f"a string such as {example}")
        if resolved.secret is None:
            if passthrough:
                self.note(f"{where}: {resolved.source} is not set; passthrough_auth forwards the client's credentials")
            else:
                self.unset_secrets.append(UnsetSecret(where, resolved.source))
        return resolved


# --------------------------------------------------------------------------------------------------


class Section:
    """One mapping of the config (`routing.session_cache`, a `model_providers` entry), checked for unknown
    keys on construction; its readers return typed values and name `path.key` in every error. A reader's
    `default` applies when the key is absent; `None` there means the key is required."""

    def __init__(self, raw: Any, path: str, allowed: frozenset[str]) -> None:
        self.data = expect_mapping(raw, path)
        self.path = path
        check_keys(self.data, allowed, path)

    def where(self, key: str) -> str:
        return join(self.path, key)

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def _value(self, key: str, default: Any) -> Any:
        value = self.data.get(key, default)
        if value is None:
            raise ConfigError(self.where(key), "required")
        return value

    def string(self, key: str, default: str | None = None) -> str:
        value = self._value(key, default)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(self.where(key), "expected a non-empty string")
        return value.strip()

    def integer(self, key: str, default: int | None, lo: int, hi: int) -> int:
        value = self._value(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(self.where(key), f"expected an integer, got {value!r}")
        if not lo <= value <= hi:
            raise ConfigError(self.where(key), f"must be between {lo} and {hi}, got {value}")
        return value

    def number(self, key: str, default: float, lo: float, hi: float) -> float:
        value = self._value(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise ConfigError(self.where(key), f"expected a number between {lo:g} and {hi:g}, got {value!r}")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self._value(key, default)
        if not isinstance(value, bool):
            raise ConfigError(self.where(key), f"expected true or false, got {value!r}")
        return value

    def strings(self, key: str, *, required: bool = False) -> tuple[str, ...]:
        """A list of non-empty strings, stripped; absent is empty unless `required` (then at least one)."""
        value = self.data.get(key)
        if value is None and not required:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(self.where(key), "expected a list of non-empty strings")
        if required and not value:
            raise ConfigError(self.where(key), "expected at least one entry")
        return tuple(v.strip() for v in value)

    def choice(self, key: str, default: T, choices: tuple[T, ...]) -> T:
        """One of `choices` (a Literal kind's values, model.py), returned as that kind."""
        value = self._value(key, default)
        for choice in choices:
            if value == choice and isinstance(value, str):
                return choice
        raise ConfigError(self.where(key), f"expected one of {', '.join(map(str, choices))}, got {value!r}")

    def duration_seconds(self, key: str, default: float) -> float:
        return duration_seconds(self._value(key, default), self.where(key))

    def header_name(self, key: str, default: str | None = None) -> str:
        return header_name(self._value(key, default), self.where(key))

    def http_url(self, key: str) -> str:
        return http_url(self._value(key, None), self.where(key))
