"""Config loading: the seed file unchanged, Plano keys tolerated, our typos named by field path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from seed_data import SEED_ENV, seed_config_data

from brightstaff.config import ConfigError, UnsetSecret, load_config, parse_config, require_secrets

SEED = Path(__file__).resolve().parents[2] / "examples" / "plano-model-affinity.yaml"  # the seed config, unchanged


def test_seed_config_loads_unchanged() -> None:
    config = load_config(SEED, env=SEED_ENV)
    assert [p.name for p in config.providers] == [
        "openai/gpt-4o-mini",
        "openai/gpt-4o",
        "anthropic/claude-sonnet-4-20250514",
    ]
    assert config.default_provider.model == "gpt-4o-mini"
    assert config.listener.port == 12000
    assert config.routing.session_ttl_seconds == 600
    claude = config.provider("anthropic/claude-sonnet-4-20250514")
    assert claude is not None
    assert claude.base_url == "https://api.anthropic.com/v1"
    assert claude.routing_preferences[0].name == "code_generation"
    assert claude.access_key is not None and claude.access_key.reveal() == "sk-test-anthropic-0000"
    assert any(note.startswith("tracing:") for note in config.notes)


def test_an_unset_access_key_is_listed_by_field_and_refused_by_require_secrets() -> None:
    config = load_config(SEED, env={"OPENAI_API_KEY": "sk-test-openai-0000"})
    assert config.providers[2].access_key is None
    assert config.unset_secrets == (UnsetSecret("model_providers[2].access_key", "$ANTHROPIC_API_KEY"),)
    with pytest.raises(ConfigError) as info:
        require_secrets(config)
    assert info.value.path == "model_providers[2].access_key"
    assert "$ANTHROPIC_API_KEY is not set in the environment" in info.value.message
    require_secrets(load_config(SEED, env=SEED_ENV))  # every key set: nothing to refuse


def test_every_unset_access_key_is_named() -> None:
    config = load_config(SEED, env={})
    assert [u.path for u in config.unset_secrets] == [f"model_providers[{i}].access_key" for i in range(3)]
    with pytest.raises(ConfigError) as info:
        require_secrets(config)
    assert "also model_providers[1].access_key: $OPENAI_API_KEY is not set" in info.value.message


def test_passthrough_auth_tolerates_an_unset_key_with_a_note() -> None:
    data = seed_config_data()
    data["model_providers"][2]["passthrough_auth"] = True
    config = parse_config(data, {"OPENAI_API_KEY": "sk-test-openai-0000"})
    assert config.unset_secrets == ()
    require_secrets(config)
    note = "model_providers[2].access_key: $ANTHROPIC_API_KEY is not set; passthrough_auth forwards the client's"
    assert any(n.startswith(note) for n in config.notes)


def test_secrets_never_show_in_repr() -> None:
    config = parse_config(seed_config_data(), SEED_ENV)
    assert "sk-test" not in repr(config)
    assert "sk-test" not in str(config.providers)


def test_defaults() -> None:
    data = seed_config_data()
    del data["routing"]
    config = parse_config(data, {})
    assert config.routing.session_ttl_seconds == 600
    assert config.routing.session_max_entries == 10_000
    assert config.routing.session_ttl_mode == "sliding"
    assert config.server.failure_mode == "closed"
    assert config.server.drain_timeout_ms == 30_000


def test_drain_timeout_is_configurable() -> None:
    assert parse_config(seed_config_data(drain_timeout_ms=0), {}).server.drain_timeout_ms == 0
    assert parse_config(seed_config_data(drain_timeout_ms=120_000), {}).server.drain_timeout_ms == 120_000


def test_no_10000_cap_on_entries() -> None:
    data = seed_config_data()
    data["routing"]["session_max_entries"] = 2_000_000
    assert parse_config(data, {}).routing.session_max_entries == 2_000_000


def error_for(mutate: Any) -> ConfigError:
    data = seed_config_data()
    mutate(data)
    with pytest.raises(ConfigError) as info:
        parse_config(data, {})
    return info.value


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        (lambda d: d["routing"].update(session_ttl_secnds=5), "routing.session_ttl_secnds", "session_ttl_seconds"),
        (lambda d: d["routing"].update(session_ttl_seconds="ten"), "routing.session_ttl_seconds", "integer"),
        (lambda d: d["routing"].update(session_max_entries=0), "routing.session_max_entries", "between"),
        (lambda d: d["model_providers"][1].update(model="gpt-4o"), "model_providers[1].model", "provider/model"),
        (lambda d: d["model_providers"][1].update(defualt=True), "model_providers[1].defualt", "default"),
        (lambda d: d["model_providers"][2].update(default=True), "model_providers[2].default", "only one"),
        (
            lambda d: d["model_providers"][1]["routing_preferences"][0].pop("description"),
            "model_providers[1].routing_preferences[0].description",
            "required",
        ),
        (
            lambda d: d["model_providers"][1]["routing_preferences"][0].update(examples="write code"),
            "model_providers[1].routing_preferences[0].examples",
            "list of non-empty strings",
        ),
        (
            lambda d: d["model_providers"][1]["routing_preferences"][0].update(examples=["ok", " "]),
            "model_providers[1].routing_preferences[0].examples",
            "list of non-empty strings",
        ),
        (lambda d: d["model_providers"][0].update(base_url="ftp://x"), "model_providers[0].base_url", "http(s) URL"),
        (
            lambda d: d["model_providers"].append({"model": "acme/x1"}),
            "model_providers[3].base_url",
            "required for provider 'acme'",
        ),
        (lambda d: d["model_providers"].append(dict(d["model_providers"][0])), "model_providers[3].model", "duplicate"),
        (lambda d: d.update(model_provider=[]), "model_provider", "did you mean 'model_providers'"),
        (lambda d: d.update(brightstaff={"failure_mode": "maybe"}), "brightstaff.failure_mode", "closed, open"),
        (lambda d: d.update(brightstaff={"affinity_header": "bad header"}), "brightstaff.affinity_header", "header"),
        (lambda d: d["listeners"][0].update(port=70000), "listeners[0].port", "between"),
        (lambda d: d.update(brightstaff={"drain_timeout_ms": -1}), "brightstaff.drain_timeout_ms", "between"),
        (lambda d: d.update(brightstaff={"drain_timeout_ms": "30s"}), "brightstaff.drain_timeout_ms", "integer"),
        (lambda d: d.update(model_providers=[]), "model_providers", "non-empty"),
    ],
    ids=lambda value: "edit" if callable(value) else None,  # a case reads as "edit-<path>-<fragment>"
)
def test_errors_name_the_field(mutate: Any, path: str, fragment: str) -> None:
    error = error_for(mutate)
    assert error.path == path
    assert fragment in error.message


def test_plano_keys_are_tolerated_with_a_note() -> None:
    data = seed_config_data()
    data["prompt_targets"] = [{"name": "x"}]
    data["model_providers"][0]["usage"] = "cheap"
    config = parse_config(data, {})
    assert any(note.startswith("prompt_targets:") for note in config.notes)


def test_first_provider_is_default_when_none_is_marked() -> None:
    data = seed_config_data()
    data["model_providers"][0]["default"] = False
    config = parse_config(data, {})
    assert config.default_provider.name == "openai/gpt-4o-mini"
    assert any("no provider has default" in note for note in config.notes)


def test_yaml_errors_and_missing_files_are_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_providers: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(bad, env={})
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml", env={})


def test_provider_url_parts_and_cluster_names() -> None:
    config = parse_config(seed_config_data(), {})
    claude = config.providers[2]
    assert (claude.scheme, claude.host, claude.port, claude.path_prefix) == ("http", "127.0.0.1", 9002, "/v1")
    assert claude.cluster == "provider_anthropic_claude-sonnet-4-20250514"
    assert len({p.cluster for p in config.providers}) == 3


def test_routing_preferences_take_optional_few_shot_examples() -> None:
    data = seed_config_data()
    data["model_providers"][1]["routing_preferences"][0]["examples"] = [" Compare two plans, step by step. ", "Why?"]
    config = parse_config(data, {})
    pref = config.providers[1].routing_preferences[0]
    assert pref.examples == ("Compare two plans, step by step.", "Why?")
    assert config.providers[2].routing_preferences[0].examples == ()
    assert config.routing.min_match_score == 0.1  # the default, re-derived for the embedded router's cosine
