"""The request bodies the benchmark sends, each about a target size in compact JSON, and the fixed answer of
the Envoy upstream.

Every body is an agent conversation (a system prompt, then turns), repeated to the size wanted with the last
user message padded so the body lands on the target exactly. `chat_body` is the chat completions body of
every release of this benchmark (user / assistant / tool turns, cut wherever the size falls: fine for the
Envoy upstream, which reads nothing); `api_chat_body` keeps whole rounds, as real backends require, and
`messages_body` and `responses_body` carry the same system prompt and text turns in their own APIs' shapes
(strictly alternating roles, as Anthropic requires). `BODIES` are the API cells' bodies, by client API.
Bodies never name a `provider/model`: the pin decides.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

BODY_SIZES = {"1k": 1024, "50k": 50 * 1024}

# What the Envoy upstream answers, by path prefix: realistic, small, non-streaming answers in each API.
COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench0001",
        "object": "chat.completion",
        "created": 1760000000,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "PostgreSQL fits: relational data, strong consistency."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 812, "completion_tokens": 11, "total_tokens": 823},
    },
    separators=(",", ":"),
)

_TEXT = "PostgreSQL fits: relational data, strong consistency."
MESSAGE = json.dumps(
    {
        "id": "msg_bench0001",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-20250514",
        "content": [{"type": "text", "text": _TEXT}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 812, "output_tokens": 11},
    },
    separators=(",", ":"),
)
RESPONSE = json.dumps(
    {
        "id": "resp_bench0001",
        "object": "response",
        "created_at": 1760000000,
        "status": "completed",
        "model": "gpt-4o",
        "output": [
            {
                "type": "message",
                "id": "msg_bench0001",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": _TEXT, "annotations": []}],
            }
        ],
        "usage": {"input_tokens": 812, "output_tokens": 11, "total_tokens": 823},
    },
    separators=(",", ":"),
)
ANSWERS = {"/v1/messages": MESSAGE, "/v1/responses": RESPONSE, "/": COMPLETION}  # first match wins

SYSTEM = (
    "You are a senior backend engineer helping a team choose and operate a database. Answer precisely, "
    "cite trade-offs, and prefer boring technology unless the requirements demand otherwise."
)
_QUESTION = (
    "We store orders, customers and invoices; about 40k writes per minute at peak, reads dominated by "
    "dashboards. Which database would you pick and why?"
)
_ANSWER = (
    "PostgreSQL: the data is relational, you need transactions across orders and invoices, and 40k writes "
    "per minute is well within a single primary with a replica for the dashboards."
)
_TURNS: tuple[dict[str, Any], ...] = (
    {"role": "user", "content": _QUESTION},
    {"role": "assistant", "content": _ANSWER},
    {
        "role": "user",
        "content": "Write the migration that adds an index on invoices(customer_id, issued_at) without "
        "locking the table for writes.",
    },
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_0001",
                "type": "function",
                "function": {"name": "run_sql", "arguments": '{"sql":"SELECT count(*) FROM invoices"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_0001", "content": '{"rows":[{"count":18234455}]}'},
    {
        "role": "assistant",
        "content": "With 18M rows use CREATE INDEX CONCURRENTLY invoices_customer_issued_idx ON invoices "
        "(customer_id, issued_at); it takes no write lock, but it cannot run inside a transaction block.",
    },
)
# An agent's round as real backends accept it: a question, a tool call, its result, the answer.
_TOOL_ROUND: tuple[dict[str, Any], ...] = (_TURNS[2], _TURNS[3], _TURNS[4], _TURNS[5])
# Text turns only, user first and alternating: what Messages and Responses bodies repeat.
_TEXT_TURNS: tuple[dict[str, Any], ...] = (
    {"role": "user", "content": _QUESTION},
    {"role": "assistant", "content": _ANSWER},
)
_PADDING = "Also consider the reporting replicas. " * 2000


def _compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"))


def _sized(target_bytes: int, document: dict[str, Any], key: str, turns: tuple[dict[str, Any], ...]) -> bytes:
    """`document` with whole rounds of `turns` in `document[key]` (at least one) while they fit in
    `target_bytes`, then a user message padded to the target: roles keep alternating."""
    items: list[dict[str, Any]] = document[key]
    first = len(items)
    closing = len(',{"role":"user","content":""}')
    while len(items) == first or len(_compact({**document, key: [*items, *turns]})) + closing < target_bytes:
        items.extend(dict(turn) for turn in turns)
    padding = target_bytes - len(_compact(document)) - closing
    items.append({"role": "user", "content": _PADDING[: max(padding, 1)]})
    return _compact(document).encode()


def chat_body(target_bytes: int, stream: bool = False) -> bytes:
    """A chat completion request of about `target_bytes` bytes (compact JSON, realistic messages array)."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}]
    document: dict[str, Any] = {"model": "gpt-4o-mini", "messages": messages, "temperature": 0.2, "stream": stream}
    turn = 0
    while True:
        candidate = dict(_TURNS[turn % len(_TURNS)])
        candidate_body = _compact({**document, "messages": [*messages, candidate]})
        if len(candidate_body) > target_bytes and turn > 0:
            break
        messages.append(candidate)
        turn += 1
    # Pad the last user question so the body lands on the target size exactly.
    padding = target_bytes - len(_compact(document)) - len(',{"role":"user","content":""}')
    if padding > 0:
        messages.append({"role": "user", "content": _PADDING[:padding]})
    return _compact(document).encode()


def api_chat_body(target_bytes: int, stream: bool = False) -> bytes:
    """A chat completion request for a real backend: whole rounds of user / assistant / tool turns (a tool call
    is always followed by its result, as providers require), then a padded user message; at least one round."""
    document: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": SYSTEM}],
        "temperature": 0.2,
        "stream": stream,
    }
    return _sized(target_bytes, document, "messages", _TOOL_ROUND)


def messages_body(target_bytes: int, stream: bool = False) -> bytes:
    """An Anthropic Messages request of about `target_bytes` bytes."""
    document: dict[str, Any] = {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 1024,
        "system": SYSTEM,
        "messages": [],
        "temperature": 0.2,
        "stream": stream,
    }
    return _sized(target_bytes, document, "messages", _TEXT_TURNS)


def responses_body(target_bytes: int, stream: bool = False) -> bytes:
    """An OpenAI Responses request of about `target_bytes` bytes (input items as role/content messages)."""
    document: dict[str, Any] = {
        "model": "gpt-4o",
        "instructions": SYSTEM,
        "input": [],
        "temperature": 0.2,
        "stream": stream,
        "store": False,
    }
    return _sized(target_bytes, document, "input", _TEXT_TURNS)


BODIES: dict[str, Callable[[int, bool], bytes]] = {
    "chat": api_chat_body,
    "messages": messages_body,
    "responses": responses_body,
}
