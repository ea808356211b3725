"""The end-to-end tier's parts: fake providers on a background loop, and Envoy + brightstaff stacks on free ports."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from loop_thread import LoopThread

from brightstaff.demo.fake_anthropic import start_fake_anthropic
from brightstaff.demo.fake_backend import FakeBackend
from brightstaff.demo.fake_provider import start_fake_provider
from harness.stack import KEYS as KEYS  # re-exported: the e2e modules import these from here
from harness.stack import Stack as Stack  # re-exported, as KEYS

T = TypeVar("T")


def e2e_config(
    openai: FakeBackend,
    anthropic: FakeBackend,
    *,
    more_providers: Sequence[dict[str, Any]] = (),
    routing: Mapping[str, Any] | None = None,
    **brightstaff: Any,
) -> dict[str, Any]:
    """The seed config with base URLs on the fake providers (Anthropic's speaks its native Messages API).

    `more_providers` are appended to the seed's three; `routing` keys are added to its `routing` section.
    """
    return {
        "version": "v0.3.0",
        "listeners": [{"type": "model", "name": "model_listener", "port": 12000, "address": "127.0.0.1"}],
        "model_providers": [
            {
                "model": "openai/gpt-4o-mini",
                "access_key": "$OPENAI_API_KEY",
                "default": True,
                "base_url": openai.base_url,
            },
            {
                "model": "openai/gpt-4o",
                "access_key": "$OPENAI_API_KEY",
                "base_url": openai.base_url,
                "routing_preferences": [
                    {
                        "name": "complex_reasoning",
                        "description": "complex reasoning tasks, multi-step analysis, or detailed explanations",
                    }
                ],
            },
            {
                "model": "anthropic/claude-sonnet-4-20250514",
                "access_key": "$ANTHROPIC_API_KEY",
                "base_url": anthropic.base_url,
                "routing_preferences": [
                    {
                        "name": "code_generation",
                        "description": "generating new code, writing functions, or creating boilerplate",
                    }
                ],
            },
            *more_providers,
        ],
        "routing": {"session_ttl_seconds": 600, "session_max_entries": 10000, **(routing or {})},
        "brightstaff": {"message_timeout_ms": 1000, **brightstaff},
    }


class Providers:
    def __init__(self, loop: LoopThread) -> None:
        self.loop = loop
        self.openai = loop.run(start_fake_provider("openai", chunk_delay=0.0))
        self.anthropic = loop.run(start_fake_anthropic(chunk_delay=0.0))

    def close(self) -> None:
        self.loop.run(self.openai.close())
        self.loop.run(self.anthropic.close())


_STACKS: list[Stack] = []  # every stack alive in this session, for log dumps on failure

StackFactory = Callable[..., Stack]


def launch(workdir: Path, config: dict[str, Any]) -> Stack:
    """Start brightstaff and Envoy for `config`, registered for log dumps until `retire`."""
    stack = Stack(workdir, config)
    _STACKS.append(stack)
    stack.start_brightstaff()
    stack.envoy.start()
    asyncio.run(stack.envoy.wait_ready())
    return stack


def retire(stack: Stack) -> None:
    stack.stop()
    _STACKS.remove(stack)
