"""The conversation view: what a router reads of a request, the same whatever API the client speaks.

Invariants:
- A `Conversation` is a tuple of `Turn`s in the order the client sent them, with exactly four roles:
  `system` (standing instructions: system and developer messages, a top-level system prompt), `user`
  (what a person asked), `assistant` (the model's earlier answers and the tools it called) and `tool`
  (results fed back from tools). Each client API's parser maps its own shapes onto these, so one turn
  routes the same way from any API.
- Text is kept as sent (text parts joined by a newline); images, audio and files contribute no text.
- The same conversation sent through any of the three APIs gives the same view where the content is
  the same: an Anthropic top-level `system` and the Responses `instructions` are a system turn, a user
  message's `tool_result` blocks are tool turns placed before its text (as chat completions sends tool
  messages before the next user message), `tool_use` blocks are tool calls with their `input` as JSON
  text, a Responses `function_call` item is a tool call of the assistant turn it follows (or of a new
  one) and a `function_call_output` a tool turn, and thinking and reasoning are not conversation text.
- Building the view never raises: parts of a shape it does not know are skipped, not refused (the
  request was already validated by its API's parser; the view only reads it).
- An *ask* is a user turn a person said (`is_ask`): a user turn carrying only what an agent harness injects
  (Claude Code's `<system-reminder>` blocks next to tool results, Codex's `<environment_context>`) is not
  one; a user turn without text (an image alone) is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import orjson

Role = Literal["system", "user", "assistant", "tool"]

# Chat completions roles onto the view's: developer messages are system messages under a newer name,
# and the legacy `function` role carried tool results.
_CHAT_ROLES: dict[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
    "function": "tool",
}


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool the assistant called: its name and its arguments as the JSON text the model wrote."""

    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Turn:
    role: Role
    text: str
    tool_calls: tuple[ToolCall, ...] = ()


# Blocks agent harnesses write into user messages themselves: Claude Code's reminders and hook output (next
# to tool results and prompts), Codex's environment and AGENTS.md messages (codex-rs/core's
# environment_context.rs and user_instructions.rs, sent as user messages). An opening tag without its
# closing tag runs to the end of the text.
_HARNESS_BLOCKS = (
    ("<system-reminder>", "</system-reminder>"),
    ("<user-prompt-submit-hook>", "</user-prompt-submit-hook>"),
    ("<environment_context>", "</environment_context>"),
    ("<user_instructions>", "</user_instructions>"),
)


def without_harness_blocks(text: str) -> str:
    """`text` without the blocks an agent harness wrote into it (what is left is what a person said)."""
    for opening, closing in _HARNESS_BLOCKS:
        start = text.find(opening)
        while start >= 0:
            end = text.find(closing, start + len(opening))
            text = text[:start] + ("" if end < 0 else text[end + len(closing) :])
            start = text.find(opening, start)
    return text


def is_ask(turn: Turn) -> bool:
    """A user turn a person said: not one made only of harness blocks (an empty one counts: an image)."""
    if turn.role != "user":
        return False
    return not turn.text.strip() or bool(without_harness_blocks(turn.text).strip())


@dataclass(frozen=True, slots=True)
class Conversation:
    turns: tuple[Turn, ...]

    def __len__(self) -> int:
        return len(self.turns)

    def last_ask_index(self) -> int:
        """Index of the latest ask (see `is_ask`), -1 when there is none."""
        for i in range(len(self.turns) - 1, -1, -1):
            if is_ask(self.turns[i]):
                return i
        return -1

    def last_user_index(self) -> int:
        """Index of the latest user turn (the current ask), -1 when there is none."""
        for i in range(len(self.turns) - 1, -1, -1):
            if self.turns[i].role == "user":
                return i
        return -1


