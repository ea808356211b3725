"""Plano's keys that brightstaff acts on: v0.4 routes, aliases, wildcards, provider_interface, http_host,
headers, listener retries, route_on_user_only, overrides. A typo in any of them is an error naming the field,
with a hint; what Plano accepts but brightstaff cannot honour is noted."""

from __future__ import annotations

from typing import Any

import pytest

from brightstaff.config import Config, ConfigError, parse_config

GPT4O_MINI = {"model": "openai/gpt-4o-mini", "default": True}
GPT4O = {"model": "openai/gpt-4o"}
SONNET = {"model": "anthropic/claude-sonnet-4-5"}


def parse(*providers: dict[str, Any], env: dict[str, str] | None = None, **top: Any) -> Config:
    listed = [dict(p) for p in providers] or [dict(GPT4O_MINI), dict(GPT4O), dict(SONNET)]
    return parse_config({"version": "v0.4.0", "model_providers": listed, **top}, env={} if env is None else env)


def error(*providers: dict[str, Any], **top: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(*providers, **top)
    return info.value


def route(name: str, *models: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "description": f"{name} asks", "models": list(models), **extra}


@pytest.mark.parametrize(
    ("top", "path", "fragment"),
    [
        ({"routing_preferences": [route("r", "openai/gpt-5")]}, "routing_preferences[0].models", "no configured"),
        (
            {"routing_preferences": [{"name": "r", "description": "d", "model": ["openai/gpt-4o"]}]},
            "routing_preferences[0].model",
            "did you mean 'models'",
        ),
        ({"routing_preferences": [route("r")]}, "routing_preferences[0].models", "at least one"),
        (
            {"routing_preferences": [route("r", "openai/gpt-4o"), route("r", "openai/gpt-4o-mini")]},
            "routing_preferences[1].name",
            "duplicate route",
        ),
        (
            {"routing_preferences": [route("r", "openai/gpt-4o", selection_policy={"prefer": "cheap"})]},
            "routing_preferences[0].selection_policy.prefer",
            "none, cheapest, fastest",
        ),
        (
            {"routing_preferences": [route("r", "openai/gpt-4o", selection_policy={"perfer": "none"})]},
            "routing_preferences[0].selection_policy.perfer",
            "did you mean 'prefer'",
        ),
        ({"routing_preferences": {"r": {}}}, "routing_preferences", "expected a list"),
        (
            {"model_aliases": {"fast": {"target": "gpt-4o-mni"}}},
            "model_aliases.fast.target",
            "did you mean 'gpt-4o-mini'",
        ),
        ({"model_aliases": {"fast": {"traget": "gpt-4o"}}}, "model_aliases.fast.traget", "did you mean 'target'"),
        ({"model_aliases": {"fast": "gpt-4o"}}, "model_aliases.fast", "expected a mapping"),
        ({"model_aliases": ["fast"]}, "model_aliases", "expected a mapping"),
        ({"listeners": [{"type": "model", "max_retries": -1}]}, "listeners[0].max_retries", "between 0 and 100"),
        ({"listeners": [{"type": "model", "max_retries": "3"}]}, "listeners[0].max_retries", "integer"),
        ({"listeners": [{"type": "model", "max_retry": 3}]}, "listeners[0].max_retry", "did you mean 'max_retries'"),
        ({"listeners": {"egress": {}}}, "listeners.egress", "did you mean 'egress_traffic'"),
        (
            {"listeners": {"egress_traffic": {"message_format": "anthropic"}}},
            "listeners.egress_traffic.message_format",
            "openai",
        ),
        ({"routing": {"route_on_user_only": "yes"}}, "routing.route_on_user_only", "true or false"),
        (
            {"routing": {"route_on_users_only": True}},
            "routing.route_on_users_only",
            "did you mean 'route_on_user_only'",
        ),
        ({"overrides": {"llm_routing_modle": "x"}}, "overrides.llm_routing_modle", "did you mean 'llm_routing_model'"),
        (
            {"overrides": {"llm_routing_model": "gpt-4o", "orchestrator_model_context_length": 10}},
            "overrides.orchestrator_model_context_length",
            "between",
        ),
    ],
)
def test_typos_in_plano_keys_brightstaff_acts_on_are_errors(top: dict[str, Any], path: str, fragment: str) -> None:
    failure = error(**top)
    assert failure.path == path
    assert fragment in failure.message


@pytest.mark.parametrize(
    ("provider", "path", "fragment"),
    [
        ({"model": "gpt-4o", "provider_interface": "opneai"}, "provider_interface", "did you mean 'openai'"),
        ({**GPT4O_MINI, "http_host": "bad host"}, "http_host", "host name"),
        ({**GPT4O_MINI, "http_host": "api.example.com:70000"}, "http_host", "host name"),
        ({**GPT4O_MINI, "headers": {"Authorization": "Bearer x"}}, "headers.Authorization", "access_key"),
        ({**GPT4O_MINI, "headers": {"Host": "x"}}, "headers.Host", "http_host"),
        ({**GPT4O_MINI, "headers": {"x-brightstaff-provider": "x"}}, "headers.x-brightstaff-provider", "not settable"),
        ({**GPT4O_MINI, "headers": {"bad header": "x"}}, "headers.bad header", "header name"),
        ({**GPT4O_MINI, "headers": {"x-a": 1}}, "headers.x-a", "string"),
        ({**GPT4O_MINI, "headers": {"x-a": "one\r\nx-b: two"}}, "headers.x-a", "line breaks"),
        ({**GPT4O_MINI, "headers": {"X-A": "1", "x-a": "2"}}, "headers.x-a", "twice"),
        ({**GPT4O_MINI, "headers": ["x-a"]}, "headers", "mapping"),
        (
            {"model": "openai/*", "routing_preferences": [{"name": "r", "description": "d"}]},
            "routing_preferences[0]",
            "wildcard",
        ),
    ],
)
def test_provider_key_errors(provider: dict[str, Any], path: str, fragment: str) -> None:
    failure = error(provider, GPT4O)
    assert failure.path == f"model_providers[0].{path}"
    assert fragment in failure.message


def test_references_to_a_wildcard_or_an_ambiguous_model_id_are_errors() -> None:
    wildcard = {"model": "openai/*"}
    failure = error(GPT4O_MINI, wildcard, routing_preferences=[route("r", "openai/*")])
    assert (failure.path, "wildcard" in failure.message) == ("routing_preferences[0].models[0]", True)
    failure = error(GPT4O_MINI, wildcard, model_aliases={"any": {"target": "openai/*"}})
    assert (failure.path, "wildcard" in failure.message) == ("model_aliases.any.target", True)
    twin = {"model": "azure/gpt-4o", "base_url": "http://127.0.0.1:9/v1"}
    failure = error(GPT4O_MINI, GPT4O, twin, model_aliases={"big": {"target": "gpt-4o"}})
    assert failure.path == "model_aliases.big.target"
    assert "openai/gpt-4o, azure/gpt-4o" in failure.message


def test_a_top_level_route_wins_over_an_inline_one_of_the_same_name() -> None:
    inline = {**GPT4O, "routing_preferences": [{"name": "code", "description": "inline"}]}
    config = parse(GPT4O_MINI, inline, SONNET, routing_preferences=[route("code", "anthropic/claude-sonnet-4-5")])
    assert [(r.name, r.provider, r.description) for r in config.routes] == [
        ("code", "anthropic/claude-sonnet-4-5", "code asks")
    ]
    assert any(n.startswith("model_providers[1].routing_preferences[0]: 'code' is also declared") for n in config.notes)


def test_both_shapes_together_and_a_repeated_model() -> None:
    inline = {**GPT4O, "routing_preferences": [{"name": "chat", "description": "small talk"}]}
    top = [route("code", "anthropic/claude-sonnet-4-5", "gpt-4o", "openai/gpt-4o")]
    config = parse(GPT4O_MINI, inline, SONNET, routing_preferences=top)
    assert {r.name: (r.provider, r.fallbacks) for r in config.routes} == {
        "chat": ("openai/gpt-4o", ()),
        "code": ("anthropic/claude-sonnet-4-5", ("openai/gpt-4o",)),
    }
    assert config.notes == ()


def test_top_level_routes_before_v04_load_with_a_note() -> None:
    config = parse(version="v0.3.0", routing_preferences=[route("r", "openai/gpt-4o")])
    assert [r.name for r in config.routes] == ["r"]
    assert any(
        n.startswith("routing_preferences: Plano reads top-level routes from version v0.4.0") for n in config.notes
    )


def test_examples_are_read_in_both_shapes() -> None:
    inline = {**GPT4O, "routing_preferences": [{"name": "chat", "description": "d", "examples": [" hi there "]}]}
    top = [route("code", "anthropic/claude-sonnet-4-5", examples=["write a parser"])]
    config = parse(GPT4O_MINI, inline, SONNET, routing_preferences=top)
    assert {r.name: r.examples for r in config.routes} == {"chat": ("hi there",), "code": ("write a parser",)}
    failure = error(
        GPT4O_MINI, SONNET, routing_preferences=[route("code", "anthropic/claude-sonnet-4-5", examples=[""])]
    )
    assert failure.path == "routing_preferences[0].examples"


def test_an_alias_spelled_like_a_provider_wins_with_a_note() -> None:
    config = parse(model_aliases={"openai/gpt-4o": {"target": "gpt-4o-mini"}})
    assert config.aliases["openai/gpt-4o"] == "openai/gpt-4o-mini"
    assert any(n.startswith("model_aliases.openai/gpt-4o: requests for openai/gpt-4o go to") for n in config.notes)


def test_the_implicit_default_is_never_a_wildcard_unless_nothing_else_is_configured() -> None:
    config = parse({"model": "openai/*"}, GPT4O)
    assert config.default_provider.name == "openai/gpt-4o"
    only = parse({"model": "chatgpt/*"})
    assert only.default_provider.name == "chatgpt/*"
    assert only.default_provider.passthrough_auth  # the ChatGPT backend takes the client's own token


def test_a_chatgpt_provider_with_a_key_keeps_it() -> None:
    config = parse({"model": "chatgpt/gpt-5.2", "access_key": "$TOKEN"}, env={"TOKEN": "t"})
    provider = config.providers[0]
    assert (provider.passthrough_auth, provider.access_key_source) == (False, "$TOKEN")


@pytest.mark.parametrize(
    ("base_url", "extra", "expected"),
    [
        ("http://127.0.0.1:8000", {}, "http://127.0.0.1:8000/v1"),
        ("http://127.0.0.1:8000/", {}, "http://127.0.0.1:8000/v1"),
        ("https://api.z.ai", {"model": "zhipu/glm-4.6"}, "https://api.z.ai/api/paas/v4"),
        ("http://127.0.0.1:8000/openai/v1", {}, "http://127.0.0.1:8000/openai/v1"),
        ("http://gw:8080", {"model": "x/m", "provider_interface": "groq"}, "http://gw:8080/openai/v1"),
    ],
)
def test_a_base_url_without_a_path_takes_the_apis_usual_path(
    base_url: str, extra: dict[str, Any], expected: str
) -> None:
    config = parse({"model": "acme/m1", "base_url": base_url, **extra})
    assert config.providers[0].base_url == expected


def test_provider_interface_gives_the_default_base_url_of_an_unknown_vendor() -> None:
    config = parse({"model": "team-gw/llama", "provider_interface": "openrouter"})
    assert config.providers[0].base_url == "https://openrouter.ai/api/v1"


@pytest.mark.parametrize("vendor", ["azure_openai", "amazon_bedrock"])
def test_apis_brightstaff_does_not_speak_are_noted(vendor: str) -> None:
    config = parse({"model": f"{vendor}/m", "base_url": "https://example.test"})
    assert any(n.startswith("model_providers[0].model: brightstaff sends every provider OpenAI") for n in config.notes)


def test_a_header_value_from_the_environment_and_an_unset_one() -> None:
    provider = {**GPT4O_MINI, "headers": {"X-Org": "$ORG_ID", "X-Plan": "$5 plan", "X-Missing": "${NOPE}"}}
    config = parse(provider, env={"ORG_ID": "org-42"})
    assert config.providers[0].headers == (("x-org", "org-42"), ("x-plan", "$5 plan"))
    assert [str(u) for u in config.unset_secrets] == ["model_providers[0].headers.X-Missing: $NOPE is not set"]


def test_usage_cluster_name_and_rate_limits_are_noted() -> None:
    config = parse({**GPT4O_MINI, "usage": "cheap chat", "cluster_name": "openai_x", "rate_limits": {}})
    assert {n.split(": ", 1)[0] for n in config.notes} == {
        "model_providers[0].usage",
        "model_providers[0].cluster_name",
        "model_providers[0].rate_limits",
    }


def test_listeners_without_a_model_listener_serve_the_default_one_with_a_note() -> None:
    for listeners in ([], [{"type": "prompt", "name": "p", "port": 10000}]):
        config = parse(listeners=listeners)
        assert config.listener.port == 12000
        assert any(n.startswith("listeners: no listener of type 'model'") for n in config.notes)


def test_the_router_keys_shadow_overrides_with_a_note() -> None:
    router = {"type": "llm", "base_url": "http://127.0.0.1:9/v1", "model": "arch-router"}
    config = parse(routing={"router": router}, overrides={"llm_routing_model": "gpt-4o"})
    assert config.routing.router.type == "llm"
    assert any(n.startswith("overrides.llm_routing_model: ignored; routing.router") for n in config.notes)
    embedded = parse(overrides={"orchestrator_model_context_length": 4096})
    assert embedded.routing.router.type == "embedded"
    assert any(n.startswith("overrides.orchestrator_model_context_length: applies") for n in embedded.notes)
