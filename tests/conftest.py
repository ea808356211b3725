"""Shared fixtures for the unit tiers, and how parametrized cases are named.

Async tests are plain `async def` functions marked `@pytest.mark.anyio`: anyio's pytest plugin (anyio comes
with httpx) runs each one on a fresh asyncio event loop, closed after the test, as `asyncio.run` did.

A parametrized case without an explicit id is named by its values: where pytest would say `argname0`,
`argname1`... (a dict, a list, a dataclass, a long string), `pytest_make_parametrize_id` below renders the
value itself, so `-v` and a failure say which case it was.

Tests marked `grpc_in_process` (grpcio's server or client channel inside this process) run in a pytest
process of their own: `./dev test` runs `-m "not grpc_in_process"`, then `-m grpc_in_process`. CI once died
of a segfault in grpcio's C core in such a test after the e2e tier had run in the same process (its
session-scoped loop thread alive, hundreds of event loops opened and closed before); the same modules alone
never crashed here. Kept apart, grpcio's asyncio engine never runs in a process with the rest of the suite,
and `pytest_sessionfinish` below fails a run that deselected them but still started it.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading

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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run without the `grpc_in_process` tests must not have run grpcio's asyncio engine. Importing grpc
    (for its status codes, say) starts nothing; the engine's first call starts its poller thread, named by
    Python after its target, `_poll_wrapper`."""
    pollers = [t.name for t in threading.enumerate() if "_poll_wrapper" in t.name]
    if session.config.getoption("markexpr") == "not grpc_in_process" and pollers:
        print(f"\nERROR: grpcio's asyncio engine ran in the run that keeps it out: {pollers}", file=sys.stderr)
        print("mark the test `grpc_in_process` (tests/conftest.py says why)", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def anyio_backend() -> str:
    """asyncio only: brightstaff runs on asyncio (its native transport is an asyncio protocol), so the
    plugin's default of also trying trio would test a loop it never runs on."""
    return "asyncio"


@pytest.fixture
def config() -> Config:
    return parse_config(seed_config_data(), SEED_ENV)
