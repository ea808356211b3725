"""`POST /v1/messages/count_tokens` for a backend without it: a local estimate in Anthropic's response shape.

Claude Code calls count_tokens on every turn to decide when to compact its context; an OpenAI-compatible
backend has no such endpoint, so brightstaff answers it itself (an Anthropic backend gets the request
forwarded: `anthropic_anthropic.count_tokens`).

The estimate, `{"input_tokens": N}`: N = ceil(C / 4) + 1,600 x M, where
- C counts the characters of every piece of text the request carries: the system prompt, message text,
  thinking text, each tool call's name and input (as JSON), each tool result's text, text documents,
  and each tool definition as JSON (name, description and input schema: they are part of the prompt);
  blocks of any other type count as their JSON;
- M counts images and non-text documents, at a flat 1,600 tokens each (Anthropic's cost of a
  ~1.15 megapixel image, its largest without downscaling): their pixels and pages are not known here.
Four characters per token is the usual rule of thumb for English text and code; it errs high for
prose and low for dense non-Latin scripts. It is an estimate for budgeting, never billing.
"""

from __future__ import annotations

from typing import Any

import orjson

from brightstaff.core.messages import MessagesRequest

CHARS_PER_TOKEN = 4
MEDIA_TOKENS = 1600


def _count(value: Any, media: list[int]) -> int:
    """Characters of text in a message content (string or blocks); media blocks are tallied in `media`."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, list):
        return 0
    chars = 0
    for block in value:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        source = block.get("source")
        if kind == "text":
            chars += len(block.get("text") or "")
        elif kind == "thinking":
            chars += len(block.get("thinking") or "")
        elif kind == "tool_use":
            chars += len(block.get("name") or "") + len(orjson.dumps(block.get("input")))
        elif kind == "tool_result":
            chars += _count(block.get("content"), media)
        elif kind == "document" and isinstance(source, dict) and source.get("type") == "text":
            chars += len(source.get("data") or "")
        elif kind in ("image", "document"):
            media[0] += 1
        elif kind != "redacted_thinking":
            chars += len(orjson.dumps(block))
    return chars


def estimate_tokens(request: MessagesRequest) -> int:
    media = [0]
    chars = _count(request.decoded("system"), media)
    for message in request.messages:
        chars += _count(message.get("content"), media)
    tools = request.decoded("tools")
    if isinstance(tools, list):
        chars += sum(len(orjson.dumps(tool)) for tool in tools)
    return -(-chars // CHARS_PER_TOKEN) + MEDIA_TOKENS * media[0]


def local_count(request: MessagesRequest) -> bytes:
    """The count_tokens response body, estimated as the module docstring says."""
    return orjson.dumps({"input_tokens": estimate_tokens(request)})
