"""Runs a fake provider on a background event loop so synchronous tests can use blocking clients on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

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
    finally:
        loop.close()
