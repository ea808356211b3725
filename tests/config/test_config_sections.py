"""Each section, absent or empty, parses to exactly its dataclass's defaults: a default is stated once."""

from __future__ import annotations

from typing import Any

import pytest

from brightstaff.config import (
    Config,
    ConfigError,
    EmbeddedRouterSettings,
    Listener,
    MemoryPinStoreSettings,
    Provider,
    RedisPinStoreSettings,
    RoutingSettings,
    ServerSettings,
    parse_config,
)
from brightstaff.pins.circuit import CircuitBreaker
from brightstaff.pins.redis import RedisPinStore

MINIMAL_PROVIDER = {"model": "openai/gpt-4o-mini"}


def parse(**sections: Any) -> Config:
    return parse_config({"model_providers": [dict(MINIMAL_PROVIDER)], **sections}, env={})


def test_a_minimal_config_is_every_default() -> None:
    config = parse()
    assert (config.version, config.listener, config.routing, config.server) == (
        "v0.3.0",
        Listener(),
        RoutingSettings(),
        ServerSettings(),
    )
    assert config.unset_secrets == ()


@pytest.mark.parametrize(
    "listeners",
    [None, [{}], [{"type": "model"}], [{"type": "model"}, {"type": "prompt", "port": 10000}]],
    ids=["absent", "empty-entry", "type-only", "with-another-type"],
)
def test_listener_defaults(listeners: Any) -> None:
    config = parse() if listeners is None else parse(listeners=listeners)
    assert config.listener == Listener()
    assert config.listener.timeout_seconds == 300.0


@pytest.mark.parametrize("server", [None, {}], ids=["absent", "empty"])
def test_server_defaults(server: Any) -> None:
    assert parse(brightstaff=server).server == ServerSettings()


@pytest.mark.parametrize("routing", [None, {}], ids=["absent", "empty"])
def test_routing_defaults(routing: Any) -> None:
    routing_settings = parse(routing=routing).routing
    assert routing_settings == RoutingSettings()
    assert routing_settings.session_cache == MemoryPinStoreSettings()
    assert routing_settings.router == EmbeddedRouterSettings()


@pytest.mark.parametrize(
    "cache", [{}, {"type": "memory"}, {"key_prefix": "team-a:"}], ids=["empty", "memory", "prefix-only"]
)
def test_pin_store_defaults_to_memory(cache: dict[str, Any]) -> None:
    assert parse(routing={"session_cache": cache}).routing.session_cache == MemoryPinStoreSettings()


def test_a_redis_pin_store_takes_every_tunable_from_the_dataclass() -> None:
    cache = parse(routing={"session_cache": {"type": "redis", "url": "redis://c:6379/0"}}).routing.session_cache
    assert cache == RedisPinStoreSettings(url="redis://c:6379/0")


@pytest.mark.anyio
async def test_the_redis_store_and_its_breaker_use_the_settings_defaults() -> None:
    settings = RedisPinStoreSettings(url="redis://127.0.0.1:1/0")
    store = RedisPinStore.from_settings(settings, ttl_seconds=60, sliding=True)
    try:
        assert store._timeout == settings.timeout_ms / 1000
        assert store._prefix == settings.key_prefix
        assert store.breaker.cooldown_seconds == settings.circuit_cooldown_ms / 1000
        assert store.breaker._threshold == settings.circuit_failures
    finally:
        await store.close()
    breaker = CircuitBreaker()
    assert (breaker._threshold, breaker.cooldown_seconds) == (
        RedisPinStoreSettings.circuit_failures,
        RedisPinStoreSettings.circuit_cooldown_ms / 1000,
    )


def test_a_minimal_provider_takes_the_dataclass_defaults() -> None:
    provider = parse().providers[0]
    assert provider == Provider(
        name="openai/gpt-4o-mini",
        vendor="openai",
        model="gpt-4o-mini",
        base_url="https://api.openai.com/v1",
        cluster="provider_openai_gpt-4o-mini",
        default=True,  # the only provider: made the default, with a note
    )
    assert provider.api == "openai"


@pytest.mark.parametrize(
    ("model", "interface", "api"),
    [
        ("claude-sonnet-4", "openai", "openai"),
        ("claude-sonnet-4", "anthropic", "anthropic"),
        ("claude-sonnet-4", "claude", "anthropic"),
        ("anthropic/claude-sonnet-4", None, "anthropic"),  # the default for anthropic/ models: the native API
        ("anthropic/claude-sonnet-4", "openai", "openai"),  # Anthropic's OpenAI-compatible endpoint, by choice
        ("openai/gpt-4o", None, "openai"),
        ("groq/llama-3", None, "openai"),
    ],
)
def test_the_backend_api_follows_the_model_prefix_or_provider_interface(
    model: str, interface: str | None, api: str
) -> None:
    data: dict[str, object] = {"model": model, "base_url": "http://127.0.0.1:9/v1"}
    if interface is not None:
        data["provider_interface"] = interface
    assert parse_config({"model_providers": [data]}, env={}).providers[0].api == api


def test_a_null_base_url_takes_the_vendor_default() -> None:
    data = {"model": "anthropic/claude-sonnet-4", "base_url": None}
    assert parse_config({"model_providers": [data]}, env={}).providers[0].base_url == "https://api.anthropic.com/v1"


def test_plano_tenant_header_under_session_cache_is_named_where_it_stands() -> None:
    assert parse(routing={"session_cache": {"tenant_header": "X-Team"}}).routing.tenant_header == "x-team"
    both = {"tenant_header": "X-Org", "session_cache": {"tenant_header": "X-Team"}}
    assert parse(routing=both).routing.tenant_header == "x-org"
    with pytest.raises(ConfigError) as info:
        parse(routing={"session_cache": {"tenant_header": "bad header"}})
    assert info.value.path == "routing.session_cache.tenant_header"
