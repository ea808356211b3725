"""The conversation view of chat completions messages, as a table: messages in, turns out."""

from __future__ import annotations

from typing import Any

import pytest

from brightstaff.core.chat import parse_chat
from brightstaff.core.conversation import Conversation, ToolCall, Turn, content_text, from_chat_messages

CALL = {"id": "c1", "type": "function", "function": {"name": "run_sql", "arguments": '{"q": "select 1"}'}}

CASES: list[tuple[str, list[Any], list[Turn]]] = [
    ("empty", [], []),
    ("one user string", [{"role": "user", "content": "hi"}], [Turn("user", "hi")]),
    (
        "text parts joined, images skipped",
        [
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "image_url"}, {"type": "text", "text": "b"}],
            }
        ],
        [Turn("user", "a\nb")],
    ),
    (
        "system and developer are system",
        [{"role": "system", "content": "s"}, {"role": "developer", "content": "d"}],
        [Turn("system", "s"), Turn("system", "d")],
    ),
    (
        "assistant tool calls, then the tool result",
        [
            {"role": "assistant", "content": None, "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "c1", "content": "1"},
        ],
        [Turn("assistant", "", (ToolCall("run_sql", '{"q": "select 1"}'),)), Turn("tool", "1")],
    ),
    (
        "legacy function_call and function role",
        [
            {"role": "assistant", "content": "x", "function_call": {"name": "f", "arguments": "{}"}},
            {"role": "function", "name": "f", "content": "r"},
        ],
        [Turn("assistant", "x", (ToolCall("f", "{}"),)), Turn("tool", "r")],
    ),
    ("unknown role reads as user", [{"role": "narrator", "content": "n"}], [Turn("user", "n")]),
    ("non-dict messages and junk content skipped", [7, "x", {"role": "user", "content": 5}], [Turn("user", "")]),
    (
        "malformed tool calls keep what is readable",
        [{"role": "assistant", "tool_calls": [7, {"function": {"name": 3, "arguments": {"a": 1}}}]}],
        [Turn("assistant", "", (ToolCall("", ""),))],
    ),
    (
        "tool calls only on assistant turns",
        [{"role": "user", "content": "u", "tool_calls": [CALL]}],
        [Turn("user", "u")],
    ),
]


@pytest.mark.parametrize(("messages", "turns"), [(m, t) for _, m, t in CASES], ids=[name for name, _, _ in CASES])
def test_chat_messages_become_turns(messages: list[Any], turns: list[Turn]) -> None:
    assert from_chat_messages(messages) == Conversation(tuple(turns))


def test_last_user_index_is_the_current_ask() -> None:
    conversation = from_chat_messages(
        [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "tool", "content": "c"}]
    )
    assert conversation.last_user_index() == 0
    assert from_chat_messages([{"role": "system", "content": "s"}]).last_user_index() == -1


def test_a_chat_request_builds_its_view_once_on_first_use() -> None:
    request = parse_chat(b'{"model":"m","messages":[{"role":"user","content":"hi"}]}')
    assert request.conversation is request.conversation
    assert request.conversation.turns == (Turn("user", "hi"),)


def test_content_text_handles_strings_parts_and_junk() -> None:
    assert content_text("plain") == "plain"
    assert content_text([{"type": "text", "text": "a"}, {"type": "image_url"}, {"type": "text", "text": "b"}]) == "a\nb"
    assert content_text(None) == ""
    assert content_text(7) == ""
