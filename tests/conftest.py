"""Shared fixtures for the unit tiers, and how parametrized cases are named.

Async tests are plain `async def` functions marked `@pytest.mark.anyio`: anyio's pytest plugin (anyio comes
with httpx) runs each one on a fresh asyncio event loop, closed after the test, as `asyncio.run` did.

A parametrized case without an explicit id is named by its values: where pytest would say `argname0`,
`argname1`... (a dict, a list, a dataclass, a long string), `pytest_make_parametrize_id` below renders the
value itself, so `-v` and a failure say which case it was.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from seed_data import SEED_ENV, seed_config_data

from brightstaff.config import Config, parse_config

ID_LENGTH = 60


def _plain(value: object) -> str:
    """What JSON cannot hold: bytes as text, anything else by its type (never a repr with an address)."""
    return value.decode("ascii", "backslashreplace") if isinstance(value, bytes) else type(value).__name__


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """A dict, list or tuple as compact JSON, a dataclass by its plain fields, a long string or bytes cut
    short (all at most ID_LENGTH, ASCII-escaped); anything else as pytest names it."""
    if dataclasses.is_dataclass(val) and not isinstance(val, type):
        val = {f.name: v for f in dataclasses.fields(val) if isinstance(v := getattr(val, f.name), str | int | float)}
    if isinstance(val, dict | list | tuple):
        try:
            text = json.dumps(val, separators=(",", ":"), default=_plain)
        except (TypeError, ValueError):  # keys JSON cannot hold, a cycle
            return None
    elif isinstance(val, str | bytes) and len(val) > ID_LENGTH:
        text = val.decode("ascii", "backslashreplace") if isinstance(val, bytes) else val
        text = text.encode("unicode_escape").decode("ascii")
    else:
        return None
    return text if len(text) <= ID_LENGTH else text[: ID_LENGTH - 3] + "..."


@pytest.fixture
def anyio_backend() -> str:
    """asyncio only: brightstaff runs on asyncio (its native transport is an asyncio protocol), so the
    plugin's default of also trying trio would test a loop it never runs on."""
    return "asyncio"


@pytest.fixture
def config() -> Config:
    return parse_config(seed_config_data(), SEED_ENV)
