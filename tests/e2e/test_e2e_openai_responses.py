"""Through real Envoy with the official openai SDK's `client.responses` (issue 10), on three backends.

- `openai/gpt-4o`: OpenAI's own Responses API (the fake's `/v1/responses`): passed through, model rewritten,
  stored state (previous_response_id) working as the provider keeps it;
- `local/qwen-coder`: an OpenAI-compatible server that only speaks chat completions (the same fake, under a
  vendor that is not known to serve Responses): translated to `/v1/chat/completions` and back;
- `anthropic/claude-sonnet-4-20250514`: Anthropic's native Messages API: translated to `/v1/messages` and back.

Whatever the backend, the client sees the same response object and the same stream event sequence; what a
stateless translation cannot honour is a 400 in the Responses error shape naming the field.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import openai
import pytest
from client_apis import CLIENT_KEY, openai_client, x_headers
from e2e_stack import KEYS, Providers, Stack, StackFactory
from openai.types.responses import FunctionToolParam, Response

from brightstaff.demo.fake_backend import ReceivedRequest

pytestmark = pytest.mark.e2e

PASSTHROUGH = "openai/gpt-4o"
CHAT_ONLY = "local/qwen-coder"
ANTHROPIC = "anthropic/claude-sonnet-4-20250514"
BACKENDS = [PASSTHROUGH, CHAT_ONLY, ANTHROPIC]
TRANSLATED = [CHAT_ONLY, ANTHROPIC]
IDS = {PASSTHROUGH: "openai-native", CHAT_ONLY: "chat-only-translated", ANTHROPIC: "anthropic-translated"}
SERVED = {PASSTHROUGH: "gpt-4o", CHAT_ONLY: "qwen-coder", ANTHROPIC: "claude-sonnet-4-20250514"}
EACH_BACKEND = pytest.mark.parametrize("model", BACKENDS, ids=[IDS[m] for m in BACKENDS])
EACH_TRANSLATED = pytest.mark.parametrize("model", TRANSLATED, ids=[IDS[m] for m in TRANSLATED])

WEATHER: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "The current weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


@pytest.fixture(scope="module")
def stack(make_stack: StackFactory, providers: Providers) -> Stack:
    """The seed's providers plus a chat-completions-only OpenAI-compatible server (the OpenAI fake again)."""
    chat_only = {"model": CHAT_ONLY, "access_key": "$OPENAI_API_KEY", "base_url": providers.openai.base_url}
    return make_stack(more_providers=[chat_only])


def upstream(providers: Providers, model: str, marker: str) -> ReceivedRequest:
    """The one request carrying `marker` that reached `model`'s backend, on the path its API expects."""
    fake = providers.anthropic if model == ANTHROPIC else providers.openai
    path = {PASSTHROUGH: "/v1/responses", CHAT_ONLY: "/v1/chat/completions", ANTHROPIC: "/v1/messages"}[model]
    found = [r for r in fake.received if marker in r.raw_body.decode(errors="replace")]
    assert [r.path for r in found] == [path]
    return found[0]


@EACH_BACKEND
def test_string_input_gets_a_response_object_and_the_decision_headers(
    stack: Stack, providers: Providers, model: str
) -> None:
    marker = f"marker-{uuid.uuid4()}"
    with openai_client(stack) as client:
        raw = client.responses.with_raw_response.create(model=model, input=f"Hello there {marker}")
        response = raw.parse()
    assert response.object == "response"
    assert response.status == "completed"
    assert response.model == SERVED[model]
    assert response.output_text.startswith("This is the fake")
    assert marker in response.output_text
    assert response.usage is not None and response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    headers = x_headers(raw.headers)
    assert (headers["x-brightstaff-model"], headers["x-brightstaff-provider"]) == (SERVED[model], model)
    assert (headers["x-brightstaff-route"], headers["x-brightstaff-affinity"]) == ("explicit", "none")
    received = upstream(providers, model, marker)
    assert CLIENT_KEY not in json.dumps(received.headers)
    if model == ANTHROPIC:
        assert received.headers["x-api-key"] == KEYS["ANTHROPIC_API_KEY"]
        text = {"type": "text", "text": f"Hello there {marker}"}
        assert received.body["messages"] == [{"role": "user", "content": [text]}]
    else:
        assert received.headers["authorization"] == f"Bearer {KEYS['OPENAI_API_KEY']}"
    if model == PASSTHROUGH:
        assert received.body == {"model": "gpt-4o", "input": f"Hello there {marker}"}


