"""Plano's config shapes as they are today, one test config per part of its schema (tests/config/plano_shapes/):
each is a real Plano config (it validates against the schema facts), loads, notes exactly what brightstaff
does not act on, and maps what it does act on."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from plano_schema_facts import PLANO_SCHEMA_FACTS

from brightstaff.config import Config, LlmRouterSettings, load_config

SHAPES = Path(__file__).parent / "plano_shapes"
CONFIGS = sorted(p.name for p in SHAPES.glob("*.yaml"))


def load(name: str) -> Config:
    """The config with every `$VAR` it names set to a fake value."""
    text = (SHAPES / name).read_text(encoding="utf-8")
    return load_config(SHAPES / name, env={v: f"test-{v.lower()}" for v in re.findall(r"\$([A-Z_][A-Z0-9_]*)", text)})


def noted(config: Config) -> set[str]:
    """The field each note is about (the text before its first ': ')."""
    return {note.split(": ", 1)[0] for note in config.notes}


def test_every_shape_has_a_test() -> None:
    assert set(CONFIGS) == set(EXPECTED_NOTES)


@pytest.mark.parametrize("name", CONFIGS)
def test_each_test_config_is_a_plano_config(name: str) -> None:
    data = yaml.safe_load((SHAPES / name).read_text(encoding="utf-8"))
    jsonschema.validate(data, PLANO_SCHEMA_FACTS)


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d["routing_preferences"][0].update(examples=["plan a trip"]), "examples"),
        (lambda d: d["routing_preferences"][0].pop("models"), "models"),
        (lambda d: d["routing_preferences"][0]["selection_policy"].update(prefer="smartest"), "smartest"),
        (lambda d: d["listeners"][0].update(max_retry=3), "max_retry"),
        (lambda d: d["model_providers"][0].update(provider_interface="anthropic"), "anthropic"),
        (lambda d: d.update(brightstaff={"grpc_port": 1}), "brightstaff"),
    ],
    ids=["examples-is-ours", "models-required", "prefer-enum", "listener-keys", "interface-enum", "our-section"],
)
def test_the_schema_facts_refuse_what_plano_refuses(mutate: object, where: str) -> None:
    """The facts can fail: brightstaff's extensions and typos are not Plano configs."""
    data = yaml.safe_load((SHAPES / "v04_ranked.yaml").read_text(encoding="utf-8"))
    mutate(data)  # type: ignore[operator]
    with pytest.raises(jsonschema.ValidationError) as info:
        jsonschema.validate(data, PLANO_SCHEMA_FACTS)
    assert where in str(info.value)


