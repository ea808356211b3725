"""Clients that rely on the fake model honouring the request, against the fake provider (no Envoy): the
openai SDK's chat.completions.parse (response_format and strict function tools), LangChain's
with_structured_output, and a strict agent with another agent's schemas for the demo's tools."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from demo_loop import running_provider
from langchain_openai import ChatOpenAI
from openai import OpenAI
from pydantic import BaseModel, SecretStr
from schema_table import PYDANTIC_MODELS, Flight, Person
from strict_agent import run_agent_loop

from brightstaff.demo.fake_provider import FakeProvider


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with running_provider("openai") as fake:
        yield fake


def sdk(provider: FakeProvider) -> OpenAI:
    return OpenAI(base_url=provider.base_url, api_key="sk-test", max_retries=0, timeout=10)


@pytest.mark.parametrize("model", PYDANTIC_MODELS, ids=lambda m: m.__name__)
def test_chat_completions_parse_gets_the_pydantic_object(provider: FakeProvider, model: type[BaseModel]) -> None:
    with sdk(provider) as client:
        completion = client.chat.completions.parse(
            model="gpt-4o", messages=[{"role": "user", "content": "fill it in"}], response_format=model
        )
    message = completion.choices[0].message
    assert isinstance(message.parsed, model)
    assert message.parsed == model.model_validate_json(message.content or "")
    sent = provider.chat_requests[-1].body["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["strict"] is True


def test_parse_with_a_strict_function_tool_gets_parsed_arguments(provider: FakeProvider) -> None:
    with sdk(provider) as client:
        completion = client.chat.completions.parse(
            model="gpt-4o",
            messages=[{"role": "user", "content": "book it"}],
            tools=[openai.pydantic_function_tool(Flight)],
            tool_choice={"type": "function", "function": {"name": "Flight"}},
        )
    [call] = completion.choices[0].message.tool_calls or []
    assert isinstance(call.function.parsed_arguments, Flight)
    assert completion.choices[0].finish_reason == "tool_calls"


def test_streamed_parse_assembles_the_same_object(provider: FakeProvider) -> None:
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "fill it in"}]
    with sdk(provider) as client:
        plain = client.chat.completions.parse(model="m", messages=messages, response_format=Person)
        with client.chat.completions.stream(model="m", messages=messages, response_format=Person) as stream:
            final = stream.get_final_completion()
    assert final.choices[0].message.parsed == plain.choices[0].message.parsed


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_langchain_with_structured_output(provider: FakeProvider, method: str) -> None:
    llm = ChatOpenAI(
        model="gpt-4o", base_url=provider.base_url, api_key=SecretStr("sk-test"), max_retries=0, timeout=10
    )
    structured = llm.with_structured_output(Flight, method=method)  # type: ignore[arg-type]
    result = structured.invoke("Book a flight from SFO to JFK")
    assert isinstance(result, Flight)
    body = provider.chat_requests[-1].body
    if method == "json_schema":
        assert body["response_format"]["type"] == "json_schema"
    else:
        assert body["tool_choice"]["function"]["name"] == "Flight"


@pytest.mark.anyio
async def test_a_strict_agent_with_other_schemas_for_the_demo_tools_completes(provider: FakeProvider) -> None:
    trace = await run_agent_loop(provider.base_url)
    assert trace.tool_calls == [
        ["get_db_benchmarks", "get_db_benchmarks"],
        ["get_case_studies", "get_case_studies"],
        ["check_feature_support"],
        [],
    ]
    assert trace.arguments[0] == ("get_db_benchmarks", {"database": "postgresql", "workload": "read_heavy"})
    assert trace.answer.startswith("Recommendation: PostgreSQL.")
    assert json.loads(provider.chat_requests[-1].body["messages"][-1]["content"])["supported"] is True
