"""Router-model prompts (exact text, config order, what is dropped, trimming, budget) and answer parsing."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from brightstaff.config import Provider, parse_config
from brightstaff.core.conversation import from_chat_messages
from brightstaff.routing.llm_prompt import (
    MIN_TURN_CHARS,
    TRIM_MARKER,
    TURN_OVERHEAD,
    AnswerError,
    RouterPrompt,
    ShownTurn,
    bound_conversation,
    parse_answer,
    routes_in_config_order,
    trim_middle,
)


def providers() -> tuple[Provider, ...]:
    data: dict[str, Any] = {
        "model_providers": [
            {"model": "openai/gpt-4o-mini", "default": True},
            {
                "model": "openai/gpt-4o",
                "routing_preferences": [
                    {"name": "complex_reasoning", "description": "complex reasoning tasks"},
                    {"name": "summarization", "description": "summarizing long documents"},
                ],
            },
            {
                "model": "anthropic/claude-sonnet-4-20250514",
                "routing_preferences": [{"name": "code_generation", "description": "writing code, «fast»"}],
            },
        ]
    }
    return parse_config(data, env={}).providers


ROUTES = routes_in_config_order(providers())
CONVERSATION = [
    {"role": "system", "content": "You are a coding agent."},
    {"role": "user", "content": "hi"},
    {"role": "assistant", "content": "Hello! How can I help?"},
    {"role": "user", "content": "Write a function that parses ISO dates"},
]

ARCH_ROUTER_GOLDEN = """
You are a helpful assistant designed to find the best suited route.
You are provided with route description within <routes></routes> XML tags:
<routes>
[{"name":"complex_reasoning","description":"complex reasoning tasks"},{"name":"summarization","description":"summarizing long documents"},{"name":"code_generation","description":"writing code, «fast»"}]
</routes>

