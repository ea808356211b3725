"""Envoy's access log in the rendered bootstrap: JSON lines, on stdout by default, to a file, or off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from seed_data import SEED_ENV, seed_config_data

from brightstaff.config import parse_config
from brightstaff.core.headers import RESPONSE_HEADERS
from brightstaff.proxy.bootstrap import ACCESS_LOG_FIELDS, render_envoy
from brightstaff.proxy.envoy_process import validate_envoy_config


def access_logs(**server: Any) -> list[dict[str, Any]]:
    bootstrap = render_envoy(parse_config(seed_config_data(**server), SEED_ENV))
    hcm = bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    logs: list[dict[str, Any]] = hcm.get("access_log", [])
    return logs


def test_json_lines_on_stdout_by_default() -> None:
    (sink,) = access_logs()
    assert sink["name"] == "envoy.access_loggers.stdout"
    assert sink["typed_config"]["log_format"] == {"json_format": ACCESS_LOG_FIELDS}


def test_the_fields_say_what_happened_and_what_brightstaff_decided() -> None:
    for field in ("request_id", "method", "path", "status", "duration_ms", "bytes_received", "bytes_sent"):
        assert field in ACCESS_LOG_FIELDS
    assert ACCESS_LOG_FIELDS["upstream_cluster"] == "%UPSTREAM_CLUSTER%"
    assert ACCESS_LOG_FIELDS["response_flags"] == "%RESPONSE_FLAGS%"
    for field in RESPONSE_HEADERS.values():  # affinity, provider, model, route, affinity_source
        assert ACCESS_LOG_FIELDS[field] == f"%DYNAMIC_METADATA(brightstaff:{field})%"


def test_no_header_that_can_carry_a_credential_is_logged() -> None:
    logged = " ".join(ACCESS_LOG_FIELDS.values()).lower()
    for header in ("authorization", "x-api-key", "api-key", "cookie", "x-goog-api-key", "proxy-authorization"):
        assert f"({header})" not in logged
    assert ACCESS_LOG_FIELDS["path"] == "%PATH(WQ)%"  # a query string can carry a key (`?key=`)


def test_a_file_or_off() -> None:
    (sink,) = access_logs(access_log="/var/log/brightstaff/access.log")
    assert sink["name"] == "envoy.access_loggers.file"
    assert sink["typed_config"]["path"] == "/var/log/brightstaff/access.log"
    assert sink["typed_config"]["log_format"] == {"json_format": ACCESS_LOG_FIELDS}
    assert access_logs(access_log="off") == []
    assert access_logs(access_log=False) == []  # YAML's reading of a bare `off`


@pytest.mark.parametrize("destination", ["stdout", "file"])
def test_envoy_accepts_the_access_log(tmp_path: Path, destination: str) -> None:
    target = "stdout" if destination == "stdout" else str(tmp_path / "access.log")
    bootstrap = render_envoy(parse_config(seed_config_data(access_log=target), SEED_ENV))
    path = tmp_path / "envoy.yaml"
    path.write_text(yaml.safe_dump(bootstrap), encoding="utf-8")
    ok, output = validate_envoy_config(path)
    assert ok, output
