"""`routing.router` and Plano's mapping: each default comes from the dataclass; the tagged union's branches."""

from __future__ import annotations

from typing import Any

import pytest

from brightstaff.config import (
    ConfigError,
    EmbeddedRouterSettings,
    LlmRouterSettings,
    UnsetSecret,
    parse_config,
)

PROVIDERS: list[dict[str, Any]] = [{"model": "openai/gpt-4o-mini", "default": True}]


def parse(routing: dict[str, Any] | None, env: dict[str, str] | None = None, **extra: Any) -> Any:
    data: dict[str, Any] = {"model_providers": [*PROVIDERS, *extra.pop("providers", [])], **extra}
    if routing is not None:
        data["routing"] = routing
    return parse_config(data, env or {})


@pytest.mark.parametrize(
    "routing",
    [None, {}, {"router": {}}, {"router": {"type": "embedded"}}],
    ids=["no-routing", "empty-routing", "empty-router", "type-embedded"],
)
def test_an_absent_or_empty_router_is_the_default(routing: dict[str, Any] | None) -> None:
    assert parse(routing).routing.router == EmbeddedRouterSettings()


def test_an_llm_router_takes_every_tunable_from_the_dataclass() -> None:
    router = parse({"router": {"type": "llm", "base_url": "http://127.0.0.1:8000/v1", "model": "Arch-Router"}})
    assert router.routing.router == LlmRouterSettings(base_url="http://127.0.0.1:8000/v1", model="Arch-Router")


@pytest.mark.parametrize("key", ["base_url", "model", "format", "access_key", "timeout_ms", "max_messages"])
def test_an_llm_only_key_under_embedded_names_the_field(key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse({"router": {"type": "embedded", key: "x"}})
    assert (info.value.path, info.value.message) == (f"routing.router.{key}", "only applies to type: llm")


def test_the_router_type_is_a_class_attribute_of_each_branch() -> None:
    assert (EmbeddedRouterSettings.type, LlmRouterSettings.type) == ("embedded", "llm")


def test_plano_router_on_a_passthrough_provider_without_its_key_is_unset() -> None:
    """The provider forwards its clients' keys; router calls have no client key to forward."""
    router_provider = {
        "name": "arch-router",
        "model": "ollama/arch-router",
        "base_url": "http://127.0.0.1:11434/v1",
        "access_key": "$OLLAMA_KEY",
        "passthrough_auth": True,
    }
    config = parse({"llm_provider": "arch-router"}, providers=[router_provider])
    assert isinstance(config.routing.router, LlmRouterSettings)
    assert config.unset_secrets == (UnsetSecret("routing.llm_provider", "$OLLAMA_KEY"),)
