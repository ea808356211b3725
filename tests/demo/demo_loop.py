"""Runs a fake provider on a background event loop so synchronous tests can use blocking clients on it.

When the test is done, every chat request the fake answered is checked with answer_check.honoured_plan.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from answer_check import honoured_plan
from loop_thread import LoopThread

from brightstaff.demo.fake_provider import FakeProvider, start_fake_provider

T = TypeVar("T")


@contextmanager
def running_provider(name: str = "openai", **kwargs: Any) -> Iterator[FakeProvider]:
    loop = LoopThread()
    try:
        provider = loop.run(start_fake_provider(name, **kwargs))
        try:
            yield provider
        finally:
            loop.run(provider.close())
        for request in provider.chat_requests:
            if isinstance(request.body, dict) and isinstance(request.body.get("messages"), list):
                honoured_plan(request.body, provider.name)
    finally:
        loop.close()
