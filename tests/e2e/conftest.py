"""The end-to-end tier: real Envoy, real brightstaff (its own process) and fake providers on loopback.

Each stack gets free ports, waits for readiness (brightstaff /readyz, Envoy /ready), and dumps its logs
only when a test that used it failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from e2e_stack import _STACKS, Providers, Stack, StackFactory, e2e_config, launch, retire
from loop_thread import LoopThread


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def _dump_logs_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for stack in _STACKS:
            print(f"\n===== logs of the stack in {stack.workdir} =====\n{stack.logs()}")


@pytest.fixture(scope="session")
def providers() -> Iterator[Providers]:
    loop = LoopThread()
    fakes = Providers(loop)
    yield fakes
    fakes.close()
    loop.close()


@pytest.fixture(scope="module")
def make_stack(tmp_path_factory: pytest.TempPathFactory, providers: Providers) -> Iterator[StackFactory]:
    """Start a stack with config overrides (`e2e_config`'s keywords); everything started is stopped with the
    module."""
    started: list[Stack] = []

    def make(**overrides: Any) -> Stack:
        config = e2e_config(providers.openai, providers.anthropic, **overrides)
        started.append(launch(tmp_path_factory.mktemp("stack"), config))
        return started[-1]

    yield make
    for stack in started:
        retire(stack)


@pytest.fixture(scope="module")
def stack(make_stack: StackFactory) -> Stack:
    """The default stack: fail closed, memory pins, embedded router."""
    return make_stack()
