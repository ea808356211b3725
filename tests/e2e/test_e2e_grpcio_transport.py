"""Key end-to-end behaviours again through real Envoy, with brightstaff on the grpcio transport.

The tests are the main tier's own functions, imported (not copied): only `make_stack` differs here, so
every stack this module starts (the default `stack` included) serves ext_proc with `transport: grpcio`.
"""

from __future__ import annotations

from typing import Any

import pytest
from e2e_stack import Stack, StackFactory
from test_e2e_bad_input import GOOD, send, test_bad_requests_get_openai_style_errors
from test_e2e_failure_modes import (
    test_fail_closed_answers_503_json_while_down_and_recovers,
    test_sigterm_drains_and_exits_cleanly,
)
from test_e2e_openai_sdk import (
    test_affinity_pins_the_first_model_for_every_later_turn,
    test_no_affinity_routes_each_request_by_intent,
    test_streaming_passes_chunk_by_chunk,
)

pytestmark = pytest.mark.e2e

__all__ = [  # re-exported so pytest collects them here, against this module's stacks
    "test_affinity_pins_the_first_model_for_every_later_turn",
    "test_bad_requests_get_openai_style_errors",
    "test_fail_closed_answers_503_json_while_down_and_recovers",
    "test_no_affinity_routes_each_request_by_intent",
    "test_sigterm_drains_and_exits_cleanly",
    "test_streaming_passes_chunk_by_chunk",
]


@pytest.fixture(scope="module")
def make_stack(make_stack: StackFactory) -> StackFactory:
    """The conftest factory with `transport: grpcio` unless a test asks otherwise."""

    def make(**brightstaff: Any) -> Stack:
        return make_stack(**{"transport": "grpcio", **brightstaff})

    return make


def test_the_stack_really_runs_the_grpcio_transport(stack: Stack) -> None:
    assert send(stack, "POST", "/v1/chat/completions", GOOD)[0] == 200
    assert "transport grpcio" in stack.brightstaff_log.read_text()
