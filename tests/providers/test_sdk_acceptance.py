"""The official SDKs read translated answers: each SDK's client over an in-memory transport that serves them.

A provider answer (Anthropic's or an OpenAI-compatible server's) is run through the translator for the
other API, and the client of that other API parses the result through its real code path: streams,
JSON answers, mid-stream errors and error statuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import httpx2
import openai
import orjson
import pytest
from test_chat_from_messages import FULL as ANTHROPIC_STREAM
from test_chat_from_messages import MESSAGE_START, anthropic_error, message
from test_messages_from_chat import FULL as OPENAI_STREAM
from test_messages_from_chat import LONG_NAME, chunk, completion
from translator_fixtures import JSON_HEADERS, SSE_HEADERS, anthropic_sse, openai_sse, run

from brightstaff.core.outcome import ResponseTranslator
from brightstaff.core.responses import parse_responses
from brightstaff.providers.chat_from_messages import ChatFromMessages
from brightstaff.providers.messages_from_chat import MessagesFromChat
from brightstaff.providers.responses_events import ResponseFrame, response_echo
from brightstaff.providers.responses_from_chat import ResponsesFromChat
from brightstaff.providers.responses_from_messages import ResponsesFromMessages
from brightstaff.providers.tool_naming import short_tool_name


def serving(make: Callable[[], ResponseTranslator], status: int, headers: dict[str, str], body: bytes) -> httpx2.Client:
    """An HTTP client whose every request gets the provider answer, translated as brightstaff would."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        translator = make()
        start, out = run(translator, [body], status=status, headers=headers)
        sent = {k: v for k, v in headers.items() if k not in start.remove_headers}
        sent.update(start.set_headers)
        return httpx2.Response(status, headers=sent, content=out)

    return httpx2.Client(transport=httpx2.MockTransport(handle))


def openai_client(status: int, headers: dict[str, str], body: bytes) -> openai.OpenAI:
    http = serving(lambda: ChatFromMessages(include_usage=True), status, headers, body)
    return openai.OpenAI(api_key="k", base_url="http://brightstaff.test/v1", http_client=http, max_retries=0)


def anthropic_client(status: int, headers: dict[str, str], body: bytes) -> anthropic.Anthropic:
    http = serving(lambda: MessagesFromChat(tool_names={short_tool_name(LONG_NAME): LONG_NAME}), status, headers, body)
    return anthropic.Anthropic(api_key="k", base_url="http://brightstaff.test", http_client=http, max_retries=0)


CHAT_ARGS: dict[str, Any] = {"model": "claude", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES_ARGS: dict[str, Any] = {
    "model": "llama",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": "hi"}],
}


def test_openai_sdk_streams_a_translated_anthropic_stream() -> None:
    client = openai_client(200, SSE_HEADERS, ANTHROPIC_STREAM)
    with client.chat.completions.stream(**CHAT_ARGS, stream_options={"include_usage": True}) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "Hé 日本"
    assert final.choices[0].finish_reason == "tool_calls"
    assert [c.function.arguments for c in final.choices[0].message.tool_calls or []] == ['{"x":1}', "{}"]
    assert final.usage is not None and final.usage.total_tokens == 155


def test_openai_sdk_raises_on_a_translated_mid_stream_error() -> None:
    stream = anthropic_sse(
        MESSAGE_START, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    client = openai_client(200, SSE_HEADERS, stream)
    with pytest.raises(openai.APIError, match="Overloaded"):
        for _ in client.chat.completions.create(**CHAT_ARGS, stream=True):
            pass


def test_openai_sdk_reads_a_translated_json_answer() -> None:
    client = openai_client(200, JSON_HEADERS, orjson.dumps(message([{"type": "text", "text": "Hi"}])))
    answer = client.chat.completions.create(**CHAT_ARGS)
    assert answer.choices[0].message.content == "Hi"


@pytest.mark.parametrize(
    ("status", "kind", "exception"),
    [
        (429, "rate_limit_error", openai.RateLimitError),
        (529, "overloaded_error", openai.InternalServerError),
        (400, "invalid_request_error", openai.BadRequestError),
    ],
)
def test_openai_sdk_raises_by_status_on_translated_errors(status: int, kind: str, exception: type[Exception]) -> None:
    client = openai_client(
        status, {"content-type": "application/json", "retry-after": "0"}, anthropic_error(kind, "nope")
    )
    with pytest.raises(exception) as info:
        client.chat.completions.create(**CHAT_ARGS)
    assert isinstance(info.value, openai.APIStatusError)
    assert info.value.status_code == status
    assert info.value.response.headers["retry-after"] == "0"


def test_anthropic_sdk_streams_a_translated_openai_stream() -> None:
    client = anthropic_client(200, SSE_HEADERS, OPENAI_STREAM)
    with client.messages.stream(**MESSAGES_ARGS) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == "Hé 日本"
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use", "tool_use"]
    assert final.content[3].type == "tool_use" and final.content[3].name == LONG_NAME
    assert final.stop_reason == "tool_use"


def test_anthropic_sdk_raises_on_a_translated_mid_stream_error() -> None:
    stream = openai_sse(chunk({"content": "x"}), {"error": {"message": "engine died", "code": 500}})
    client = anthropic_client(200, SSE_HEADERS, stream)
    with pytest.raises(anthropic.APIStatusError, match="engine died"), client.messages.stream(**MESSAGES_ARGS) as s:
        s.get_final_message()


def test_anthropic_sdk_reads_a_translated_json_answer() -> None:
    client = anthropic_client(200, JSON_HEADERS, orjson.dumps(completion({"content": "Hi"}, "stop")))
    answer = client.messages.create(**MESSAGES_ARGS)
    block = answer.content[0]
    assert isinstance(block, anthropic.types.TextBlock) and block.text == "Hi"
    assert answer.stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("status", "body", "exception"),
    [
        (
            401,
            b'{"error":{"message":"bad key","type":"invalid_request_error","code":"invalid_api_key"}}',
            anthropic.AuthenticationError,
        ),
        (413, b"Request Entity Too Large", anthropic.APIStatusError),
        (429, b'{"error":{"message":"slow down"}}', anthropic.RateLimitError),
    ],
)
def test_anthropic_sdk_raises_by_status_on_translated_errors(
    status: int, body: bytes, exception: type[Exception]
) -> None:
    client = anthropic_client(status, {"content-type": "text/plain"}, body)
    with pytest.raises(exception) as info:
        client.messages.create(**MESSAGES_ARGS)
    assert isinstance(info.value, anthropic.APIStatusError)
    assert info.value.status_code == status
    assert isinstance(info.value.body, dict) and info.value.body["type"] == "error"


# -- the Responses API: client.responses.create / .stream over translated chat and Anthropic answers --

RESPONSES_ARGS: dict[str, Any] = {
    "model": "gpt-5",
    "input": "hi",
    "tools": [
        {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True},
        {"type": "function", "name": "g", "parameters": {"type": "object"}, "strict": False},
        {"type": "function", "name": LONG_NAME, "parameters": {"type": "object"}, "strict": False},
    ],
}
_ECHO = response_echo(parse_responses(orjson.dumps(RESPONSES_ARGS)))


def from_chat() -> ResponseTranslator:
    return ResponsesFromChat(ResponseFrame(_ECHO, "m"), tool_names={short_tool_name(LONG_NAME): LONG_NAME})


def from_messages() -> ResponseTranslator:
    return ResponsesFromMessages(ResponseFrame(_ECHO, "m"))


def responses_client(
    make: Callable[[], ResponseTranslator], status: int, headers: dict[str, str], body: bytes
) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="k",
        base_url="http://brightstaff.test/v1",
        http_client=serving(make, status, headers, body),
        max_retries=0,
    )


