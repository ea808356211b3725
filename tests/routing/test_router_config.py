"""`routing.router` and Plano's `routing.model` / `routing.llm_provider`: parsed, mapped, errors by field path."""

from __future__ import annotations

from typing import Any

import pytest

from brightstaff.config import (
    ConfigError,
    EmbeddedRouterSettings,
    LlmRouterSettings,
    Secret,
    UnsetSecret,
    parse_config,
)

PROVIDERS: list[dict[str, Any]] = [
    {"model": "openai/gpt-4o-mini", "default": True},
    {"model": "openai/gpt-4o", "routing_preferences": [{"name": "complex_reasoning", "description": "analysis"}]},
]


def parse(routing: dict[str, Any], env: dict[str, str] | None = None, **server: Any) -> Any:
    data: dict[str, Any] = {"model_providers": list(PROVIDERS), "routing": routing}
    if server:
        data["brightstaff"] = server
    return parse_config(data, env=env or {})


def llm(**extra: Any) -> dict[str, Any]:
    return {"router": {"type": "llm", "base_url": "http://127.0.0.1:8000/v1/", "model": "Arch-Router", **extra}}


def test_the_embedded_router_is_the_default() -> None:
    assert parse({}).routing.router == EmbeddedRouterSettings()
    assert parse({"router": {"type": "embedded"}}).routing.router.type == "embedded"


def test_an_llm_router_with_defaults() -> None:
    config = parse(llm())
    router = config.routing.router
    assert router == LlmRouterSettings(base_url="http://127.0.0.1:8000/v1", model="Arch-Router")
    assert (router.format, router.timeout_ms, router.connect_timeout_ms) == ("arch_router", 1500, 250)
    assert (router.max_connections, router.max_messages, router.max_context_tokens) == (32, 16, 2048)
    assert config.notes == ()


def test_the_format_follows_the_model_name_unless_given() -> None:
    assert parse(llm(model="Plano-Orchestrator")).routing.router.format == "orchestrator_v1"
    assert parse(llm(model="Plano-Orchestrator")).routing.router.max_context_tokens == 8192
    assert parse(llm(model="katanemo/Arch-Router-1.5B")).routing.router.format == "arch_router"
    assert parse(llm(model="my-router", format="orchestrator_v1")).routing.router.format == "orchestrator_v1"


def test_the_access_key_comes_from_the_environment() -> None:
    router = parse(llm(access_key="$ROUTER_KEY"), env={"ROUTER_KEY": "rk-1"}).routing.router
    assert router.access_key == Secret("rk-1") and router.access_key_source == "$ROUTER_KEY"
    assert "rk-1" not in repr(router)
    missing = parse(llm(access_key="${ROUTER_KEY}"))
    assert missing.routing.router.access_key is None
    assert missing.unset_secrets == (UnsetSecret("routing.router.access_key", "$ROUTER_KEY"),)


