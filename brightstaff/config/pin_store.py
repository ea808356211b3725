"""`routing.session_cache`: where pins live, `memory` (this process) or `redis` (shared by every replica).

Invariants: a Redis URL is a redis://, rediss:// or unix:// URL with a host (or socket path), a valid port
and a numeric database; its password never appears in an error (`redact`). Redis-only keys under
`type: memory` are errors naming the key. TLS settings only go with rediss://.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from brightstaff.config.fields import Section, check_port, resolve_secret
from brightstaff.config.model import (
    PIN_STORE_TYPES,
    ConfigError,
    MemoryPinStoreSettings,
    PinStoreSettings,
    RedisPinStoreSettings,
    RedisTLS,
    RoutingSettings,
)

PATH = "routing.session_cache"
_REDIS_ONLY_KEYS = ("url", "timeout_ms", "circuit_failures", "circuit_cooldown_ms", "max_connections", "tls")
# `tenant_header` is Plano's place for routing.tenant_header (read by the routing section).
KEYS = frozenset({"type", "key_prefix", "tenant_header", *_REDIS_ONLY_KEYS})
_TLS_KEYS = frozenset({"ca_file", "cert_file", "key_file", "verify"})
_REDIS_SCHEMES = ("redis", "rediss", "unix")
# Printable, no spaces: the prefix shows up in redis-cli output and in ACL key patterns (`~brightstaff:pin:*`).
_KEY_PREFIX = re.compile(r"^[!-~]{0,128}$")
_DEFAULT_STORE = RoutingSettings().session_cache


def parse_pin_store(section: Section, env: Mapping[str, str]) -> PinStoreSettings:
    kind = section.choice("type", _DEFAULT_STORE.type, PIN_STORE_TYPES)
    prefix = section.data.get("key_prefix", RedisPinStoreSettings.key_prefix)
    if not isinstance(prefix, str) or not _KEY_PREFIX.match(prefix):
        raise ConfigError(
            section.where("key_prefix"), f"expected up to 128 printable characters without spaces, got {prefix!r}"
        )
    if kind == "memory":
        for key in _REDIS_ONLY_KEYS:
            if key in section:
                raise ConfigError(section.where(key), "only applies to type: redis")
        return MemoryPinStoreSettings()
    url = redis_url(section, env)
    scheme = urlsplit(url).scheme
    tls = parse_tls(section, scheme) if "tls" in section else (RedisTLS() if scheme == "rediss" else None)
    return RedisPinStoreSettings(
        url=url,
        key_prefix=prefix,
        timeout_ms=section.integer("timeout_ms", RedisPinStoreSettings.timeout_ms, 1, 60_000),
        circuit_failures=section.integer("circuit_failures", RedisPinStoreSettings.circuit_failures, 1, 1000),
        circuit_cooldown_ms=section.integer(
            "circuit_cooldown_ms", RedisPinStoreSettings.circuit_cooldown_ms, 10, 3_600_000
        ),
        max_connections=section.integer("max_connections", RedisPinStoreSettings.max_connections, 1, 10_000),
        tls=tls,
    )


def redis_url(section: Section, env: Mapping[str, str]) -> str:
    where = section.where("url")
    if section.get("url") is None:
        raise ConfigError(where, "required when type is redis, e.g. redis://127.0.0.1:6379/0")
    # `$REDIS_URL` keeps a password out of the file. Unlike an access key, an unset one is an error at
    # once: without the URL there is no pin store to build.
    resolved = resolve_secret(section.get("url"), where, env, expected="a URL such as redis://127.0.0.1:6379/0")
    if resolved.secret is None:
        raise ConfigError(where, f"{resolved.source} is not set")
    url = resolved.secret.reveal()
    shown = redact(url)
    parts = urlsplit(url)
    if parts.scheme not in _REDIS_SCHEMES:
        raise ConfigError(where, f"expected a redis://, rediss:// or unix:// URL, got {shown!r}")
    if parts.scheme == "unix":
        if not parts.path:
            raise ConfigError(where, f"a unix:// URL needs a socket path, got {shown!r}")
        return url
    if not parts.hostname:
        raise ConfigError(where, f"no host in {shown!r}")
    check_port(parts, where, shown)
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise ConfigError(where, f"the path must be a database number such as /0, got {parts.path!r}")
    if parts.query or parts.fragment:
        raise ConfigError(where, "must not carry a query or fragment; set options as routing.session_cache keys")
    return url


def redact(url: str) -> str:
    """The URL with any password replaced, for error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=user + netloc).geturl()


def parse_tls(parent: Section, scheme: str) -> RedisTLS:
    section = Section(parent.get("tls"), parent.where("tls"), _TLS_KEYS)
    if scheme != "rediss":
        raise ConfigError(section.path, "only applies to a rediss:// url")
    files = {key: section.string(key) if key in section else None for key in ("ca_file", "cert_file", "key_file")}
    if (files["cert_file"] is None) != (files["key_file"] is None):
        raise ConfigError(section.path, "cert_file and key_file go together (a client certificate and its key)")
    return RedisTLS(
        ca_file=files["ca_file"],
        cert_file=files["cert_file"],
        key_file=files["key_file"],
        verify=section.boolean("verify", RedisTLS.verify),
    )
