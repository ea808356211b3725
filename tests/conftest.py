"""Shared fixtures for the unit tiers.

Async tests are plain `async def` functions marked `@pytest.mark.anyio`: anyio's pytest plugin (anyio comes
with httpx) runs each one on a fresh asyncio event loop, closed after the test, as `asyncio.run` did.
"""

from __future__ import annotations

import pytest
from seed_data import SEED_ENV, seed_config_data

from brightstaff.config import Config, parse_config


@pytest.fixture
def anyio_backend() -> str:
    """asyncio only: brightstaff runs on asyncio (its native transport is an asyncio protocol), so the
    plugin's default of also trying trio would test a loop it never runs on."""
    return "asyncio"


@pytest.fixture
def config() -> Config:
    return parse_config(seed_config_data(), SEED_ENV)