@EACH_BACKEND
def test_item_list_and_instructions(stack: Stack, providers: Providers, model: str) -> None:
    marker = f"marker-{uuid.uuid4()}"
    items: list[Any] = [
        {"role": "user", "content": "Name a sorting algorithm."},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Merge sort."}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"Another? {marker}"}]},
    ]
    with openai_client(stack) as client:
        response = client.responses.create(model=model, instructions="Answer in one word.", input=items)
    assert response.model == SERVED[model]
    # Three turns reached the model (the chat fake counts the instructions' system message as a fourth).
    assert f"You sent {4 if model == CHAT_ONLY else 3} message(s)" in response.output_text
    assert marker in response.output_text
    received = upstream(providers, model, marker)
    if model == PASSTHROUGH:
        assert received.body == {"model": "gpt-4o", "instructions": "Answer in one word.", "input": items}
    elif model == CHAT_ONLY:
        assert received.body["messages"] == [
            {"role": "system", "content": "Answer in one word."},
            {"role": "user", "content": "Name a sorting algorithm."},
            {"role": "assistant", "content": "Merge sort."},
            {"role": "user", "content": f"Another? {marker}"},
        ]
    else:
        assert received.body["system"] == [{"type": "text", "text": "Answer in one word."}]
        assert [m["role"] for m in received.body["messages"]] == ["user", "assistant", "user"]


PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
PDF = "JVBERi0xLjQKJSBicmlnaHRzdGFmZiBlMmUKJSVFT0YK"


@EACH_TRANSLATED
def test_images_and_files_are_translated(stack: Stack, providers: Providers, model: str) -> None:
    marker = f"marker-{uuid.uuid4()}"
    png, pdf = f"data:image/png;base64,{PNG}", f"data:application/pdf;base64,{PDF}"
    parts: list[Any] = [
        {"type": "input_image", "image_url": png, "detail": "low"},
        {"type": "input_file", "filename": "brief.pdf", "file_data": pdf},
        {"type": "input_text", "text": f"What are these? {marker}"},
    ]
    with openai_client(stack) as client:
        response = client.responses.create(model=model, input=[{"role": "user", "content": parts}])
    assert response.status == "completed"
    content = upstream(providers, model, marker).body["messages"][0]["content"]
    if model == CHAT_ONLY:
        assert content == [
            {"type": "image_url", "image_url": {"url": png, "detail": "low"}},
            {"type": "file", "file": {"filename": "brief.pdf", "file_data": pdf}},
            {"type": "text", "text": f"What are these? {marker}"},
        ]
    else:
        assert [block["type"] for block in content] == ["image", "document", "text"]
        assert content[0]["source"] == {"type": "base64", "media_type": "image/png", "data": PNG}
        assert content[1]["source"] == {"type": "base64", "media_type": "application/pdf", "data": PDF}


@EACH_TRANSLATED
def test_a_file_id_on_a_translated_path_is_refused(stack: Stack, model: str) -> None:
    image = {"type": "input_image", "file_id": "file-0123456789abcdef"}
    parts: list[Any] = [image, {"type": "input_text", "text": "?"}]
    with openai_client(stack) as client, pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model=model, input=[{"role": "user", "content": parts}])
    body = refused.value.body
    assert isinstance(body, dict) and body["param"] == "input[0].content[0].file_id"


def _function_round_trip(stack: Stack, model: str, *, stream: bool) -> list[str]:
    """function_call → our function_call_output → the final answer; the served model of every turn."""
    conversation: list[Any] = [{"role": "user", "content": "What is the weather in Paris? Use the tool."}]
    served: list[str] = []
    with openai_client(stack) as client:
        for _ in range(4):
            if stream:
                with client.responses.stream(model=model, input=conversation, tools=[WEATHER]) as events:
                    response: Response = events.get_final_response()
            else:
                response = client.responses.create(model=model, input=conversation, tools=[WEATHER])
            served.append(response.model)
            calls = [item for item in response.output if item.type == "function_call"]
            if not calls:
                assert "1 tool result" in response.output_text
                return served
            assert all(call.name == "get_weather" for call in calls)
            assert all(isinstance(json.loads(call.arguments)["city"], str) for call in calls)
            conversation += [item.model_dump(exclude_none=True) for item in response.output]
            conversation += [
                {"type": "function_call_output", "call_id": call.call_id, "output": '{"temp_c": 21}'} for call in calls
            ]
    raise AssertionError(f"no final answer after 4 turns: {served}")


