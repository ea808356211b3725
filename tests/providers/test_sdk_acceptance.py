"""The official SDKs read translated answers: each SDK's client over an in-memory transport that serves them.

A provider answer (Anthropic's or an OpenAI-compatible server's) is run through the translator for the
other API, and the client of that other API parses the result through its real code path: streams,
JSON answers, mid-stream errors and error statuses.
"""

from __future__ import annotations

from collections.abc import Callable

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
from brightstaff.providers.chat_from_messages import ChatFromMessages
from brightstaff.providers.messages_from_chat import MessagesFromChat
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


CHAT_ARGS: dict[str, object] = {"model": "claude", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES_ARGS: dict[str, object] = {
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
    assert answer.content[0].text == "Hi"
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
