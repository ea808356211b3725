"""The session ids agent harnesses already send, as affinity ids through real Envoy (issue 10, item 3).

With `routing.affinity.sources` listing them, Claude Code's `x-claude-code-session-id` (its subagents'
`x-claude-code-agent-id` scoped under it), Codex's `session-id` (older `session_id`), OpenCode's
`x-session-affinity`, a body's `prompt_cache_key` and Claude Code's `metadata.user_id` each pin a session
as `X-Model-Affinity` does, and `x-brightstaff-affinity-source` names the source used. The default
config reads `X-Model-Affinity` only: the same requests are routed fresh every time.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from client_apis import ANALYSIS, CLAUDE, CODE, SMALL, Api, ask
from e2e_stack import Stack, StackFactory

pytestmark = pytest.mark.e2e

ALL_SOURCES = ["header", "claude-code", "codex", "opencode", "prompt-cache-key", "anthropic-metadata"]


def sourced(make_stack: StackFactory, subagents: str) -> Stack:
    return make_stack(routing={"affinity": {"sources": ALL_SOURCES, "subagents": subagents}})


@pytest.fixture(scope="module")
def shared(make_stack: StackFactory) -> Stack:
    """Every source on; a subagent shares its session's pin."""
    return sourced(make_stack, "share")


@pytest.fixture(scope="module")
def own(make_stack: StackFactory) -> Stack:
    """Every source on; a subagent is pinned on its own, under its session."""
    return sourced(make_stack, "own")


def claude_user_id(session: str) -> dict[str, Any]:
    """Claude Code's `metadata` since 2.1.78: `user_id` is a JSON string carrying the session id."""
    return {"metadata": {"user_id": json.dumps({"device_id": "9d2c5e0f1a", "account_uuid": "", "session_id": session})}}


def _identities() -> list[tuple[str, Api, dict[str, str], dict[str, Any], str]]:
    """(case, client API, headers, body fields, expected source): each carries a fresh session id."""
    s = str(uuid.uuid4())
    return [
        ("claude-code", "messages", {"X-Claude-Code-Session-Id": s}, {}, "claude-code"),
        ("codex", "responses", {"session-id": s, "thread-id": s}, {"prompt_cache_key": s}, "codex"),
        ("codex-older", "responses", {"session_id": s, "conversation_id": s}, {}, "codex"),
        ("opencode", "chat", {"x-session-affinity": f"ses_{s[:26]}"}, {}, "opencode"),
        ("prompt-cache-key-responses", "responses", {}, {"prompt_cache_key": s}, "prompt-cache-key"),
        ("prompt-cache-key-chat", "chat", {}, {"prompt_cache_key": s}, "prompt-cache-key"),
        ("anthropic-metadata", "messages", {}, claude_user_id(s), "anthropic-metadata"),
    ]


CASES = [c[0] for c in _identities()]


def identity(case: str) -> tuple[Api, dict[str, str], dict[str, Any], str]:
    found = next(c for c in _identities() if c[0] == case)
    return found[1], found[2], found[3], found[4]


@pytest.mark.parametrize("case", CASES)
def test_a_harness_session_id_pins_like_the_affinity_header(shared: Stack, case: str) -> None:
    api, headers, body, source = identity(case)
    turns = [ask(api, shared, text, headers=headers, body=body) for text in (CODE, ANALYSIS, SMALL)]
    assert [t.decision for t in turns] == [(CLAUDE, "new"), (CLAUDE, "pinned"), (CLAUDE, "pinned")]
    assert [t.model for t in turns] == [CLAUDE] * 3
    assert {t.headers["x-brightstaff-affinity-source"] for t in turns} == {source}


@pytest.mark.parametrize("case", CASES)
def test_the_default_config_ignores_harness_ids(stack: Stack, case: str) -> None:
    api, headers, body, _ = identity(case)
    turns = [ask(api, stack, text, headers=headers, body=body) for text in (CODE, ANALYSIS)]
    assert [t.decision for t in turns] == [(CLAUDE, "none"), ("gpt-4o", "none")]
    assert {t.headers["x-brightstaff-affinity-source"] for t in turns} == {"none"}


def test_the_affinity_header_listed_first_wins_over_a_harness_id(shared: Stack) -> None:
    session, run = str(uuid.uuid4()), f"run-{uuid.uuid4()}"
    claude = {"X-Claude-Code-Session-Id": session}
    assert ask("messages", shared, CODE, headers=claude).decision == (CLAUDE, "new")
    # Same harness session, but the client names its own affinity id: a pin of its own, by the header.
    answer = ask("messages", shared, ANALYSIS, run, headers=claude)
    assert answer.decision == ("gpt-4o", "new")
    assert answer.headers["x-brightstaff-affinity-source"] == "header"


def test_a_claude_code_subagent_shares_its_sessions_pin(shared: Stack) -> None:
    session = str(uuid.uuid4())
    main = {"X-Claude-Code-Session-Id": session}
    assert ask("messages", shared, CODE, headers=main).decision == (CLAUDE, "new")
    subagent = {**main, "X-Claude-Code-Agent-Id": "a3f9c2e1b4d5"}
    answer = ask("messages", shared, ANALYSIS, headers=subagent)
    assert answer.decision == (CLAUDE, "pinned")
    assert answer.headers["x-brightstaff-affinity-source"] == "claude-code"


def test_a_claude_code_subagent_pinned_on_its_own_never_moves_its_session(own: Stack) -> None:
    session = str(uuid.uuid4())
    main = {"X-Claude-Code-Session-Id": session}
    subagent = {**main, "X-Claude-Code-Agent-Id": "a3f9c2e1b4d5"}
    assert ask("messages", own, CODE, headers=main).decision == (CLAUDE, "new")
    # The subagent's first request is routed on its own ask, and pinned under <session>/<agent>.
    assert ask("messages", own, ANALYSIS, headers=subagent).decision == ("gpt-4o", "new")
    assert ask("messages", own, CODE, headers=subagent).decision == ("gpt-4o", "pinned")
    # The session's own pin is untouched.
    assert ask("messages", own, ANALYSIS, headers=main).decision == (CLAUDE, "pinned")


def test_a_codex_spawned_thread_is_scoped_under_its_session(own: Stack) -> None:
    session, thread = str(uuid.uuid4()), str(uuid.uuid4())
    root = {"session-id": session, "thread-id": session}
    spawned = {"session-id": session, "thread-id": thread, "x-codex-parent-thread-id": session}
    assert ask("responses", own, CODE, headers=root).decision == (CLAUDE, "new")
    assert ask("responses", own, ANALYSIS, headers=spawned).decision == ("gpt-4o", "new")
    assert ask("responses", own, SMALL, headers=root).decision == (CLAUDE, "pinned")
    assert ask("responses", own, SMALL, headers=spawned).decision == ("gpt-4o", "pinned")


def test_an_implicit_id_brightstaff_cannot_accept_falls_through_to_the_next_source(shared: Stack) -> None:
    """An agent never asked for affinity through its session header: a bad id there is skipped, not a 400."""
    session = str(uuid.uuid4())
    headers = {"X-Claude-Code-Session-Id": "has spaces in it"}
    answer = ask("messages", shared, CODE, headers=headers, body=claude_user_id(session))
    assert answer.decision == (CLAUDE, "new")
    assert answer.headers["x-brightstaff-affinity-source"] == "anthropic-metadata"
