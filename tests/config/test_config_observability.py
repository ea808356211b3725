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