@EACH_BACKEND
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_a_function_tool_round_trip(stack: Stack, providers: Providers, model: str, stream: bool) -> None:
    assert _function_round_trip(stack, model, stream=stream) == [SERVED[model]] * 2
    if model == CHAT_ONLY:
        last = providers.openai.chat_requests[-1].body
        assert [m["role"] for m in last["messages"]] == ["user", "assistant", "tool"]
        assert last["messages"][2]["tool_call_id"] == last["messages"][1]["tool_calls"][0]["id"]
        assert last["tools"][0]["function"]["name"] == "get_weather"
    elif model == ANTHROPIC:
        last = providers.anthropic.messages_requests[-1].body
        assert [m["role"] for m in last["messages"]] == ["user", "assistant", "user"]
        assert last["messages"][2]["content"][0]["tool_use_id"] == last["messages"][1]["content"][-1]["id"]
        assert last["tools"][0]["name"] == "get_weather"
    else:
        last = providers.openai.responses_requests[-1].body
        kinds = [item.get("type", "message") for item in last["input"]]
        assert kinds[-2:] == ["function_call", "function_call_output"]


def _events(stack: Stack, model: str, text: str) -> tuple[list[Any], dict[str, str]]:
    with openai_client(stack) as client:
        raw = client.responses.with_raw_response.create(model=model, input=text, stream=True)
        return list(raw.parse()), x_headers(raw.headers)


@EACH_BACKEND
def test_stream_gives_the_real_event_sequence(stack: Stack, model: str) -> None:
    events, headers = _events(stack, model, "Tell me about B-trees.")
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[2:6] == [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == final.output_text == events[-4].text
    assert final.model == SERVED[model]
    assert final.status == "completed"
    assert headers["x-brightstaff-model"] == SERVED[model]


def test_translated_streams_match_the_native_event_sequence(stack: Stack) -> None:
    """The same conversation through each backend gives the same event types in the same order."""
    sequences = {model: [e.type for e in _events(stack, model, "Tell me about tries.")[0]] for model in BACKENDS}
    assert sequences[CHAT_ONLY] == sequences[PASSTHROUGH]
    assert sequences[ANTHROPIC] == sequences[PASSTHROUGH]


@EACH_TRANSLATED
@pytest.mark.parametrize(
    ("field", "extra"),
    [
        ("previous_response_id", {"previous_response_id": "resp_0123456789abcdef"}),
        ("background", {"background": True}),
        ("conversation", {"conversation": "conv_0123456789abcdef"}),
        ("tools[0].type", {"tools": [{"type": "web_search"}]}),
        ("input[0].type", {"input": [{"type": "item_reference", "id": "msg_0123456789abcdef"}]}),
    ],
    ids=["previous_response_id", "background", "conversation", "built-in-tool", "item_reference"],
)
def test_stateful_fields_on_a_translated_path_are_refused_naming_the_field(
    stack: Stack, providers: Providers, model: str, field: str, extra: dict[str, Any]
) -> None:
    marker = f"marker-{uuid.uuid4()}"
    before = len(providers.openai.received) + len(providers.anthropic.received)
    with openai_client(stack) as client, pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(**{"model": model, "input": f"hi {marker}", **extra})
    assert refused.value.status_code == 400
    body = refused.value.body
    assert isinstance(body, dict)  # the SDK hands over the `error` object of {"error": {...}}
    assert body["type"] == "invalid_request_error"
    assert body["code"] == "unsupported_parameter"
    assert body["param"] == field
    assert field in body["message"]
    assert len(providers.openai.received) + len(providers.anthropic.received) == before  # nothing forwarded


@EACH_TRANSLATED
def test_store_true_is_served_statelessly(stack: Stack, model: str) -> None:
    """`store` is the API's default and most clients send it: accepted, the response says it was not stored."""
    with openai_client(stack) as client:
        response = client.responses.create(model=model, input="hi", store=True)
    assert response.status == "completed"
    assert response.to_dict()["store"] is False


def test_previous_response_id_works_on_openais_own_api(stack: Stack, providers: Providers) -> None:
    """Passed through, stored state is the provider's: a continued response sees the earlier turn."""
    with openai_client(stack) as client:
        first = client.responses.create(model=PASSTHROUGH, input="Remember the number 7.")
        second = client.responses.create(model=PASSTHROUGH, input="Which number?", previous_response_id=first.id)
    assert "3 message(s)" in second.output_text  # user, assistant (stored), user
    assert providers.openai.responses_requests[-1].body["previous_response_id"] == first.id


def test_langchain_chat_openai_on_the_responses_api(stack: Stack) -> None:
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    chat = ChatOpenAI(
        model=ANTHROPIC,
        base_url=f"{stack.base_url}/v1",
        api_key=SecretStr(CLIENT_KEY),
        use_responses_api=True,
        max_retries=0,
        timeout=30,
    )
    reply = chat.invoke("Say hello through LangChain.")
    assert isinstance(reply.text, str) and reply.text.startswith("This is the fake")
    assert reply.response_metadata["model_name"] == SERVED[ANTHROPIC]
