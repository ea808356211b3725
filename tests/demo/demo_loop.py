"""Runs a fake provider on a background event loop so synchronous tests can use blocking clients on it.

When the test is done, every request the fake accepted is checked with answer_check: its plan honoured
what the request asked for, in whichever API it came (chat completions, Responses, Anthropic Messages).
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from answer_check import honoured_messages_plan, honoured_plan, honoured_responses_plan
from loop_thread import LoopThread

from brightstaff.demo import anthropic_checks, responses_wire
from brightstaff.demo.fake_anthropic import FakeAnthropic, start_fake_anthropic
from brightstaff.demo.fake_backend import FakeBackend
from brightstaff.demo.fake_provider import FakeProvider, start_fake_provider

Fake = TypeVar("Fake", bound=FakeBackend)


@contextmanager
def running(start: Coroutine[Any, Any, Fake]) -> Iterator[Fake]:
    """The fake `start` starts, on its own loop thread; closed, then its answers re-checked, at the end."""
    loop = LoopThread()
    try:
        fake = loop.run(start)
        try:
            yield fake
        finally:
            loop.run(fake.close())
        recheck(fake)
    finally:
        loop.close()


@contextmanager
def running_provider(name: str = "openai", **kwargs: Any) -> Iterator[FakeProvider]:
    with running(start_fake_provider(name, **kwargs)) as provider:
        yield provider


@contextmanager
def running_anthropic(**kwargs: Any) -> Iterator[FakeAnthropic]:
    with running(start_fake_anthropic(**kwargs)) as fake:
        yield fake


def recheck(fake: FakeBackend) -> None:
    """Every request the fake accepted got an answer that honours it (answer_check)."""
    if isinstance(fake, FakeProvider):
        for request in fake.chat_requests:
            if isinstance(request.body, dict) and isinstance(request.body.get("messages"), list):
                honoured_plan(request.body, fake.name)
        for request in fake.responses_requests:
            document = request.body
            previous = document.get("previous_response_id") if isinstance(document, dict) else None
            history = fake.conversation(previous) if isinstance(previous, str) else []
            if history is not None and responses_wire.check_request(document, history) is None:
                items = responses_wire.conversation_items(document, history)
                honoured_responses_plan(document, items, fake.name)
    if isinstance(fake, FakeAnthropic):
        for request in fake.messages_requests:
            verdict = anthropic_checks.check_request(request.body, fake.served_models, strict_turns=fake.strict_turns)
            if verdict is None:
                honoured_messages_plan(request.body, fake.name)
