"""Anthropic Messages for the scripted model: the request read into an `Ask`, the plan rendered as the message
object and the events of its stream.

Pure functions, no I/O and no clock (the message id comes from the caller). What they guarantee, for a
request that anthropic_checks.py accepted:
- `messages_ask` reads what the model needs: the user turns (a user message that is only tool results
  is not one), the tool rounds since the latest (assistant turns with `tool_use`), the client tools
  (`input_schema`), `tool_choice` (auto/any/tool/none, `disable_parallel_tool_use`), structured output
  (`output_config.format`), thinking (enabled or adaptive), and `max_tokens` as the budget.
- `prompt_blocks` is the prompt as the prompt cache and token counts see it, in the API's cache order
  (tools, system, messages), with the `cache_control` breakpoints marked.
- `message_json` is the message object: `id` msg_..., content blocks in the API's order (thinking with
  its signature, text, then `tool_use` with `input` valid for the tool's schema), `stop_reason`
  end_turn/tool_use/max_tokens/stop_sequence with the `stop_sequence` met (`at_stop_sequence` cuts the
  text there), and `usage` with input, output and cache tokens.
- `message_events` is its stream: `message_start` (empty content, usage so far), per block
  `content_block_start`, its deltas (`thinking_delta`s and a `signature_delta`, `text_delta`s, or
  `input_json_delta`s whose `partial_json` pieces start with "" and join to the input's JSON), and
  `content_block_stop`, a `ping` after the first block starts, then `message_delta` (stop reason and
  the cumulative usage) and `message_stop`. anthropic-sdk-python accumulates it to `message_json`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from brightstaff.demo.anthropic_checks import blocks_of, is_custom_tool
from brightstaff.demo.scripted_model import (
    AnswerFormat,
    Ask,
    Plan,
    Tool,
    ToolCall,
    ToolChoice,
    argument_pieces,
    object_schema,
    output_tokens,
    stream_pieces,
    text_of,
    tokens,
)

OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def _is_user_turn(message: dict[str, Any]) -> bool:
    """A user message that says something: not only tool results."""
    blocks = blocks_of(message.get("content"))
    return message.get("role") == "user" and any(isinstance(b, dict) and b.get("type") != "tool_result" for b in blocks)


def _uses_tools(message: dict[str, Any]) -> bool:
    blocks = blocks_of(message.get("content"))
    return message.get("role") == "assistant" and any(
        isinstance(b, dict) and b.get("type") == "tool_use" for b in blocks
    )


def _choice(choice: Any) -> ToolChoice:
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "none":
        return ToolChoice("none")
    if kind == "any":
        return ToolChoice("required")
    if kind == "tool" and isinstance(choice, dict):
        return ToolChoice("required", frozenset({str(choice.get("name"))}))
    return ToolChoice("auto")


def _answer_format(document: dict[str, Any]) -> AnswerFormat | None:
    config = document.get("output_config")
    spec = config.get("format") if isinstance(config, dict) else document.get("output_format")
    if isinstance(spec, dict) and spec.get("type") == "json_schema":
        schema = spec.get("schema")
        return AnswerFormat(schema if isinstance(schema, dict) else {"type": "object"})
    return None


def thinking_enabled(document: dict[str, Any]) -> bool:
    thinking = document.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def messages_ask(document: dict[str, Any]) -> Ask:
    """A Messages request as the scripted model reads it."""
    messages = [m for m in document.get("messages") or [] if isinstance(m, dict)]
    users = [text_of(blocks_of(m.get("content"))) for m in messages if _is_user_turn(m)]
    rounds = 0
    for message in messages:
        if _is_user_turn(message):
            rounds = 0
        elif _uses_tools(message):
            rounds += 1
    results = sum(
        1
        for m in messages
        for b in blocks_of(m.get("content"))
        if isinstance(b, dict) and b.get("type") == "tool_result"
    )
    tools = tuple(
        Tool(str(t["name"]), object_schema(t.get("input_schema")))
        for t in document.get("tools") or []
        if is_custom_tool(t) and "name" in t
    )
    choice = document.get("tool_choice")
    max_tokens = document.get("max_tokens")
    return Ask(
        model=str(document.get("model", "")),
        conversation_key=users[0] if users else "",
        last_user_text=users[-1] if users else "",
        message_count=len(messages),
        rounds=rounds,
        tool_results=results,
        tools=tools,
        choice=_choice(choice),
        parallel=not (isinstance(choice, dict) and choice.get("disable_parallel_tool_use") is True),
        answer_format=_answer_format(document),
        think=thinking_enabled(document),
        max_output_tokens=max_tokens if isinstance(max_tokens, int) else None,
    )


@dataclass(frozen=True, slots=True)
class PromptBlock:
    text: str  # canonical: the block's JSON without its cache_control, after its place (tool, system, role)
    breakpoint: bool  # it carries a cache_control
    ttl: str = "5m"


def _block(place: str, block: Any) -> PromptBlock:
    if not isinstance(block, dict):
        return PromptBlock(f"{place}|{json.dumps(block)}", False)
    control = block.get("cache_control")
    bare = {k: v for k, v in block.items() if k != "cache_control"}
    ttl = control.get("ttl", "5m") if isinstance(control, dict) else "5m"
    return PromptBlock(f"{place}|{json.dumps(bare, sort_keys=True)}", bool(control), str(ttl))


def prompt_blocks(document: dict[str, Any]) -> list[PromptBlock]:
    """The prompt in cache order (tools, system, messages), one entry per block, breakpoints marked.

    A top-level `cache_control` (automatic caching) puts a breakpoint on the last block."""
    out = [_block("tool", t) for t in document.get("tools") or []]
    system = document.get("system")
    out += [_block("system", b) for b in blocks_of(system)] if system else []
    for message in document.get("messages") or []:
        if isinstance(message, dict):
            out += [_block(str(message.get("role")), b) for b in blocks_of(message.get("content"))]
    if document.get("cache_control") and out:
        out[-1] = PromptBlock(out[-1].text, True, out[-1].ttl)
    return out


def input_tokens(blocks: list[PromptBlock]) -> int:
    return sum(tokens(b.text) for b in blocks)


def usage_json(plan: Plan, *, uncached: int, read: int, written: int, ttl: str = "5m") -> dict[str, Any]:
    """The message's usage: `input_tokens` are those neither read from nor written to the cache."""
    return {
        "input_tokens": uncached,
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": written if ttl != "1h" else 0,
            "ephemeral_1h_input_tokens": written if ttl == "1h" else 0,
        },
        "output_tokens": output_tokens(plan),
        "service_tier": "standard",
    }


