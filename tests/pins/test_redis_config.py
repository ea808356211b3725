"""`routing.session_cache` for Redis: what parses, what is refused (naming the field), and what is built."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from brightstaff.cli import main
from brightstaff.config import (
    ConfigError,
    MemoryPinStoreSettings,
    PinStoreSettings,
    RedisPinStoreSettings,
    RedisTLS,
    parse_config,
)
from brightstaff.metrics import Metrics
from brightstaff.pins.memory import MemoryPinStore
from brightstaff.pins.redis import RedisPinStore
from brightstaff.server.app import build_store


def config_with(session_cache: Any, **routing: Any) -> dict[str, Any]:
    return {
        "model_providers": [{"model": "openai/gpt-4o-mini", "default": True, "base_url": "http://127.0.0.1:9/v1"}],
        "routing": {"session_cache": session_cache, **routing},
    }


def cache(session_cache: Any, env: dict[str, str] | None = None, **routing: Any) -> PinStoreSettings:
    return parse_config(config_with(session_cache, **routing), env or {}).routing.session_cache


def redis_cache(session_cache: Any, env: dict[str, str] | None = None) -> RedisPinStoreSettings:
    parsed = cache(session_cache, env)
    assert isinstance(parsed, RedisPinStoreSettings)
    return parsed


def refusal(session_cache: Any, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        cache(session_cache, env)
    return info.value


def test_memory_stays_the_default() -> None:
    data = config_with({})
    del data["routing"]
    assert parse_config(data, {}).routing.session_cache == MemoryPinStoreSettings()
    assert cache({"type": "memory"}).type == "memory"


def test_a_redis_url_with_defaults() -> None:
    parsed = redis_cache({"type": "redis", "url": "redis://cache.internal:6379/2"})
    assert parsed == RedisPinStoreSettings(url="redis://cache.internal:6379/2")
    assert (parsed.key_prefix, parsed.timeout_ms, parsed.circuit_failures, parsed.circuit_cooldown_ms) == (
        "brightstaff:pin:",
        100,
        3,
        1000,
    )
    assert parsed.tls is None


def test_the_password_stays_out_of_repr_logs_and_errors() -> None:
    parsed = redis_cache({"type": "redis", "url": "redis://app:s3cret@cache:6380"})
    assert "s3cret" not in repr(parsed)
    assert parsed.display_url == "redis://cache:6380/0"
    error = refusal({"type": "redis", "url": "redis://app:s3cret@cache:6380/x"})
    assert "s3cret" not in str(error)


def test_the_url_can_come_from_the_environment() -> None:
    parsed = redis_cache({"type": "redis", "url": "$REDIS_URL"}, {"REDIS_URL": "rediss://:pw@cache:6380/0"})
    assert parsed.url == "rediss://:pw@cache:6380/0"
    assert parsed.tls == RedisTLS()  # rediss:// verifies the server against the system CAs by default
    error = refusal({"type": "redis", "url": "$REDIS_URL"})
    assert error.path == "routing.session_cache.url" and "$REDIS_URL is not set" in error.message


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (None, "required when type is redis"),
        ("http://cache:6379", "expected a redis://, rediss:// or unix:// URL"),
        ("cache:6379", "expected a redis://, rediss:// or unix:// URL"),
        ("redis://:6379/0", "no host"),
        ("redis://cache:99999/0", "port"),
        ("redis://cache:6379/zero", "database number"),
        ("redis://cache:6379/0?ssl_cert_reqs=none", "query"),
        ("unix://", "socket path"),
        (42, "expected a URL"),
    ],
)
def test_a_bad_url_names_the_field_and_says_why(url: Any, says: str) -> None:
    data: dict[str, Any] = {"type": "redis"}
    if url is not None:
        data["url"] = url
    error = refusal(data)
    assert error.path == "routing.session_cache.url"
    assert says in error.message


def test_tls_options() -> None:
    parsed = redis_cache(
        {
            "type": "redis",
            "url": "rediss://cache:6380/0",
            "tls": {"ca_file": "/etc/redis/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem", "verify": True},
        }
    )
    assert parsed.tls == RedisTLS(ca_file="/etc/redis/ca.pem", cert_file="/c.pem", key_file="/k.pem")
    assert refusal({"type": "redis", "url": "redis://cache/0", "tls": {"verify": False}}).path == (
        "routing.session_cache.tls"
    )
    assert "go together" in refusal({"type": "redis", "url": "rediss://c/0", "tls": {"cert_file": "/c"}}).message
    assert refusal({"type": "redis", "url": "rediss://c/0", "tls": {"verfy": False}}).path == (
        "routing.session_cache.tls.verfy"
    )


def test_redis_keys_with_the_memory_store_are_refused() -> None:
    error = refusal({"type": "memory", "url": "redis://cache:6379/0"})
    assert (error.path, error.message) == ("routing.session_cache.url", "only applies to type: redis")


def test_a_typo_suggests_the_key() -> None:
    error = refusal({"type": "redis", "url": "redis://c/0", "timeout_msec": 50})
    assert error.path == "routing.session_cache.timeout_msec"
    assert "did you mean 'timeout_ms'" in error.message


@pytest.mark.parametrize(
    ("key", "value"),
    [("timeout_ms", 0), ("circuit_failures", 0), ("circuit_cooldown_ms", 1), ("max_connections", 0)],
)
def test_numbers_are_bounded(key: str, value: int) -> None:
    assert refusal({"type": "redis", "url": "redis://c/0", key: value}).path == f"routing.session_cache.{key}"


def test_key_prefix_is_printable_without_spaces() -> None:
    assert redis_cache({"type": "redis", "url": "redis://c/0", "key_prefix": "team-a:pins:"}).key_prefix == (
        "team-a:pins:"
    )
    assert refusal({"type": "redis", "url": "redis://c/0", "key_prefix": "a b"}).path == (
        "routing.session_cache.key_prefix"
    )


def test_plano_tenant_header_and_the_max_entries_note() -> None:
    config = parse_config(
        config_with({"type": "redis", "url": "redis://c/0", "tenant_header": "X-Tenant-Id"}, session_max_entries=5000),
        {},
    )
    assert config.routing.tenant_header == "x-tenant-id"
    assert any(note.startswith("routing.session_max_entries: bounds the memory store only") for note in config.notes)


@pytest.mark.anyio
async def test_build_store_picks_the_backend_without_connecting() -> None:
    """Building a Redis store does no I/O: a Redis that is down cannot stop start-up."""
    memory = parse_config(config_with({"type": "memory"}), {})
    assert isinstance(build_store(memory), MemoryPinStore)
    # A listener that never accepts: a connection attempt would sit in its backlog, where accept() finds it.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
        store = build_store(parse_config(config_with({"type": "redis", "url": url}), {}), Metrics())
        assert isinstance(store, RedisPinStore)
        assert store.name == url
        await asyncio.sleep(0)  # anything the build scheduled runs
        await store.close()
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing connected


def test_check_config_reports_a_bad_url_by_its_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config_with({"type": "redis", "url": "htp://cache:6379"})))
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "routing.session_cache.url: expected a redis://, rediss:// or unix:// URL, got 'htp://cache:6379'" in err
