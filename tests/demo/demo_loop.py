"""Runs fake providers on a background event loop so synchronous tests can use blocking clients on them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from brightstaff.demo.fake_provider import FakeProvider, start_fake_provider

T = TypeVar("T")


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="demo-test-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


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