def tool_use_id(call: ToolCall) -> str:
    return f"toolu_01{call.key}"


def signature(thinking: str) -> str:
    """A thinking block's signature: opaque to clients, here a digest of the thinking it signs."""
    return base64.b64encode(hashlib.sha256(thinking.encode()).digest()).decode()


def at_stop_sequence(document: dict[str, Any], plan: Plan) -> tuple[Plan, str | None]:
    """The plan cut before the first of the request's `stop_sequences` its text contains, and that sequence."""
    sequences = [s for s in document.get("stop_sequences") or [] if isinstance(s, str) and s]
    text = plan.content
    found = [(text.index(s), s) for s in sequences if text is not None and s in text]
    if text is None or not found or plan.tool_calls:
        return plan, None
    at, sequence = min(found)
    return Plan(text[:at], (), plan.reasoning, plan.truncated), sequence


def stop_reason(plan: Plan, stop_sequence: str | None = None) -> str:
    if stop_sequence is not None:
        return "stop_sequence"
    if plan.truncated:
        return "max_tokens"
    return "tool_use" if plan.tool_calls else "end_turn"


def content_blocks(document: dict[str, Any], plan: Plan) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if plan.reasoning is not None:
        thinking = document.get("thinking")
        shown = "" if isinstance(thinking, dict) and thinking.get("display") == "omitted" else plan.reasoning
        blocks.append({"type": "thinking", "thinking": shown, "signature": signature(plan.reasoning)})
    if plan.content:
        blocks.append({"type": "text", "text": plan.content})
    blocks += [{"type": "tool_use", "id": tool_use_id(c), "name": c.name, "input": c.input()} for c in plan.tool_calls]
    return blocks


def message_json(
    document: dict[str, Any], plan: Plan, message_id: str, usage: dict[str, Any], stop_sequence: str | None = None
) -> dict[str, Any]:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": document["model"],
        "content": content_blocks(document, plan),
        "stop_reason": stop_reason(plan, stop_sequence),
        "stop_sequence": stop_sequence,
        "usage": usage,
    }


def _opening(block: dict[str, Any]) -> dict[str, Any]:
    """A block as its content_block_start carries it: empty, to be filled by the deltas."""
    if block["type"] == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}
    if block["type"] == "text":
        return {"type": "text", "text": ""}
    return {**block, "input": {}}


def _deltas(block: dict[str, Any]) -> list[dict[str, Any]]:
    if block["type"] == "thinking":
        pieces = [{"type": "thinking_delta", "thinking": p} for p in stream_pieces(block["thinking"])]
        return [*pieces, {"type": "signature_delta", "signature": block["signature"]}]
    if block["type"] == "text":
        return [{"type": "text_delta", "text": p} for p in stream_pieces(block["text"])]
    arguments = json.dumps(block["input"], separators=(",", ":"))
    return [{"type": "input_json_delta", "partial_json": p} for p in ["", *argument_pieces(arguments)]]


def message_events(
    document: dict[str, Any], plan: Plan, message_id: str, usage: dict[str, Any], stop_sequence: str | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """The stream's events in order, as (event name, data); the name is also the data's `type`."""
    started = {**message_json(document, plan, message_id, usage), "content": [], "stop_reason": None}
    started["usage"] = {**usage, "output_tokens": 1}
    events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": started})]
    blocks = content_blocks(document, plan)
    for index, block in enumerate(blocks):
        start = {"type": "content_block_start", "index": index, "content_block": _opening(block)}
        events.append(("content_block_start", start))
        if index == 0:
            events.append(("ping", {"type": "ping"}))
        for delta in _deltas(block):
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    if not blocks:
        events.append(("ping", {"type": "ping"}))
    cumulative = {k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")}
    finish = {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason(plan, stop_sequence), "stop_sequence": stop_sequence},
        "usage": {**cumulative, "output_tokens": usage["output_tokens"]},
    }
    events += [("message_delta", finish), ("message_stop", {"type": "message_stop"})]
    return events