@pytest.mark.parametrize(
    ("routing", "server", "path", "message"),
    [
        ({"router": {"type": "lm"}}, {}, "routing.router.type", "expected one of embedded, llm"),
        ({"router": {"type": "llm", "model": "r"}}, {}, "routing.router.base_url", "required"),
        ({"router": {"type": "llm", "base_url": "http://h/v1"}}, {}, "routing.router.model", "required"),
        (llm(base_url="ftp://h"), {}, "routing.router.base_url", "http(s) URL"),
        (llm(base_url="http://h:99999/v1"), {}, "routing.router.base_url", "port"),
        (llm(base_url="http://u:p@h/v1"), {}, "routing.router.base_url", "credentials"),
        (llm(base_url="http://h/v1?x=1"), {}, "routing.router.base_url", "query"),
        (llm(format="openai"), {}, "routing.router.format", "arch_router, orchestrator_v1"),
        (llm(timeout_ms=1950), {}, "routing.router.timeout_ms", "message_timeout_ms - 100 (1900)"),
        (llm(timeout_ms=800), {"message_timeout_ms": 500}, "routing.router.timeout_ms", "(400)"),
        (llm(), {"message_timeout_ms": 100}, "brightstaff.message_timeout_ms", "no time for the LLM router"),
        (llm(timeout_ms=300, connect_timeout_ms=400), {}, "routing.router.connect_timeout_ms", "timeout_ms (300)"),
        (llm(max_connections=0), {}, "routing.router.max_connections", "between 1 and"),
        (llm(max_context_tokens=10), {}, "routing.router.max_context_tokens", "between 256 and"),
        (llm(timeout_ms="1s"), {}, "routing.router.timeout_ms", "integer"),
        (llm(timout_ms=100), {}, "routing.router.timout_ms", "did you mean 'timeout_ms'"),
        ({"router": {"type": "embedded", "base_url": "http://h"}}, {}, "routing.router.base_url", "type: llm"),
        ({"router": "llm"}, {}, "routing.router", "expected a mapping"),
    ],
)
def test_errors_name_the_field(routing: dict[str, Any], server: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(routing, **server)
    assert caught.value.path == path
    assert message in caught.value.message


def test_a_short_message_timeout_shortens_the_default_router_timeout() -> None:
    router = parse(llm(), message_timeout_ms=600).routing.router
    assert router.timeout_ms == 500
    assert router.connect_timeout_ms == 250


def test_plano_llm_provider_maps_onto_the_llm_router() -> None:
    data: dict[str, Any] = {
        "model_providers": [
            *PROVIDERS,
            {
                "name": "arch-router",
                "model": "ollama/hf.co/katanemo/Arch-Router-1.5B.gguf:Q4_K_M",
                "base_url": "http://127.0.0.1:11434/v1",
                "access_key": "$OLLAMA_KEY",
            },
        ],
        "routing": {"model": "Arch-Router", "llm_provider": "arch-router"},
    }
    config = parse_config(data, env={"OLLAMA_KEY": "ok-1"})
    assert config.routing.router == LlmRouterSettings(
        base_url="http://127.0.0.1:11434/v1",
        model="hf.co/katanemo/Arch-Router-1.5B.gguf:Q4_K_M",
        format="arch_router",
        access_key=Secret("ok-1"),
        access_key_source="$OLLAMA_KEY",
        source="routing.llm_provider",
    )
    data["routing"]["model"] = "Plano-Orchestrator"
    orchestrator = parse_config(data, env={}).routing.router
    assert isinstance(orchestrator, LlmRouterSettings) and orchestrator.format == "orchestrator_v1"


def test_plano_keys_without_an_endpoint_keep_the_embedded_router_with_a_note() -> None:
    hosted = parse({"model": "Arch-Router", "llm_provider": "arch-router"})
    assert hosted.routing.router.type == "embedded"
    assert any(n.startswith("routing.llm_provider: 'arch-router' is not the name") for n in hosted.notes)
    model_only = parse({"model": "Arch-Router"})
    assert model_only.routing.router.type == "embedded"
    assert any(n.startswith("routing.model:") for n in model_only.notes)


def test_routing_router_wins_over_plano_keys() -> None:
    config = parse({**llm(), "model": "Arch-Router", "llm_provider": "arch-router"})
    assert config.routing.router.source == "routing.router"
    assert "routing.model: ignored; routing.router configures the router" in config.notes
    assert "routing.llm_provider: ignored; routing.router configures the router" in config.notes


def test_check_config_shows_the_router(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from brightstaff.cli import main

    path = tmp_path / "config.yaml"
    path.write_text(
        "model_providers:\n  - model: openai/gpt-4o-mini\n    base_url: http://127.0.0.1:9/v1\n"
        "routing:\n  router: {type: llm, base_url: 'http://127.0.0.1:8000/v1', model: Plano-Orchestrator}\n",
        encoding="utf-8",
    )
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "router: llm, Plano-Orchestrator at http://127.0.0.1:8000/v1 (orchestrator_v1 format" in out
