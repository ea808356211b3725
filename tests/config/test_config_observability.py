"""The observability keys: `brightstaff.access_log` and Plano's `tracing`."""

from __future__ import annotations

from typing import Any

import pytest
from seed_data import SEED_ENV, seed_config_data

from brightstaff.config import ConfigError, parse_config


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("stdout", "stdout"), ("off", "off"), (False, "off"), (True, "stdout"), ("/var/log/a.log", "/var/log/a.log")],
)
def test_access_log_destinations(raw: Any, expected: str) -> None:
    assert parse_config(seed_config_data(access_log=raw), SEED_ENV).server.access_log == expected


def test_access_log_is_on_stdout_by_default() -> None:
    assert parse_config(seed_config_data(), SEED_ENV).server.access_log == "stdout"


@pytest.mark.parametrize("raw", ["access.log", "", 3, "stderr", "/tmp/a\nb"])
def test_access_log_refuses_anything_else(raw: Any) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(seed_config_data(access_log=raw), SEED_ENV)
    assert info.value.path == "brightstaff.access_log"


def tracing(env: dict[str, str] | None = None, **section: Any) -> tuple[Any, tuple[str, ...]]:
    data = seed_config_data()
    data["tracing"] = section
    config = parse_config(data, {**SEED_ENV, **(env or {})})
    return config.tracing, config.notes


def test_tracing_is_off_without_the_key() -> None:
    config = parse_config(seed_config_data(), SEED_ENV)
    assert not config.tracing.enabled
    assert not [note for note in config.notes if note.startswith("tracing")]


def test_tracing_on_with_an_endpoint_and_sampling() -> None:
    settings, notes = tracing(random_sampling=25, opentracing_grpc_endpoint="http://collector:4317/")
    assert settings.enabled and settings.endpoint == "http://collector:4317" and settings.random_sampling == 25
    assert not [note for note in notes if note.startswith("tracing")]


def test_the_endpoint_may_come_from_the_environment_as_in_plano() -> None:
    settings, _ = tracing({"OTEL_TRACING_GRPC_ENDPOINT": "http://otel:4317"}, random_sampling=100)
    assert settings.enabled and settings.endpoint == "http://otel:4317"
    settings, _ = tracing(
        {"COLLECTOR": "https://otel.example:4317"}, random_sampling=100, opentracing_grpc_endpoint="$COLLECTOR"
    )
    assert settings.endpoint == "https://otel.example:4317"


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ({"random_sampling": 100}, "no opentracing_grpc_endpoint"),  # the seed's own tracing section
        ({"opentracing_grpc_endpoint": "http://otel:4317"}, "random_sampling is 0"),
        ({"random_sampling": 100, "opentracing_grpc_endpoint": "$UNSET_VARIABLE"}, "no opentracing_grpc_endpoint"),
    ],
)
def test_a_tracing_section_that_stays_off_says_why(section: dict[str, Any], says: str) -> None:
    settings, notes = tracing(**section)
    assert not settings.enabled
    assert any(note.startswith("tracing:") and says in note for note in notes)


def test_plano_tracing_keys_brightstaff_does_not_use_are_notes() -> None:
    _, notes = tracing(
        random_sampling=100,
        opentracing_grpc_endpoint="http://otel:4317",
        sampling_rate=0.5,
        trace_arch_internal=True,
        exporters=[{"type": "posthog", "url": "https://us.i.posthog.com"}],
        span_attributes={"header_prefixes": ["x-acme-"], "static": {"team": "infra", "replicas": 3}},
    )
    noted = {note.split(":", 1)[0] for note in notes}
    assert {"tracing.sampling_rate", "tracing.trace_arch_internal", "tracing.exporters"} <= noted
    assert "tracing.span_attributes.header_prefixes" in noted
    settings, _ = tracing(opentracing_grpc_endpoint="http://otel:4317", span_attributes={"static": {"team": "infra"}})
    assert settings.static_attributes == (("team", "infra"),)


@pytest.mark.parametrize(
    ("section", "path"),
    [
        ({"random_sampling": 101}, "tracing.random_sampling"),
        ({"random_sampling": "all"}, "tracing.random_sampling"),
        ({"opentracing_grpc_endpoint": "otel:4317"}, "tracing.opentracing_grpc_endpoint"),
        ({"opentracing_grpc_endpoint": "http://otel:99999"}, "tracing.opentracing_grpc_endpoint"),
        ({"random_sampling": 10, "opentracing_endpoint": "http://otel:4317"}, "tracing.opentracing_endpoint"),
        ({"span_attributes": {"static": {"team": ["a"]}}}, "tracing.span_attributes.static.team"),
        ({"span_attributes": {"dynamic": {}}}, "tracing.span_attributes.dynamic"),
    ],
)
def test_tracing_errors_name_the_field(section: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as info:
        tracing(**section)
    assert info.value.path == path
