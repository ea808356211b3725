"""`routing.affinity`: its defaults (today's behaviour), every field, and the errors naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from brightstaff.config import ConfigError, parse_config
from brightstaff.config.model import AFFINITY_SOURCES, AffinitySettings, Config, Secret, UnsetSecret


def parse(affinity: Any = None, env: dict[str, str] | None = None) -> Config:
    routing = {} if affinity is None else {"affinity": affinity}
    return parse_config({"model_providers": [{"model": "openai/gpt-4o"}], "routing": routing}, env=env or {})


@pytest.mark.parametrize("affinity", [None, {}], ids=["absent", "empty"])
def test_defaults_keep_the_header_only(affinity: Any) -> None:
    settings = parse(affinity).routing.affinity
    assert settings == AffinitySettings()
    assert (settings.sources, settings.subagents, settings.provider_cache_key) == (("header",), "share", False)


def test_every_field() -> None:
    config = parse(
        {
            "sources": ["claude-code", "header", "codex", "opencode", "prompt-cache-key", "anthropic-metadata"],
            "subagents": "own",
            "provider_cache_key": True,
            "cache_key_salt": "$SALT",
        },
        env={"SALT": "s3cret"},
    )
    settings = config.routing.affinity
    assert settings.sources[:2] == ("claude-code", "header") and set(settings.sources) == set(AFFINITY_SOURCES)
    assert (settings.subagents, settings.provider_cache_key) == ("own", True)
    assert settings.cache_key_salt == Secret("s3cret")
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("affinity", "path", "text"),
    [
        ({"sources": []}, "routing.affinity.sources", "non-empty list"),
        ({"sources": "header"}, "routing.affinity.sources", "non-empty list"),
        ({"sources": ["header", "claude"]}, "routing.affinity.sources[1]", "expected one of header, claude-code"),
        ({"sources": ["codex", "codex"]}, "routing.affinity.sources[1]", "listed twice"),
        ({"subagents": "inherit"}, "routing.affinity.subagents", "expected one of share, own"),
        ({"provider_cache_key": "yes"}, "routing.affinity.provider_cache_key", "true or false"),
        ({"source": ["header"]}, "routing.affinity.source", "did you mean 'sources'"),
        ("header", "routing.affinity", "expected a mapping"),
    ],
)
def test_errors_name_the_field(affinity: Any, path: str, text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(affinity)
    assert caught.value.path == path and text in caught.value.message


def test_an_unset_salt_is_refused_at_start_up_and_a_salt_alone_is_noted() -> None:
    unset = parse({"provider_cache_key": True, "cache_key_salt": "$NOPE"})
    assert unset.unset_secrets == (UnsetSecret("routing.affinity.cache_key_salt", "$NOPE"),)
    alone = parse({"cache_key_salt": "literal"})
    assert any("provider_cache_key" in note for note in alone.notes)