<conversation>
[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello! How can I help?"},{"role":"user","content":"Write a function that parses ISO dates"}]
</conversation>

Your task is to decide which route is best suit with user intent on the conversation in <conversation></conversation> XML tags.  Follow the instruction:
1. If the latest intent from user is irrelevant or user intent is full filled, response with other route {"route": "other"}.
2. You must analyze the route descriptions and find the best match route for user latest intent.
3. You only response the name of the route that best matches the user's request, use the exact name in the <routes></routes>.

Based on your analysis, provide your response in the following JSON formats if you decide to match any route:
{"route": "route_name"}
"""  # noqa: E501

ORCHESTRATOR_GOLDEN = """
You are a helpful assistant that selects the most suitable routes based on user intent.
You are provided with a list of available routes enclosed within <routes></routes> XML tags:
<routes>
{"name": "complex_reasoning", "description": "complex reasoning tasks", "parameters": {"type": "object", "properties": {}, "required": []}}
{"name": "summarization", "description": "summarizing long documents", "parameters": {"type": "object", "properties": {}, "required": []}}
{"name": "code_generation", "description": "writing code, «fast»", "parameters": {"type": "object", "properties": {}, "required": []}}
</routes>

You are also given the conversation context enclosed within <conversation></conversation> XML tags:
<conversation>
[
    {
        "role": "user",
        "content": "hi"
    },
    {
        "role": "assistant",
        "content": "Hello! How can I help?"
    },
    {
        "role": "user",
        "content": "Write a function that parses ISO dates"
    }
]
</conversation>

## Instructions
1. Analyze the latest user intent from the conversation.
2. Compare it against the available routes to find which routes can help fulfill the request.
3. Respond only with the exact route names from <routes>.
4. If no routes can help or the intent is already fulfilled, return an empty list.

## Response Format
Return your answer strictly in JSON as follows:
{"route": ["route_name_1", "route_name_2", "..."]}
If no routes are needed, return an empty list for `route`.
"""  # noqa: E501


def test_arch_router_prompt_is_exact() -> None:
    assert RouterPrompt(ROUTES, "arch_router").build(from_chat_messages(CONVERSATION)) == ARCH_ROUTER_GOLDEN


def test_orchestrator_prompt_is_exact() -> None:
    assert RouterPrompt(ROUTES, "orchestrator_v1").build(from_chat_messages(CONVERSATION)) == ORCHESTRATOR_GOLDEN


def test_routes_are_listed_in_config_order_and_the_prefix_never_varies() -> None:
    assert [r.name for r in ROUTES] == ["complex_reasoning", "summarization", "code_generation"]
    assert [r.provider for r in ROUTES] == ["openai/gpt-4o", "openai/gpt-4o", "anthropic/claude-sonnet-4-20250514"]
    for fmt in ("arch_router", "orchestrator_v1"):
        prompt = RouterPrompt(ROUTES, fmt)
        one = prompt.build(from_chat_messages(CONVERSATION))
        other = prompt.build(from_chat_messages([{"role": "user", "content": "something else entirely"}]))
        assert one is not None and other is not None
        # Everything up to the conversation is shared by every request: a prefix cache serves it.
        assert one.startswith(prompt.prefix) and other.startswith(prompt.prefix)
        assert prompt.prefix.endswith("<conversation>\n")


def test_the_prefix_is_the_same_in_other_processes() -> None:
    # Hash randomization differs per process; the reference's route order did too.
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from test_llm_prompt import ROUTES; "
        "from brightstaff.routing.llm_prompt import RouterPrompt; print(RouterPrompt(ROUTES, 'arch_router').prefix)"
    )
    here = str(__import__("pathlib").Path(__file__).parent)
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script, here],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert outputs == {RouterPrompt(ROUTES, "arch_router").prefix + "\n"}


def test_system_developer_tool_messages_and_tool_only_turns_are_dropped() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "a.py"}'}}
    messages: list[Any] = [
        {"role": "system", "content": "system prompt"},
        {"role": "developer", "content": "developer prompt"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "Refactor"}, {"type": "image_url"}, {"type": "text", "text": "a.py"}],
        },
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "def f(): pass " * 100},
        {"role": "assistant", "content": "Reading it now.", "tool_calls": [call]},
        {"role": "function", "name": "read_file", "content": "more data"},
        "not a message",
        {"role": "user", "content": "   "},
    ]
    turns = bound_conversation(from_chat_messages(messages), max_messages=16, budget_chars=8000)
    assert turns == [ShownTurn("user", "Refactor\na.py"), ShownTurn("assistant", "Reading it now.")]


def test_every_step_of_a_tool_loop_shows_the_router_the_same_conversation() -> None:
    base: list[Any] = [{"role": "system", "content": "agent"}, {"role": "user", "content": "Analyze the logs"}]
    prompt = RouterPrompt(ROUTES, "arch_router")
    seen = set()
    messages = list(base)
    for i in range(5):
        seen.add(prompt.build(from_chat_messages(messages)))
        call = {"id": f"c{i}", "type": "function", "function": {"name": "grep", "arguments": "{}"}}
        messages += [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "content": "x" * 500},
        ]
    assert len(seen) == 1


def test_only_the_most_recent_turns_are_kept_and_the_latest_user_message_always() -> None:
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"} for i in range(40)]
    turns = bound_conversation(from_chat_messages(messages), max_messages=16, budget_chars=100_000)
    assert [t.content for t in turns] == [f"turn {i}" for i in range(24, 40)]
    # A tail of assistant turns longer than the window still shows the request they answer.
    messages = [{"role": "user", "content": "the request"}] + [
        {"role": "assistant", "content": f"a{i}"} for i in range(30)
    ]
    turns = bound_conversation(from_chat_messages(messages), max_messages=4, budget_chars=100_000)
    assert [t.content for t in turns] == ["the request", "a27", "a28", "a29"]


def test_trim_middle_keeps_head_and_tail() -> None:
    text = "HEAD " + "x" * 1000 + " TAIL?"
    out = trim_middle(text, 100)
    assert len(out) == 100
    assert out.startswith("HEAD ") and out.endswith(" TAIL?") and TRIM_MARKER in out
    assert out.index(TRIM_MARKER) == int(99 * 0.6)
    assert trim_middle("short", 100) == "short"
    assert trim_middle("abcdef", 1) == "a"


def test_a_huge_latest_user_message_is_trimmed_in_the_middle_to_the_budget() -> None:
    ask = "Summarize this report:\n" + "lorem ipsum " * 20_000 + "\nWhat are the three main risks?"
    messages = [
        {"role": "user", "content": "earlier question"},
        {"role": "assistant", "content": "earlier answer"},
        {"role": "user", "content": ask},
    ]
    turns = bound_conversation(from_chat_messages(messages), max_messages=16, budget_chars=4000)
    assert len(turns) == 1  # the request took the whole budget; older context had to go
    (turn,) = turns
    assert len(turn.content) + TURN_OVERHEAD <= 4000
    assert turn.content.startswith("Summarize this report:") and turn.content.endswith("three main risks?")


def test_context_turns_get_a_share_of_the_budget_newest_first() -> None:
    long_reply = "A" * 5000
    messages = [
        {"role": "user", "content": "oldest " * 500},
        {"role": "assistant", "content": long_reply},
        {"role": "user", "content": "and now the actual question"},
    ]
    budget = 2000
    turns = bound_conversation(from_chat_messages(messages), max_messages=16, budget_chars=budget)
    assert turns[-1] == ShownTurn("user", "and now the actual question")
    assert turns[-2].role == "assistant" and len(turns[-2].content) <= budget // 4
    assert sum(len(t.content) + TURN_OVERHEAD for t in turns) <= budget
    # The conversation stays contiguous: once a turn does not fit, older ones are left out.
    roles = [t.role for t in turns]
    assert roles in (["assistant", "user"], ["user", "assistant", "user"])


def test_prompt_length_respects_the_token_budget() -> None:
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": "word " * 400} for i in range(31)]
    for fmt, tokens in (("arch_router", 2048), ("orchestrator_v1", 8192)):
        prompt = RouterPrompt(ROUTES, fmt, max_context_tokens=tokens)  # type: ignore[arg-type]
        text = prompt.build(from_chat_messages(messages))
        assert text is not None
        # chars / 4 estimate; JSON escaping of plain words adds nothing, framing is counted per turn.
        assert len(text) <= tokens * 4 + 200, (fmt, len(text))
        conversation = json.loads(text.split("<conversation>\n", 1)[1].split("\n</conversation>", 1)[0])
        assert conversation[-1]["role"] == "user"


def test_the_conversation_always_gets_some_room_even_with_many_routes() -> None:
    many = routes_in_config_order(providers()) * 200
    prompt = RouterPrompt(many, "arch_router", max_context_tokens=256)
    assert prompt.overflows
    text = prompt.build(from_chat_messages([{"role": "user", "content": "Write code " * 1000}]))
    assert text is not None and "Write code" in text
    assert prompt.budget_chars >= 1000


def test_nothing_to_route_on_builds_no_prompt() -> None:
    prompt = RouterPrompt(ROUTES, "arch_router")
    assert prompt.build(from_chat_messages([])) is None
    assert prompt.build(from_chat_messages([{"role": "system", "content": "only a system prompt"}])) is None
    assert prompt.build(from_chat_messages([{"role": "tool", "content": "x"}])) is None


def test_a_context_turn_too_small_to_matter_is_not_added() -> None:
    messages = [{"role": "assistant", "content": "B" * 500}, {"role": "user", "content": "q" * 300}]
    budget = 300 + TURN_OVERHEAD + TURN_OVERHEAD + MIN_TURN_CHARS - 1
    turns = bound_conversation(from_chat_messages(messages), max_messages=16, budget_chars=budget)
    assert turns == [ShownTurn("user", "q" * 300)]


# ---------------------------------------------------------------------------------------------- answers

NAMES = ("complex_reasoning", "summarization", "code_generation")


@pytest.mark.parametrize(
    ("answer", "route"),
    [
        ('{"route": "code_generation"}', "code_generation"),
        ('{"route": "other"}', None),
        ('{"route": ["summarization", "code_generation"]}', "summarization"),
        ('{"route": ["no_such", "code_generation"]}', "code_generation"),
        ('{"route": []}', None),
        ('{"route": null}', None),
        ('{"route": ""}', None),
        ('{"route": ["other"]}', None),
        ("other", None),
        ('"other"', None),
        ('```json\n{"route": "complex_reasoning"}\n```', "complex_reasoning"),
        ('```\n{"route": ["code_generation"]}\n```', "code_generation"),
        ('<think>the user wants code</think>\n{"route": "code_generation"}', "code_generation"),
        ('Sure! Here is my answer: {"route": "summarization"} Hope it helps.', "summarization"),
        ("{'route': 'code_generation'}", "code_generation"),
        ('{"route": "Code_Generation"}', "code_generation"),
        ("code_generation", "code_generation"),
        ('  {"route": "complex_reasoning"}\n', "complex_reasoning"),
    ],
)
def test_answers_that_name_a_route_or_none(answer: str, route: str | None) -> None:
    assert parse_answer(answer, NAMES) == route


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ("", "malformed"),
        ("   ", "malformed"),
        ("I think a big model would be best.", "malformed"),
        ('{"model": "gpt-4o"}', "malformed"),
        ('{"route": 3}', "malformed"),
        ('{"route": [1, 2]}', "malformed"),
        ('["code_generation"]', "malformed"),
        ("{" * 20, "malformed"),
        ('{"route": "x"}' + " " * 5000, "malformed"),
        ('{"route": "no_such_route"}', "unknown_route"),
        ('{"route": ["nope", "neither"]}', "unknown_route"),
        ('```json\n{"route": "image_generation"}\n```', "unknown_route"),
    ],
)
def test_answers_that_are_failures(answer: str, kind: str) -> None:
    with pytest.raises(AnswerError) as caught:
        parse_answer(answer, NAMES)
    assert caught.value.kind == kind


def test_case_folding_is_refused_when_ambiguous() -> None:
    with pytest.raises(AnswerError):
        parse_answer('{"route": "CODE"}', ("code", "Code"))
    assert parse_answer('{"route": "Code"}', ("code", "Code")) == "Code"