@pytest.mark.parametrize(
    ("make", "stream", "text", "calls"),
    [
        (from_chat, OPENAI_STREAM, "Hé 日本", [("f", '{"x":1}'), (LONG_NAME, "{}")]),
        (from_messages, ANTHROPIC_STREAM, "Hé 日本", [("f", '{"x":1}'), ("g", "{}")]),
    ],
    ids=["chat stream", "anthropic stream"],
)
def test_openai_sdk_accumulates_a_translated_responses_stream(
    make: Callable[[], ResponseTranslator], stream: bytes, text: str, calls: list[tuple[str, str]]
) -> None:
    client = responses_client(make, 200, SSE_HEADERS, stream)
    with client.responses.stream(**RESPONSES_ARGS) as events:
        deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
        final = events.get_final_response()
    assert "".join(deltas) == text == final.output_text
    assert [(c.name, c.arguments) for c in final.output if c.type == "function_call"] == calls
    assert next(c.parsed_arguments for c in final.output if c.type == "function_call") == {"x": 1}
    assert final.usage is not None and final.usage.total_tokens > 0
    assert final.output[0].type == "reasoning"


@pytest.mark.parametrize(
    ("make", "body", "text"),
    [
        (from_chat, orjson.dumps(completion({"content": "Hi"}, "stop")), "Hi"),
        (from_messages, orjson.dumps(message([{"type": "text", "text": "Hi"}])), "Hi"),
    ],
    ids=["chat answer", "anthropic answer"],
)
def test_openai_sdk_reads_a_translated_responses_answer(
    make: Callable[[], ResponseTranslator], body: bytes, text: str
) -> None:
    answer = responses_client(make, 200, JSON_HEADERS, body).responses.create(**RESPONSES_ARGS)
    assert answer.output_text == text and answer.status == "completed"


def test_openai_sdk_sees_a_failed_response_on_a_mid_stream_error() -> None:
    stream = anthropic_sse(
        MESSAGE_START, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    client = responses_client(from_messages, 200, SSE_HEADERS, stream)
    events = list(client.responses.create(**RESPONSES_ARGS, stream=True))
    assert [e.type for e in events][-2:] == ["error", "response.failed"]
    failed = events[-1]
    assert failed.type == "response.failed" and failed.response.error is not None
    assert failed.response.error.message == "Overloaded"
    with client.responses.stream(**RESPONSES_ARGS) as accumulated, pytest.raises(RuntimeError):
        accumulated.get_final_response()


@pytest.mark.parametrize(
    ("status", "exception"),
    [(429, openai.RateLimitError), (400, openai.BadRequestError), (529, openai.InternalServerError)],
)
def test_openai_sdk_raises_by_status_on_translated_responses_errors(status: int, exception: type[Exception]) -> None:
    client = responses_client(from_messages, status, {"content-type": "application/json"}, anthropic_error("x", "nope"))
    with pytest.raises(exception) as info:
        client.responses.create(**RESPONSES_ARGS)
    assert isinstance(info.value, openai.APIStatusError) and info.value.status_code == status
