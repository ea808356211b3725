"""The field readers: one secret resolver, typed choices, numbers, durations, header names, unknown keys."""

from __future__ import annotations

from typing import Any

import pytest

from brightstaff.config import ConfigError, Secret, UnsetSecret
from brightstaff.config.fields import INLINE, Findings, ResolvedSecret, Section, check_keys, resolve_secret
from brightstaff.config.model import FAILURE_MODES, FailureMode


def refusal(call: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        call()
    return info.value


@pytest.mark.parametrize(
    ("raw", "env", "expected"),
    [
        pytest.param("$KEY", {"KEY": "k-1"}, ResolvedSecret(Secret("k-1"), "$KEY"), id="dollar"),
        pytest.param("${KEY}", {"KEY": "k-1"}, ResolvedSecret(Secret("k-1"), "$KEY"), id="braces"),
        pytest.param(" $KEY ", {"KEY": "k-1\n"}, ResolvedSecret(Secret("k-1"), "$KEY"), id="whitespace-dropped"),
        pytest.param("$KEY", {}, ResolvedSecret(None, "$KEY"), id="unset"),
        pytest.param("$KEY", {"KEY": "  "}, ResolvedSecret(None, "$KEY"), id="blank-is-unset"),
        pytest.param("sk-inline", {}, ResolvedSecret(Secret("sk-inline"), INLINE), id="literal"),
        pytest.param("pa$$word", {}, ResolvedSecret(Secret("pa$$word"), INLINE), id="dollar-inside-literal"),
        pytest.param("$1KEY", {"1KEY": "x"}, ResolvedSecret(Secret("$1KEY"), INLINE), id="not-a-variable-name"),
    ],
)
def test_resolve_secret(raw: str, env: dict[str, str], expected: ResolvedSecret) -> None:
    assert resolve_secret(raw, "p.access_key", env, expected="a key") == expected


@pytest.mark.parametrize("raw", ["", "   ", 42, ["$KEY"]], ids=["empty", "blank", "number", "list"])
def test_resolve_secret_refuses_what_is_not_a_string(raw: Any) -> None:
    error = refusal(lambda: resolve_secret(raw, "p.access_key", {}, expected="a string such as $KEY"))
    assert (error.path, error.message) == ("p.access_key", "expected a string such as $KEY")


def test_every_secret_field_uses_the_one_resolver() -> None:
    """Provider key, router key and Redis URL: `${VAR}` works in each, and each names its own field."""
    from brightstaff.config import RedisPinStoreSettings, parse_config

    data: dict[str, Any] = {
        "model_providers": [{"model": "openai/gpt-4o", "access_key": "${OPENAI}"}],
        "routing": {
            "router": {"type": "llm", "base_url": "http://h/v1", "model": "Arch-Router", "access_key": "${ROUTER}"},
            "session_cache": {"type": "redis", "url": "${REDIS}"},
        },
    }
    env = {"OPENAI": "sk-1", "ROUTER": "rk-1", "REDIS": "redis://cache:6379/1"}
    config = parse_config(data, env)
    assert config.providers[0].access_key == Secret("sk-1")
    assert getattr(config.routing.router, "access_key", None) == Secret("rk-1")
    assert config.routing.session_cache == RedisPinStoreSettings(url="redis://cache:6379/1")
    for field, error_path in [
        (data["model_providers"][0], "model_providers[0].access_key"),
        (data["routing"]["router"], "routing.router.access_key"),
        (data["routing"]["session_cache"], "routing.session_cache.url"),
    ]:
        key = "url" if "url" in field else "access_key"
        saved, field[key] = field[key], 7
        assert refusal(lambda: parse_config(data, env)).path == error_path
        field[key] = saved


def test_findings_record_unset_keys_or_note_them_under_passthrough() -> None:
    findings = Findings()
    assert findings.credential(None, "a.access_key", {}, example="$K") is None
    findings.credential("$K", "a.access_key", {}, example="$K")
    findings.credential("$K", "b.access_key", {}, example="$K", passthrough=True)
    assert findings.unset_secrets == [UnsetSecret("a.access_key", "$K")]
    assert findings.notes == ["b.access_key: $K is not set; passthrough_auth forwards the client's credentials"]


def test_choice_returns_the_literal_kind_or_lists_the_choices() -> None:
    section = Section(
        {"failure_mode": "open", "bad": "maybe", "number": 1},
        "brightstaff",
        frozenset({"failure_mode", "bad", "number"}),
    )
    mode: FailureMode = section.choice("failure_mode", "closed", FAILURE_MODES)
    assert mode == "open"
    assert section.choice("absent", "closed", FAILURE_MODES) == "closed"
    error = refusal(lambda: section.choice("bad", "closed", FAILURE_MODES))
    assert (error.path, error.message) == ("brightstaff.bad", "expected one of closed, open, got 'maybe'")
    assert refusal(lambda: section.choice("number", "closed", FAILURE_MODES)).path == "brightstaff.number"


def test_readers_check_types_and_bounds() -> None:
    data = {"n": 5, "flag": True, "yes": "yes", "s": " text ", "blank": " ", "f": 0.5, "t": "500ms", "h": "X-Id"}
    section = Section(data, "top", frozenset(data))
    assert section.integer("n", None, 1, 10) == 5
    assert section.integer("absent", 7, 1, 10) == 7
    assert "between 6 and 10" in refusal(lambda: section.integer("n", None, 6, 10)).message
    assert "expected an integer" in refusal(lambda: section.integer("flag", None, 0, 10)).message
    assert section.boolean("flag", False) is True
    assert "expected true or false" in refusal(lambda: section.boolean("yes", False)).message
    assert section.string("s") == "text"
    assert refusal(lambda: section.string("blank")).message == "expected a non-empty string"
    assert refusal(lambda: section.string("absent")).message == "required"
    assert section.number("f", 0.2, 0, 1) == 0.5
    assert "between 0 and 1" in refusal(lambda: section.number("n", 0.2, 0, 1)).message
    assert section.duration_seconds("t", 300.0) == 0.5
    assert section.duration_seconds("absent", 300.0) == 300.0
    assert section.header_name("h") == "x-id"


@pytest.mark.parametrize(("value", "seconds"), [("30s", 30.0), ("500ms", 0.5), ("5m", 300.0), ("2", 2.0), (1.5, 1.5)])
def test_durations(value: Any, seconds: float) -> None:
    assert Section({"t": value}, "x", frozenset({"t"})).duration_seconds("t", 1.0) == seconds


@pytest.mark.parametrize(
    ("value", "says"), [("soon", "expected a duration"), ("0s", "must be positive"), (True, "duration")]
)
def test_bad_durations(value: Any, says: str) -> None:
    assert says in refusal(lambda: Section({"t": value}, "x", frozenset({"t"})).duration_seconds("t", 1.0)).message


@pytest.mark.parametrize("value", ["bad header", "x:y", "", 5])
def test_bad_header_names(value: Any) -> None:
    error = refusal(lambda: Section({"h": value}, "x", frozenset({"h"})).header_name("h"))
    assert (error.path, "not a valid HTTP header name" in error.message) == ("x.h", True)


def test_unknown_keys_name_the_field_and_suggest_the_closest() -> None:
    error = refusal(lambda: check_keys({"timout_ms": 1}, frozenset({"timeout_ms", "url"}), "routing.session_cache"))
    assert error.path == "routing.session_cache.timout_ms"
    assert error.message == "unknown key (did you mean 'timeout_ms'?); allowed: timeout_ms, url"
    top = refusal(lambda: check_keys({"zzz": 1}, frozenset({"version"}), ""))
    assert (top.path, top.message) == ("zzz", "unknown key; allowed: version")


def test_a_section_must_be_a_mapping() -> None:
    error = refusal(lambda: Section(["a"], "routing", frozenset()))
    assert (error.path, error.message) == ("routing", "expected a mapping, got list")
