"""The conversation view of chat completions and Messages requests, as tables: messages in, turns out."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from brightstaff.core.chat import parse_chat
from brightstaff.core.conversation import (
    Conversation,
    ToolCall,
    Turn,
    content_text,
    from_chat_messages,
    from_messages_request,
    is_ask,
)
from brightstaff.core.messages import parse_messages
from brightstaff.core.responses import parse_responses

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


ANTHROPIC_CASES: list[tuple[str, Any, list[Any], list[Turn]]] = [
    ("no system, no messages", None, [], []),
    (
        "string system and user",
        "be brief",
        [{"role": "user", "content": "hi"}],
        [Turn("system", "be brief"), Turn("user", "hi")],
    ),
    (
        "system text blocks joined",
        [{"type": "text", "text": "a"}, {"type": "text", "text": "b", "cache_control": {"type": "ephemeral"}}],
        [],
        [Turn("system", "a\nb")],
    ),
    (
        "user text blocks joined, images and documents skipped",
        None,
        [
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "image"}, {"type": "text", "text": "b"}],
            }
        ],
        [Turn("user", "a\nb")],
    ),
    (
        "assistant text, thinking ignored, tool_use as calls with JSON arguments",
        None,
        [
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "s"},
                    {"type": "text", "text": "running"},
                    {"type": "tool_use", "id": "t1", "name": "run_sql", "input": {"q": "select 1"}},
                ],
            }
        ],
        [Turn("assistant", "running", (ToolCall("run_sql", '{"q":"select 1"}'),))],
    ),
    (
        "tool results become tool turns before the user's text",
        None,
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "and now?"},
                    {"type": "tool_result", "tool_use_id": "t1", "content": "1"},
                    {"type": "tool_result", "tool_use_id": "t2", "content": [{"type": "text", "text": "2"}]},
                ],
            }
        ],
        [Turn("tool", "1"), Turn("tool", "2"), Turn("user", "and now?")],
    ),
    (
        "a user message of only tool results has no user turn",
        None,
        [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]}],
        [Turn("tool", "")],
    ),
    ("assistant string content", None, [{"role": "assistant", "content": "ok"}], [Turn("assistant", "ok")]),
    ("junk is skipped, not refused", None, [7, {"role": "user", "content": 5}], [Turn("user", "")]),
]


@pytest.mark.parametrize(
    ("system", "messages", "turns"), [c[1:] for c in ANTHROPIC_CASES], ids=[c[0] for c in ANTHROPIC_CASES]
)
def test_messages_requests_become_turns(system: Any, messages: list[Any], turns: list[Turn]) -> None:
    assert from_messages_request(system, messages) == Conversation(tuple(turns))


def test_the_same_conversation_gives_the_same_view_from_all_three_apis() -> None:
    """One agent turn with a system prompt, a tool round trip and a follow-up, written in each client API."""
    chat = [
        {"role": "system", "content": "You are a SQL helper."},
        {"role": "user", "content": [{"type": "text", "text": "How many users?"}]},
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "run_sql", "arguments": '{"q":"n"}'}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
        {"role": "user", "content": "Thanks, and admins?"},
    ]
    messages = [
        {"role": "user", "content": "How many users?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "easy", "signature": "s"},
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "c1", "name": "run_sql", "input": {"q": "n"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "c1", "content": "42"},
                {"type": "text", "text": "Thanks, and admins?"},
            ],
        },
    ]
    responses = [
        {"role": "user", "content": [{"type": "input_text", "text": "How many users?"}]},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "easy"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me check."}]},
        {"type": "function_call", "call_id": "c1", "name": "run_sql", "arguments": '{"q":"n"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "42"},
        {"role": "user", "content": "Thanks, and admins?"},
    ]
    chat_view = parse_chat(orjson.dumps({"model": "m", "messages": chat})).conversation
    messages_view = parse_messages(
        orjson.dumps({"model": "m", "max_tokens": 1, "system": "You are a SQL helper.", "messages": messages})
    ).conversation
    responses_view = parse_responses(
        orjson.dumps({"model": "m", "instructions": "You are a SQL helper.", "input": responses})
    ).conversation
    assert chat_view == messages_view == responses_view
    assert chat_view.last_user_index() == responses_view.last_user_index() == 4


@pytest.mark.parametrize(
    ("turn", "ask"),
    [
        (Turn("user", "fix the failing test"), True),
        (Turn("user", ""), True),  # an image alone
        (Turn("user", "<system-reminder>todo: none</system-reminder>"), False),
        (
            Turn("user", "<system-reminder>a</system-reminder>\n<user-prompt-submit-hook>b</user-prompt-submit-hook>"),
            False,
        ),
        (Turn("user", "<system-reminder>cut off mid-block"), False),
        (Turn("user", "<system-reminder>a</system-reminder> and also rename it"), True),
        (Turn("user", "<environment_context>\n  <cwd>/repo</cwd>\n</environment_context>"), False),  # Codex
        (Turn("user", "<user_instructions>\n\nRun the linter.\n\n</user_instructions>"), False),
        (Turn("assistant", "done"), False),
        (Turn("tool", "ok"), False),
    ],
)
def test_an_ask_is_a_user_turn_a_person_said(turn: Turn, ask: bool) -> None:
    assert is_ask(turn) is ask


def test_the_last_ask_skips_harness_turns() -> None:
    messages = [
        {"role": "user", "content": "rename the module"},
        {"role": "assistant", "tool_calls": [{"function": {"name": "edit", "arguments": "{}"}}]},
        {"role": "tool", "content": "edited"},
        {"role": "user", "content": "<system-reminder>tests not run yet</system-reminder>"},
    ]
    conversation = from_chat_messages(messages)
    assert (conversation.last_ask_index(), conversation.last_user_index()) == (0, 3)
    assert from_chat_messages([{"role": "tool", "content": "x"}]).last_ask_index() == -1
