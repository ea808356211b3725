"""The routing service's answer as plain data: ranked models, route, session, pinned, and brightstaff's fields."""

from __future__ import annotations

from typing import Any

import pytest

from brightstaff.config import Config, parse_config
from brightstaff.core.affinity_sources import Resolution
from brightstaff.core.decision import Affinity, Decision
from brightstaff.core.request import RequestFacts
from brightstaff.core.routing_service import routing_answer

V04: dict[str, Any] = {
    "version": "v0.4.0",
    "model_providers": [
        {"model": "openai/gpt-4o-mini", "default": True, "base_url": "http://127.0.0.1:1/v1"},
        {"model": "openai/gpt-4o", "base_url": "http://127.0.0.1:1/v1"},
        {"model": "anthropic/claude-sonnet-4-6", "base_url": "http://127.0.0.1:2/v1"},
    ],
    "routing_preferences": [
        {
            "name": "code_generation",
            "description": "generating new code",
            "models": ["anthropic/claude-sonnet-4-6", "openai/gpt-4o", "openai/not-configured"],
        }
    ],
}
CONFIG: Config = parse_config(V04, env={})


def decision(provider: str, route: str | None, affinity: Affinity) -> Decision:
    found = CONFIG.provider(provider)
    assert found is not None
    return Decision(found, route, affinity, "pinned" if affinity == Affinity.PINNED else "preference")


FACTS = RequestFacts(method="POST", path="/routing/v1/chat/completions", request_id="rid-1")
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize(
    ("made", "resolution", "facts", "expected"),
    [
        (
            decision("anthropic/claude-sonnet-4-6", "code_generation", Affinity.NEW),
            Resolution("my-session-123", "header"),
            FACTS,
            {
                "models": ["anthropic/claude-sonnet-4-6", "openai/gpt-4o"],
                "route": "code_generation",
                "trace_id": "rid-1",
                "pinned": False,
                "switched": False,
                "affinity": "new",
                "provider": "anthropic/claude-sonnet-4-6",
                "model": "claude-sonnet-4-6",
                "affinity_source": "header",
                "session_id": "my-session-123",
            },
        ),
        (
            decision("anthropic/claude-sonnet-4-6", "code_generation", Affinity.PINNED),
            Resolution("acme|my-session-123", "claude-code"),
            RequestFacts(method="POST", path="/routing/v1/messages", traceparent=TRACE),
            {
                "models": ["anthropic/claude-sonnet-4-6", "openai/gpt-4o"],
                "route": "code_generation",
                "trace_id": "0af7651916cd43dd8448eb211c80319c",
                "pinned": True,
                "switched": False,
                "affinity": "pinned",
                "provider": "anthropic/claude-sonnet-4-6",
                "model": "claude-sonnet-4-6",
                "affinity_source": "claude-code",
                "session_id": "my-session-123",  # the tenant scope is brightstaff's, not the client's id
            },
        ),
        (
            decision("openai/gpt-4o-mini", None, Affinity.NONE),
            Resolution(None),
            FACTS,
            {
                "models": ["openai/gpt-4o-mini"],
                "route": None,
                "trace_id": "rid-1",
                "pinned": False,
                "switched": False,
                "affinity": "none",
                "provider": "openai/gpt-4o-mini",
                "model": "gpt-4o-mini",
                "affinity_source": "none",
            },
        ),
    ],
    ids=["first request of a session", "pinned, tenant-scoped, traced", "no affinity, default model"],
)
def test_routing_answer(made: Decision, resolution: Resolution, facts: RequestFacts, expected: dict[str, Any]) -> None:
    assert routing_answer(made, resolution, facts, CONFIG) == expected
