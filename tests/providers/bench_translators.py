"""Micro-benchmark (not a test): brightstaff CPU per translated SSE event, in process, each way.

Each stream is 50 events, fed one event per `body()` call (as ext_proc delivers a streamed answer):
an Anthropic stream (message_start, a text block of 44 deltas, a tool block, message_delta,
message_stop) to an OpenAI chat client and to a Responses client, and an OpenAI stream (role chunk, 46
content chunks, finish, usage, [DONE]) to an Anthropic client and to a Responses client. Also the JSON
answers, the request translations and the body parsers, per call.
The target (issues 9 and 10) is at most 40 us of brightstaff CPU per translated event. Run under the lock:

    flock /tmp/brightstaff-heavy.lock .venv/bin/python tests/providers/bench_translators.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from translator_fixtures import anthropic_sse, openai_sse, provider

from brightstaff.core.chat import parse_chat
from brightstaff.core.messages import parse_messages
from brightstaff.core.outcome import ResponseTranslator
from brightstaff.core.responses import parse_responses
from brightstaff.providers import anthropic_openai, openai_anthropic, responses_anthropic, responses_chat
from brightstaff.providers.chat_from_messages import ChatFromMessages
from brightstaff.providers.messages_from_chat import MessagesFromChat
from brightstaff.providers.responses_events import ResponseFrame, response_echo
from brightstaff.providers.responses_from_chat import ResponsesFromChat
from brightstaff.providers.responses_from_messages import ResponsesFromMessages

TEXT = "The quick brown fox jumps over the lazy dog, again. "  # ~12 tokens, a typical delta or two


def anthropic_events() -> list[bytes]:
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude",
                "content": [],
                "usage": {"input_tokens": 900, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": TEXT}}] * 40
    events += [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"q": "sel'},
        },
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": 'ect 1"}'}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 500}},
        {"type": "ping"},
        {"type": "message_stop"},
    ]
    assert len(events) == 50
    return [anthropic_sse(e) for e in events]


def openai_events() -> list[bytes]:
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o"}
    chunks: list[dict[str, object] | str] = [
        {**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
    ]
    chunks += [{**head, "choices": [{"index": 0, "delta": {"content": TEXT}, "finish_reason": None}]}] * 46
    chunks += [
        {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**head, "choices": [], "usage": {"prompt_tokens": 900, "completion_tokens": 500, "total_tokens": 1400}},
        "[DONE]",
    ]
    assert len(chunks) == 50
    return [openai_sse(c) for c in chunks]


def per_call_us(work: Callable[[], object], rounds: int) -> float:
    work()  # warm up
    started = time.process_time()
    for _ in range(rounds):
        work()
    return (time.process_time() - started) / rounds * 1e6


def stream_us_per_event(make: Callable[[], ResponseTranslator], events: list[bytes]) -> float:
    last = len(events) - 1

    def one_stream() -> None:
        translator = make()
        translator.start(200, {"content-type": "text/event-stream"})
        for i, event in enumerate(events):
            translator.body(event, i == last)

    return per_call_us(one_stream, 400) / len(events)


def main() -> None:
    anthropic_stream, openai_stream = anthropic_events(), openai_events()
    chat_body = orjson.dumps(
        {"model": "gpt-4o", "messages": [{"role": "user", "content": TEXT * 20}] * 10, "stream": True}
    )
    messages_body = orjson.dumps(
        {"model": "claude", "max_tokens": 1024, "messages": [{"role": "user", "content": TEXT * 20}] * 10}
    )
    anthropic_json = orjson.dumps(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude",
            "content": [{"type": "text", "text": TEXT * 40}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 900, "output_tokens": 500},
        }
    )
    openai_json = orjson.dumps(
        {
            "id": "c",
            "object": "chat.completion",
            "model": "gpt-4o",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": TEXT * 40}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 900, "completion_tokens": 500},
        }
    )
    chat_request, messages_request = parse_chat(chat_body), parse_messages(messages_body)
    # A Codex-like turn: instructions, 5 function tools, 10 typed items; and the same with untyped
    # (LangChain-style) user messages, which take the parser's second pass.
    tools = [{"type": "function", "name": f"t{i}", "parameters": {"type": "object"}} for i in range(5)]
    items: list[dict[str, object]] = [{"type": "message", "role": "user", "content": TEXT * 20}] * 8
    items += [
        {"type": "function_call", "call_id": "c", "name": "t1", "arguments": '{"a": 1}'},
        {"type": "function_call_output", "call_id": "c", "output": TEXT * 20},
    ]
    responses_body = orjson.dumps(
        {"model": "gpt-5", "instructions": TEXT, "input": items, "tools": tools, "stream": True}
    )
    untyped_body = orjson.dumps(
        {"model": "gpt-5", "input": [{"role": "user", "content": TEXT * 20}] * 8 + items[8:], "stream": True}
    )
    responses_request = parse_responses(responses_body)
    echo = response_echo(responses_request)
    claude, gpt = provider(), provider("openai/gpt-4o", base_url="https://api.openai.com/v1")

    def json_once(make: Callable[[], ResponseTranslator], body: bytes) -> Callable[[], object]:
        def run() -> object:
            translator = make()
            translator.start(200, {"content-type": "application/json"})
            return translator.body(body, True)

        return run

    rows = [
        (
            "SSE Anthropic -> OpenAI client, per event",
            stream_us_per_event(lambda: ChatFromMessages(include_usage=True), anthropic_stream),
        ),
        ("SSE OpenAI -> Anthropic client, per event", stream_us_per_event(MessagesFromChat, openai_stream)),
        (
            "SSE OpenAI -> Responses client, per event",
            stream_us_per_event(lambda: ResponsesFromChat(ResponseFrame(echo, "m")), openai_stream),
        ),
        (
            "SSE Anthropic -> Responses client, per event",
            stream_us_per_event(lambda: ResponsesFromMessages(ResponseFrame(echo, "m")), anthropic_stream),
        ),
        (
            "JSON Anthropic -> OpenAI client (2 KB), per answer",
            per_call_us(json_once(lambda: ChatFromMessages(include_usage=False), anthropic_json), 5000),
        ),
        (
            "JSON OpenAI -> Anthropic client (2 KB), per answer",
            per_call_us(json_once(MessagesFromChat, openai_json), 5000),
        ),
        (
            "JSON OpenAI -> Responses client (2 KB), per answer",
            per_call_us(json_once(lambda: ResponsesFromChat(ResponseFrame(echo, "m")), openai_json), 5000),
        ),
        (
            "JSON Anthropic -> Responses client (2 KB), per answer",
            per_call_us(json_once(lambda: ResponsesFromMessages(ResponseFrame(echo, "m")), anthropic_json), 5000),
        ),
        (
            "request OpenAI -> Anthropic (10 KB body)",
            per_call_us(lambda: openai_anthropic.request(chat_request, claude, ""), 5000),
        ),
        (
            "request Anthropic -> OpenAI (10 KB body)",
            per_call_us(lambda: anthropic_openai.request(messages_request, gpt, ""), 5000),
        ),
        (
            "request Responses -> chat (10 KB body)",
            per_call_us(lambda: responses_chat.request(parse_responses(responses_body), gpt, ""), 5000),
        ),
        (
            "request Responses -> Anthropic (10 KB body)",
            per_call_us(lambda: responses_anthropic.request(parse_responses(responses_body), claude, ""), 5000),
        ),
        ("parse + validate a Messages body (10 KB)", per_call_us(lambda: parse_messages(messages_body), 5000)),
        ("parse + validate a Responses body (10 KB)", per_call_us(lambda: parse_responses(responses_body), 5000)),
        (
            "parse + validate, untyped user messages (10 KB)",
            per_call_us(lambda: parse_responses(untyped_body), 5000),
        ),
        ("parse a chat body (10 KB), for comparison", per_call_us(lambda: parse_chat(chat_body), 5000)),
    ]
    for name, us in rows:
        print(f"{name:55s} {us:8.2f} us")


if __name__ == "__main__":
    main()