def content_text(content: Any) -> str:
    """The text of a message `content`: a string, or the text parts of a content array joined by newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def _chat_tool_calls(message: dict[str, Any]) -> tuple[ToolCall, ...]:
    calls: list[ToolCall] = []
    listed = message.get("tool_calls")
    functions = [c.get("function") for c in listed if isinstance(c, dict)] if isinstance(listed, list) else []
    functions.append(message.get("function_call"))  # the legacy single-call field
    for function in functions:
        if isinstance(function, dict):
            name, arguments = function.get("name"), function.get("arguments")
            calls.append(
                ToolCall(name if isinstance(name, str) else "", arguments if isinstance(arguments, str) else "")
            )
    return tuple(calls)


def from_chat_messages(messages: Iterable[Any]) -> Conversation:
    """The view of an OpenAI chat completions `messages` array."""
    turns: list[Turn] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        raw_role = message.get("role")
        role = _CHAT_ROLES.get(raw_role, "user") if isinstance(raw_role, str) else "user"
        calls = _chat_tool_calls(message) if role == "assistant" else ()
        turns.append(Turn(role, content_text(message.get("content")), calls))
    return Conversation(tuple(turns))


def _anthropic_tool_calls(blocks: list[Any]) -> tuple[ToolCall, ...]:
    calls: list[ToolCall] = []
    for block in blocks:
        if isinstance(block, dict) and block.get("type") == "tool_use":
            name, tool_input = block.get("name"), block.get("input")
            try:
                arguments = orjson.dumps(tool_input).decode() if tool_input is not None else ""
            except TypeError:  # not JSON-encodable (never from a decoded body; defensive)
                arguments = ""
            calls.append(ToolCall(name if isinstance(name, str) else "", arguments))
    return tuple(calls)


def _anthropic_user_turns(content: Any) -> list[Turn]:
    """A user message: its tool results first (one tool turn each), then its text as one user turn."""
    if not isinstance(content, list):
        return [Turn("user", content_text(content))]
    results = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
    turns = [Turn("tool", content_text(result.get("content"))) for result in results]
    rest = [b for b in content if not (isinstance(b, dict) and b.get("type") == "tool_result")]
    if rest or not results:
        turns.append(Turn("user", content_text(rest)))
    return turns


def from_messages_request(system: Any, messages: Iterable[Any]) -> Conversation:
    """The view of an Anthropic Messages request: its top-level `system` and its `messages` array."""
    turns: list[Turn] = []
    if system is not None:
        turns.append(Turn("system", content_text(system)))
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if message.get("role") == "assistant":
            blocks = content if isinstance(content, list) else []
            text_blocks = [b for b in blocks if isinstance(b, dict) and b.get("type") == "text"]
            text = content_text(content if isinstance(content, str) else text_blocks)
            turns.append(Turn("assistant", text, _anthropic_tool_calls(blocks)))
        else:
            turns.extend(_anthropic_user_turns(content))
    return Conversation(tuple(turns))


def _responses_item_type(item: dict[str, Any]) -> Any:
    kind = item.get("type")
    return ("message" if "role" in item else None) if kind is None else kind


def from_responses_request(instructions: Any, items: Iterable[Any]) -> Conversation:
    """The view of an OpenAI Responses request: its `instructions` and its `input` items."""
    turns: list[Turn] = []
    if isinstance(instructions, str):
        turns.append(Turn("system", instructions))
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = _responses_item_type(item)
        if kind == "message":
            raw_role = item.get("role")
            role = _CHAT_ROLES.get(raw_role, "user") if isinstance(raw_role, str) else "user"
            turns.append(Turn(role, content_text(item.get("content"))))
        elif kind == "function_call":
            name, arguments = item.get("name"), item.get("arguments")
            call = ToolCall(name if isinstance(name, str) else "", arguments if isinstance(arguments, str) else "")
            if turns and turns[-1].role == "assistant":
                last = turns[-1]
                turns[-1] = Turn("assistant", last.text, (*last.tool_calls, call))
            else:
                turns.append(Turn("assistant", "", (call,)))
        elif kind == "function_call_output":
            turns.append(Turn("tool", content_text(item.get("output"))))
        # reasoning, records of built-in tools and references to stored items carry no conversation text
    return Conversation(tuple(turns))
