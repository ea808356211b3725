"""What the benchmark asks of the fakes: a streamed text answer of exactly the deltas `x-fake-answer-deltas`
names, in both fakes, and records bounded to the newest `keep_received`."""

from __future__ import annotations

import anthropic
import pytest
from demo_loop import running
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam

from brightstaff.demo.fake_anthropic import FakeAnthropic
from brightstaff.demo.fake_backend import ANSWER_DELTAS_HEADER
from brightstaff.demo.fake_provider import FakeProvider
from brightstaff.demo.scripted_model import Plan, stream_pieces, with_answer_deltas

QUESTION = "Which database fits orders and invoices?"
ASK: list[ChatCompletionMessageParam] = [{"role": "user", "content": QUESTION}]


@pytest.mark.parametrize("deltas", [1, 7, 48])
def test_a_text_plan_resized_streams_in_exactly_that_many_pieces(deltas: int) -> None:
    sized = with_answer_deltas(Plan(content="a short answer"), deltas)
    assert sized.content is not None
    assert len(stream_pieces(sized.content)) == deltas


@pytest.mark.parametrize("deltas", [1, 7, 48])
def test_the_openai_fake_streams_the_deltas_the_header_asks_for(deltas: int) -> None:
    with (
        running(FakeProvider(name="openai").start()) as fake,
        OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0, timeout=10) as client,
    ):
        stream = client.chat.completions.create(
            model="gpt-4o", messages=ASK, stream=True, extra_headers={ANSWER_DELTAS_HEADER: str(deltas)}
        )
        pieces = [chunk for chunk in stream if chunk.choices and chunk.choices[0].delta.content]
    assert len(pieces) == deltas


@pytest.mark.parametrize("deltas", [1, 7, 48])
def test_the_anthropic_fake_streams_the_deltas_the_header_asks_for(deltas: int) -> None:
    with (
        running(FakeAnthropic(name="anthropic").start()) as fake,
        anthropic.Anthropic(base_url=fake.base_url.removesuffix("/v1"), api_key="sk-test", max_retries=0) as client,
        client.messages.stream(
            model="claude-sonnet-4-20250514",
            max_tokens=1024,
            messages=[{"role": "user", "content": QUESTION}],
            extra_headers={ANSWER_DELTAS_HEADER: str(deltas)},
        ) as stream,
    ):
        pieces = [event for event in stream if event.type == "content_block_delta" and event.delta.type == "text_delta"]
    assert len(pieces) == deltas


def test_without_the_header_the_answer_is_the_scripted_one() -> None:
    with (
        running(FakeProvider(name="openai").start()) as fake,
        OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0, timeout=10) as client,
    ):
        answer = client.chat.completions.create(model="gpt-4o", messages=ASK).choices[0].message.content
    assert answer is not None and "w000" not in answer


def test_records_keep_only_the_newest_keep_received() -> None:
    with (
        running(FakeProvider(name="openai", keep_received=2).start()) as fake,
        OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0, timeout=10) as client,
    ):
        for turn in range(5):
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"turn {turn}"}])
        kept = [record.body["messages"][0]["content"] for record in fake.received if isinstance(record.body, dict)]
    assert kept == ["turn 3", "turn 4"]
