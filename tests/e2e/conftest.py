"""The end-to-end tier: real Envoy, real brightstaff (its own process) and fake providers on loopback.

Each stack gets free ports, waits for readiness (brightstaff /readyz, Envoy /ready), and dumps its logs
only when a test that used it failed.

Stacks serve ext_proc on brightstaff's native transport. The key tests also run on the grpcio one: they take
`transport_stack` (or `make_transport_stack`) instead of `stack` (`make_stack`), and run once per transport,
with ids `native` and `grpcio`. The native case is the module's own stack; the grpcio one a stack shared by
the session, so the grpcio cases cost one more stack, not one per module.
"""

from __future__ import annotations

import functools
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


TRANSPORTS = ("native", "grpcio")  # brightstaff's `transport:` values; native is the default


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """Each transport in turn, for a test that takes a stack on it."""
    name: str = request.param
    return name


@pytest.fixture(scope="session")
def grpcio_stack(tmp_path_factory: pytest.TempPathFactory, providers: Providers) -> Iterator[Stack]:
    """The default stack, serving ext_proc with `transport: grpcio`; shared by every module's grpcio cases."""
    stack = launch(
        tmp_path_factory.mktemp("stack"), e2e_config(providers.openai, providers.anthropic, transport="grpcio")
    )
    yield stack
    retire(stack)


@pytest.fixture
def transport_stack(transport: str, request: pytest.FixtureRequest) -> Stack:
    """The default stack on `transport`: the module's `stack` (native), or the session's grpcio one."""
    # Looked up by name so that only the stack a case uses is started.
    stack: Stack = request.getfixturevalue("stack" if transport == "native" else "grpcio_stack")
    return stack


@pytest.fixture
def make_transport_stack(transport: str, make_stack: StackFactory) -> StackFactory:
    """`make_stack` on `transport`, unless a test asks for another; the native one's config is unchanged."""
    return make_stack if transport == "native" else functools.partial(make_stack, transport=transport)
