"""The command line: --help explains every command; check-config and render-envoy work on real files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from seed_data import SEED_ENV

from brightstaff.cli import main

SEED = Path(__file__).resolve().parents[1] / "examples" / "plano-model-affinity.yaml"  # the seed config, unchanged
V04 = Path(__file__).resolve().parent / "config" / "plano_shapes" / "v04_ranked.yaml"


@pytest.mark.parametrize("command", [[], ["serve"], ["up"], ["render-envoy"], ["check-config"], ["demo"]])
def test_help_explains_each_command(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: brightstaff" in out
    assert len(out.splitlines()) > 5


def test_help_of_serve_and_up_tells_how_they_stop(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("serve", "up"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert "--grace" in out and "drain_timeout_ms" in out
        assert "/readyz answers 503 at once" in out
        assert "A second signal stops at once" in out or "a second signal stops at once" in out
    with pytest.raises(SystemExit):
        main(["up", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "Envoy never outlives brightstaff" in out
    assert "debug and trace log request headers" in out


def test_envoy_log_level_must_be_one_envoy_knows(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["up", str(SEED), "--envoy-log-level", "verbose"])
    assert info.value.code == 2
    assert "invalid choice: 'verbose'" in capsys.readouterr().err


@pytest.fixture
def seed_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed config's access keys set in the environment, as `serve` and `up` need them."""
    for name, value in SEED_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def no_seed_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SEED_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("seed_keys")
def test_check_config_accepts_the_seed_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(SEED)]) == 0
    out = capsys.readouterr().out
    assert "config" in out and "OK" in out
    assert "anthropic/claude-sonnet-4-20250514" in out
    assert "envoy --mode validate: OK" in out
    assert "pin store: memory (max 10000 pins, ttl 600s sliding)" in out


def test_check_config_names_the_bad_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = yaml.safe_load(SEED.read_text())
    data["routing"] = {"session_ttl_secs": 60}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "routing.session_ttl_secs" in err
    assert "did you mean 'session_ttl_seconds'" in err


@pytest.mark.usefixtures("no_seed_keys")
def test_check_config_refuses_unset_access_keys_by_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(SEED)]) == 2
    captured = capsys.readouterr()
    assert "OK" not in captured.out
    assert "config error: model_providers[0].access_key: $OPENAI_API_KEY is not set" in captured.err
    assert "config error: model_providers[2].access_key: $ANTHROPIC_API_KEY is not set" in captured.err
    assert "--skip-env" in captured.err


@pytest.mark.usefixtures("no_seed_keys")
def test_check_config_skip_env_lists_unset_keys_as_notes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--skip-env", str(SEED)]) == 0
    out = capsys.readouterr().out
    assert "note: model_providers[2].access_key: $ANTHROPIC_API_KEY is not set (--skip-env: not checked)" in out
    assert "envoy --mode validate: OK" in out


@pytest.mark.usefixtures("no_seed_keys")
@pytest.mark.parametrize("command", [["serve"], ["up"], ["demo", "--config"]], ids=["serve", "up", "demo"])
def test_serve_up_and_demo_refuse_to_start_without_the_access_keys(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused before anything starts: no port is bound, no Envoy runs."""

    def must_not_start(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{command} started without the access keys")

    monkeypatch.setattr("brightstaff.server.app.build_app", must_not_start)
    monkeypatch.setattr("brightstaff.proxy.stack.Stack", must_not_start)
    monkeypatch.setattr("brightstaff.demo.runner.Stack", must_not_start)
    assert main([*command, str(SEED)]) == 2
    err = capsys.readouterr().err
    assert "config error: model_providers[0].access_key: $OPENAI_API_KEY is not set in the environment" in err


@pytest.mark.usefixtures("no_seed_keys")
def test_render_envoy_needs_no_access_keys(tmp_path: Path) -> None:
    """The Envoy config carries no credentials: rendering it works without them."""
    assert main(["render-envoy", str(SEED), "-o", str(tmp_path / "envoy.yaml")]) == 0


def test_render_envoy_writes_a_file(tmp_path: Path) -> None:
    out = tmp_path / "envoy.yaml"
    assert main(["render-envoy", str(SEED), "-o", str(out), "--extproc-port", "4321"]) == 0
    rendered = yaml.safe_load(out.read_text())
    assert rendered["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"] == 12000


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "brightstaff 0.1.0" in capsys.readouterr().out


def test_log_format_json_makes_every_log_line_a_json_object(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    data = yaml.safe_load(SEED.read_text())
    data["brightstaff"] = {"log_format": "json"}
    data["tracing"] = {"random_sampling": 10}  # no endpoint: tracing stays off, said in a config note
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data))
    done = subprocess.run(
        [sys.executable, "-m", "brightstaff", "render-envoy", str(config), "-o", str(tmp_path / "envoy.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines, "render-envoy logged nothing"
    documents = [json.loads(line) for line in lines]
    assert any("tracing" in d["message"] for d in documents)
    assert all({"time", "level", "logger", "message"} <= d.keys() for d in documents)


def test_check_config_shows_routes_fallbacks_aliases_and_what_is_not_honoured(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.setenv(name, "sk-test")
    assert main(["check-config", str(V04)]) == 0
    out = capsys.readouterr().out
    assert "  route travel_planning -> anthropic/claude-sonnet-4-5 (fallbacks: openai/gpt-4o)\n" in out
    assert (
        "  route sql_queries -> local-coder (fallbacks: openai/gpt-4o) [selection_policy cheapest: not honoured" in out
    )
    assert "  listener model_listener: 0.0.0.0:12000, timeout 300s\n" in out
    assert "note: routing_preferences[1].models[0]: 'mistral/codestral-latest' names no configured provider" in out
    assert "note: model_metrics_sources: " in out
    assert "envoy --mode validate: OK" in out