EXPECTED_NOTES = {
    "v03_inline.yaml": {"tracing", "model_providers[2].routing_preferences[0]"},
    "v04_ranked.yaml": {
        "model_metrics_sources",
        "routing_preferences[1].selection_policy.prefer",
        "routing_preferences[1].models[0]",
        "routing_preferences[2].selection_policy.prefer",
        "routing.routing_budget",
    },
    "aliases.yaml": set(),
    "route_on_user_only.yaml": set(),
    "listener_retries.yaml": {"listeners[1]"},
    "legacy_listeners.yaml": {"listeners.ingress_traffic"},
    "vendors.yaml": {"model_providers[6].model", "model_providers[6].passthrough_auth"},
    "agents_filters.yaml": {
        "agents",
        "filters",
        "endpoints",
        "system_prompt",
        "prompt_targets",
        "prompt_guards",
        "ratelimits",
        "state_storage",
        "prompt_caching",
        "mode",
        "tracing",
        "tracing.trace_arch_internal",
        "tracing.span_attributes.header_prefixes",
        "overrides",
        "listeners[0]",
        "listeners[1].input_filters",
        "listeners[1].output_filters",
    },
    "router_override.yaml": set(),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_each_loads_with_exactly_its_notes(name: str) -> None:
    config = load(name)
    assert noted(config) == EXPECTED_NOTES[name]
    assert config.unset_secrets == ()


def routes(config: Config) -> dict[str, tuple[str, tuple[str, ...], str]]:
    """route -> (serving provider, fallbacks, selection policy)."""
    return {r.name: (r.provider, r.fallbacks, r.preference.prefer) for r in config.routes}


def test_v03_inline_routes_and_a_route_declared_twice() -> None:
    config = load("v03_inline.yaml")
    assert routes(config) == {
        "data_analysis": ("openai/gpt-4o", (), "none"),
        "code_review": ("openai/gpt-4o", ("anthropic/claude-sonnet-4-5",), "none"),
    }
    review = next(r for r in config.routes if r.name == "code_review")
    assert review.description == "reviewing a diff for bugs, style and risky changes"  # the first one declared


def test_v04_ranked_models_first_available_serves_the_rest_fall_back() -> None:
    config = load("v04_ranked.yaml")
    assert routes(config) == {
        # provider order (file order), each provider's routes as declared
        "quick_answers": ("openai/gpt-4o-mini", (), "fastest"),
        "travel_planning": ("anthropic/claude-sonnet-4-5", ("openai/gpt-4o",), "none"),
        # mistral/codestral-latest is not configured: the next model serves
        "sql_queries": ("local-coder", ("openai/gpt-4o",), "cheapest"),
    }
    assert [r.name for r in config.routes] == ["quick_answers", "travel_planning", "sql_queries"]
    local = config.provider("local-coder")
    assert local is not None and local.base_url == "http://127.0.0.1:11434/v1"  # no path: the vendor's /v1
    not_honoured = [n for n in config.notes if "is not honoured" in n]
    assert len(not_honoured) == 2 and all("listed order" in n for n in not_honoured)


def test_aliases_resolve_by_name_and_by_model_id() -> None:
    config = load("aliases.yaml")
    assert dict(config.aliases) == {
        "team.fast": "openai/gpt-4o-mini",
        "team.small": "anthropic/claude-haiku-4-5",
        "team.think": "reasoner",
    }
    wildcard = config.wildcard_for("openai")
    assert wildcard is not None and wildcard.name == "openai/*"
    assert config.default_provider.name == "openai/gpt-4o-mini"


def test_route_on_user_only_and_plano_tenant_header() -> None:
    config = load("route_on_user_only.yaml")
    assert config.routing.route_on_user_only is True
    assert config.routing.tenant_header == "x-team-id"


def test_listener_max_retries_and_timeout() -> None:
    listener = load("listener_retries.yaml").listener
    assert (listener.name, listener.address, listener.port) == ("llm_gateway", "0.0.0.0", 12000)
    assert (listener.timeout_seconds, listener.max_retries) == (45.0, 2)


def test_legacy_listener_mapping_and_llm_providers() -> None:
    config = load("legacy_listeners.yaml")
    assert (config.listener.name, config.listener.address, config.listener.port) == (
        "egress_traffic",
        "127.0.0.1",
        12001,
    )
    assert config.listener.timeout_seconds == 90.0
    assert routes(config) == {"casual_chat": ("openai/gpt-4o-mini", (), "none")}


def test_vendors_without_base_url_chatgpt_http_host_and_headers() -> None:
    config = load("vendors.yaml")
    base = {p.vendor: p.base_url for p in config.providers}
    assert base == {
        "openrouter": "https://openrouter.ai/api/v1",
        "vercel": "https://ai-gateway.vercel.sh/v1",
        "digitalocean": "https://inference.do-ai.run/v1",
        "moonshotai": "https://api.moonshot.ai/v1",
        "xiaomi": "https://api.xiaomimimo.com/v1",
        "edenai": "https://api.edenai.run/v3/llm",
        "chatgpt": "https://chatgpt.com/backend-api/codex",
        "in-house": "http://10.0.0.7:8000/v1",  # provider_interface openai, no path: /v1 as in Plano
    }
    chatgpt = config.provider("chatgpt/*")
    assert chatgpt is not None and chatgpt.wildcard and chatgpt.passthrough_auth and chatgpt.access_key is None
    router = config.providers[0]
    assert router.headers == (("http-referer", "https://example.com/brightstaff"), ("x-title", "brightstaff tests"))
    in_house = config.providers[-1]
    assert (in_house.http_host, in_house.headers) == ("llm.internal.example", (("x-tenant", "research"),))
    assert in_house.api == "openai"  # provider_interface never sets the backend API


def test_agents_and_filters_are_noted_and_the_model_listener_still_serves() -> None:
    config = load("agents_filters.yaml")
    assert (config.listener.name, config.listener.port) == ("model_listener", 12000)
    assert [p.name for p in config.providers] == ["openai/gpt-4o-mini"]
    overrides = next(n for n in config.notes if n.startswith("overrides:"))
    assert "prompt_target_intent_matching_threshold, upstream_connect_timeout" in overrides


def test_overrides_llm_routing_model_configures_the_llm_router() -> None:
    config = load("router_override.yaml")
    router = config.routing.router
    assert isinstance(router, LlmRouterSettings)
    assert (router.base_url, router.model, router.format) == (
        "http://127.0.0.1:10000/v1",
        "Plano-Orchestrator",
        "orchestrator_v1",
    )
    assert (router.max_context_tokens, router.source) == (4096, "overrides.llm_routing_model")
