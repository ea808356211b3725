"""Shared fixtures for the unit tiers."""

from __future__ import annotations

import pytest
from seed_data import SEED_ENV, seed_config_data

from brightstaff.config import Config, parse_config


@pytest.fixture
def config() -> Config:
    return parse_config(seed_config_data(), SEED_ENV)
