"""The fake provider: the official openai SDK against it, its OpenAI-style errors, records, and the process.

The HTTP/1.1 framing under it is tested in test_http_server.py, the scripted model in test_scripted_model.py.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from demo_loop import running_provider
from fake_process import fake_process
from loop_thread import LoopThread
from openai import OpenAI
from raw_http import exchange as raw_exchange
from raw_http import get, parse_responses, post
from tool_specs import DEMO_TOOLS, WEATHER_TOOLS

from brightstaff.demo.fake_provider import FakeProvider, start_fake_provider


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with running_provider("anthropic") as fake:
        yield fake


def sdk(provider: FakeProvider, **kwargs: Any) -> OpenAI:
    return OpenAI(base_url=provider.base_url, api_key="sk-test-key", max_retries=0, timeout=10, **kwargs)


def exchange(provider: FakeProvider, data: bytes) -> bytes:
    return raw_exchange(provider.port, data, host=provider.host)


CHAT = json.dumps({"model": "m-1", "messages": [{"role": "user", "content": "ping"}]}).encode()


# --------------------------------------------------------------------------------------------------
# Through the official SDK


def test_text_answer_echoes_the_model_and_names_the_provider(provider: FakeProvider) -> None:
    with sdk(provider) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="claude-sonnet-4-20250514", messages=[{"role": "user", "content": "hello there"}]
        )
        completion = raw.parse()
    assert raw.headers["x-fake-provider"] == "anthropic"
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "claude-sonnet-4-20250514"
    choice = completion.choices[0]
    assert choice.index == 0
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.tool_calls is None
    assert "hello there" in (choice.message.content or "")
    assert completion.usage is not None
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_demo_tools_follow_the_investigation_script(provider: FakeProvider) -> None:
    messages: list[Any] = [{"role": "user", "content": "pick a database"}]
    seen: list[list[tuple[str, dict[str, Any]]]] = []
    with sdk(provider) as client:
        for _ in range(6):
            completion = client.chat.completions.create(model="gpt-4o", messages=messages, tools=DEMO_TOOLS)
            message = completion.choices[0].message
            if not message.tool_calls:
                assert completion.choices[0].finish_reason == "stop"
                assert "PostgreSQL" in (message.content or "")
                break
            assert completion.choices[0].finish_reason == "tool_calls"
            assert message.content is None
            calls = [c for c in message.tool_calls if c.type == "function"]
            seen.append([(c.function.name, json.loads(c.function.arguments)) for c in calls])
            messages.append(message.model_dump(exclude_none=True))
            messages += [{"role": "tool", "tool_call_id": c.id, "content": "{}"} for c in calls]
    assert seen == [
        [("get_db_benchmarks", {"workload": "read-heavy"}), ("get_db_benchmarks", {"workload": "write-heavy"})],
        [("get_case_studies", {"database": "postgresql"}), ("get_case_studies", {"database": "mongodb"})],
        [("check_feature_support", {"database": "mongodb", "feature": "multi-document ACID transactions"})],
    ]


def test_generic_tools_are_called_in_order_with_schema_arguments_then_answered(provider: FakeProvider) -> None:
    messages: list[Any] = [{"role": "user", "content": "weather?"}]
    names = []
    with sdk(provider) as client:
        for _ in range(5):
            message = (
                client.chat.completions.create(model="m", messages=messages, tools=WEATHER_TOOLS).choices[0].message
            )
            if not message.tool_calls:
                break
            call = message.tool_calls[0]
            assert call.type == "function"
            names.append(call.function.name)
            if call.function.name == "get_weather":
                assert json.loads(call.function.arguments) == {"city": "example", "unit": "celsius"}
            messages.append(message.model_dump(exclude_none=True))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": "sunny"})
    assert names == ["get_weather", "get_time"]
    assert "2 tool result(s)" in (message.content or "")


def test_streaming_tool_calls_arrive_as_openai_deltas(provider: FakeProvider) -> None:
    with sdk(provider) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "go"}],
            tools=DEMO_TOOLS,
            stream=True,
            stream_options={"include_usage": True},
        )
        with raw.parse() as stream:
            chunks = list(stream)
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.headers["x-fake-provider"] == "anthropic"
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert {c.model for c in chunks} == {"gpt-4o"}
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks[:-2]:
        assert chunk.usage is None
        for part in chunk.choices[0].delta.tool_calls or []:
            slot = calls.setdefault(part.index, {"id": "", "name": "", "args": ""})
            if part.id is not None:
                assert not slot["id"], "the id comes once, in the call's first delta"
                assert part.type == "function"
                slot["id"] = part.id
            assert part.function is not None
            slot["name"] += part.function.name or ""
            slot["args"] += part.function.arguments or ""
    assert [c["name"] for c in calls.values()] == ["get_db_benchmarks", "get_db_benchmarks"]
    assert [json.loads(c["args"]) for c in calls.values()] == [{"workload": "read-heavy"}, {"workload": "write-heavy"}]
    assert all(c["id"].startswith("call_") for c in calls.values())
    # Arguments really arrive in pieces, as they do from OpenAI.
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.tool_calls) > 4
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None


def test_streaming_text_assembles_to_the_non_streaming_answer(provider: FakeProvider) -> None:
    messages: list[Any] = [{"role": "user", "content": "tell me something"}]
    with sdk(provider) as client:
        whole = client.chat.completions.create(model="m", messages=messages).choices[0].message.content
        with client.chat.completions.create(model="m", messages=messages, stream=True) as stream:
            chunks = list(stream)
    assert len(chunks) > 4
    assert all(c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stream_is_sent_chunk_by_chunk_with_the_delay(provider: FakeProvider) -> None:
    provider.chunk_delay = 0.05
    body = json.dumps({"model": "m", "stream": True, "messages": [{"role": "user", "content": "a b c d e f"}]})
    arrivals = []
    with socket.create_connection((provider.host, provider.port), timeout=10) as sock:
        sock.sendall(post("/v1/chat/completions", body.encode(), "Connection: close\r\n"))
        received = bytearray()
        while chunk := sock.recv(65536):
            arrivals.append(time.monotonic())
            received += chunk
    [(status, headers, payload)] = parse_responses(bytes(received))
    assert status == 200
    assert headers["transfer-encoding"] == "chunked"
    assert "content-length" not in headers
    events = [e for e in payload.decode().split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    # Buffered, everything would land at once; streamed, the reads spread over the delays.
    assert len(arrivals) >= len(events) // 2
    assert arrivals[-1] - arrivals[0] >= 0.05 * (len(events) - 2) * 0.8


def test_records_what_arrived(provider: FakeProvider) -> None:
    with sdk(provider, default_headers={"X-Model-Affinity": "run-7"}) as client:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "marker-42"}])
    [record] = provider.received
    assert record.method == "POST"
    assert record.path == "/v1/chat/completions"
    assert record.headers["authorization"] == "Bearer sk-test-key"
    assert record.headers["x-model-affinity"] == "run-7"
    assert record.body["model"] == "gpt-4o"
    assert record.body["messages"][0]["content"] == "marker-42"
    assert int(record.headers["content-length"]) == len(record.raw_body)
    assert provider.chat_requests == [record]


def test_models_endpoint_lists_the_vendors_models(provider: FakeProvider) -> None:
    with sdk(provider) as client:
        assert [m.id for m in client.models.list()] == ["claude-sonnet-4-20250514"]


def test_fail_header_returns_that_status_as_an_openai_error(provider: FakeProvider) -> None:
    with sdk(provider) as client, pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], extra_headers={"x-fake-fail": "503"}
        )
    assert caught.value.status_code == 503
    assert caught.value.response.headers["x-fake-provider"] == "anthropic"
    assert caught.value.code == "fake_failure"


def test_fail_status_attribute_and_hang_up(provider: FakeProvider) -> None:
    provider.fail_status = 429
    with sdk(provider) as client:
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        provider.fail_status = None
        with pytest.raises(openai.APIConnectionError):
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}], extra_headers={"x-fake-fail": "close"}
            )
        assert client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}]).model == "m"


def test_api_key_is_enforced_when_configured() -> None:
    with running_provider("openai", api_key="right") as fake:
        with sdk(fake) as client, pytest.raises(openai.AuthenticationError):
            client.models.list()
        with OpenAI(base_url=fake.base_url, api_key="right", max_retries=0) as client:
            assert client.models.list().data[0].id == "gpt-4o-mini"


# --------------------------------------------------------------------------------------------------
# Raw HTTP/1.1: the status codes and error bodies clients see


def test_malformed_json_is_an_openai_400(provider: FakeProvider) -> None:
    [(status, headers, body)] = parse_responses(exchange(provider, post("/v1/chat/completions", b"{nope")))
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert headers["x-fake-provider"] == "anthropic"
    error = json.loads(body)["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_json"
    assert provider.received[0].body is None
    assert provider.received[0].raw_body == b"{nope"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "invalid_json"),
        (b"[1]", "invalid_request_body"),
        (b'{"messages": []}', "missing_required_parameter"),
        (b'{"model": "m"}', "missing_required_parameter"),
    ],
)
def test_invalid_chat_bodies(provider: FakeProvider, body: bytes, code: str) -> None:
    [(status, _, payload)] = parse_responses(exchange(provider, post("/v1/chat/completions", body)))
    assert status == 400
    assert json.loads(payload)["error"]["code"] == code


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /v1/embeddings HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        (b"GET /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        (b"POST /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
    ],
)
def test_unknown_paths_and_methods(provider: FakeProvider, request_bytes: bytes, status: int) -> None:
    [(got, _, payload)] = parse_responses(exchange(provider, request_bytes))
    assert got == status
    assert json.loads(payload)["error"]["message"]


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        pytest.param(b"this is not http\r\n\r\n", 400, "bad_request", id="malformed"),
        pytest.param(post("/v1/chat/completions", b"", "X-Many: 1\r\n" * 130), 431, "headers_too_large", id="head"),
        pytest.param(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n",
            413,
            "request_too_large",
            id="body",
        ),
    ],
)
def test_requests_the_server_refuses_get_an_openai_error_and_a_close(
    provider: FakeProvider, request_bytes: bytes, status: int, code: str
) -> None:
    [(got, headers, payload)] = parse_responses(exchange(provider, request_bytes))
    assert got == status
    assert headers["x-fake-provider"] == "anthropic"
    assert headers["connection"] == "close"
    error = json.loads(payload)["error"]
    assert (error["code"], error["type"]) == (code, "invalid_request_error")
    assert provider.received == []


def test_control_endpoint_lists_and_clears_records(provider: FakeProvider) -> None:
    exchange(provider, post("/v1/chat/completions", CHAT))
    [(_, _, body)] = parse_responses(exchange(provider, get("/_fake/received")))
    [record] = json.loads(body)
    assert record["body"]["model"] == "m-1"
    assert record["headers"]["content-type"] == "application/json"
    exchange(provider, b"DELETE /_fake/received HTTP/1.1\r\nHost: fake\r\n\r\n")
    assert provider.received == []


def test_close_drops_idle_keep_alive_connections() -> None:
    loop = LoopThread()
    try:
        fake = loop.run(start_fake_provider("openai"))
        with socket.create_connection((fake.host, fake.port), timeout=10) as sock:
            sock.sendall(get("/v1/models"))
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
            loop.run(fake.close())
            assert sock.recv(65536) == b"", "the idle connection was closed by the server"
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((fake.host, fake.port), timeout=10).close()
    finally:
        loop.close()


def test_custom_prefix_and_close_are_idempotent() -> None:
    with running_provider("openai", path_prefix="/openai/v1/") as fake:
        assert fake.base_url == f"http://127.0.0.1:{fake.port}/openai/v1"
        with sdk(fake) as client:
            assert client.chat.completions.create(model="x", messages=[]).model == "x"
        [(status, _, _)] = parse_responses(exchange(fake, get("/v1/models")))
        assert status == 404


# --------------------------------------------------------------------------------------------------
# As a process


def test_runs_as_a_process_with_a_ready_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    with (
        fake_process("fake_provider", ["--name", "openai"], tmp_path) as running,
        OpenAI(base_url=running.info["base_url"], api_key="k", max_retries=0, timeout=10) as client,
    ):
        assert client.chat.completions.create(model="gpt-4o", messages=[]).model == "gpt-4o"
    assert running.received[0]["body"]["model"] == "gpt-4o"
