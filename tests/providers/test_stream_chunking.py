"""Every stream translator gives the same bytes however the provider's stream is cut (translation notes §7.9)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_chat_from_messages import FULL as ANTHROPIC_STREAM
from test_messages_from_chat import FULL as OPENAI_STREAM
from translator_fixtures import cut, run

from brightstaff.core.outcome import ResponseTranslator
from brightstaff.core.responses import parse_responses
from brightstaff.providers.chat_from_messages import ChatFromMessages
from brightstaff.providers.messages_from_chat import MessagesFromChat
from brightstaff.providers.responses_events import ResponseFrame, response_echo
from brightstaff.providers.responses_from_chat import ResponsesFromChat
from brightstaff.providers.responses_from_messages import ResponsesFromMessages


def chat_client() -> ResponseTranslator:
    return ChatFromMessages(include_usage=True, clock=lambda: 1.0)


def messages_client() -> ResponseTranslator:
    return MessagesFromChat()


_ECHO = response_echo(parse_responses(b'{"model":"gpt-5","input":"hi"}'))


def responses_from_chat() -> ResponseTranslator:
    return ResponsesFromChat(ResponseFrame(_ECHO, "m", lambda: 1.0, lambda: "T"))


def responses_from_messages() -> ResponseTranslator:
    return ResponsesFromMessages(ResponseFrame(_ECHO, "m", lambda: 1.0, lambda: "T"))


TRANSLATORS: list[tuple[str, Callable[[], ResponseTranslator], bytes]] = [
    ("anthropic stream → openai client", chat_client, ANTHROPIC_STREAM),
    ("openai stream → anthropic client", messages_client, OPENAI_STREAM),
    ("openai stream → responses client", responses_from_chat, OPENAI_STREAM),
    ("anthropic stream → responses client", responses_from_messages, ANTHROPIC_STREAM),
]
IDS = [t[0] for t in TRANSLATORS]


def variants(stream: bytes) -> dict[str, bytes]:
    """The same stream with CRLF or CR line ends, and without its final blank line."""
    return {
        "LF": stream,
        "CRLF": stream.replace(b"\n", b"\r\n"),
        "CR": stream.replace(b"\n", b"\r"),
        "no final blank line": stream.rstrip(b"\n"),
    }


def whole(make: Callable[[], ResponseTranslator], stream: bytes) -> bytes:
    return run(make(), [stream])[1]


@pytest.mark.parametrize(("make", "stream"), [t[1:] for t in TRANSLATORS], ids=IDS)
def test_named_cuts(make: Callable[[], ResponseTranslator], stream: bytes) -> None:
    expected = whole(make, stream)
    data_at = stream.index(b"data:", 10) + 3  # inside "data:"
    json_at = stream.index(b'"type"', 10) + 3 if b'"type"' in stream else stream.index(b'"id"') + 2  # inside JSON
    utf8_at = stream.index("日".encode()) + 1  # inside a 3-byte character
    for name, variant in variants(stream).items():
        for points in ([], [data_at], [json_at], [utf8_at], range(1, len(variant))):
            assert run(make(), cut(variant, points))[1] == expected, (name, list(points)[:3])


@pytest.mark.parametrize(("make", "stream"), [t[1:] for t in TRANSLATORS], ids=IDS)
@settings(max_examples=150, deadline=None)
@given(
    points=st.lists(st.integers(0, 100_000), max_size=40),
    line_end=st.sampled_from(["LF", "CRLF", "CR", "no final blank line"]),
)
def test_random_cuts(make: Callable[[], ResponseTranslator], stream: bytes, points: list[int], line_end: str) -> None:
    assert run(make(), cut(variants(stream)[line_end], points))[1] == whole(make, stream)
