"""The command line: --help explains every command; check-config and render-envoy work on real files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from brightstaff.cli import main

SEED = Path(__file__).resolve().parents[1] / "examples" / "plano-model-affinity.yaml"  # the seed config, unchanged


@pytest.mark.parametrize("command", [[], ["serve"], ["up"], ["render-envoy"], ["check-config"], ["demo"]])
def test_help_explains_each_command(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: brightstaff" in out
    assert len(out.splitlines()) > 5


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


def test_render_envoy_writes_a_file(tmp_path: Path) -> None:
    out = tmp_path / "envoy.yaml"
    assert main(["render-envoy", str(SEED), "-o", str(out), "--extproc-port", "4321"]) == 0
    rendered = yaml.safe_load(out.read_text())
    assert rendered["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"] == 12000


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "brightstaff 0.1.0" in capsys.readouterr().out
