"""Tool call ids and tool names carried between APIs whose rules for them differ.

Invariants:
- `tool_id` maps any id to one Anthropic accepts (`^[a-zA-Z0-9_-]+$`): valid ids are unchanged; any
  other id (`functions.Bash:0` from Kimi or DeepSeek, an empty one) gets its other characters replaced
  by `_` and a hash of the original appended, so two ids that differ only in those characters stay
  distinct. It is a pure function of the id: a `tool_use` id and the `tool_use_id` of its result,
  translated in different requests, still match.
- `short_tool_name` maps a name longer than OpenAI's 64 characters to a 64-character one (a 55-character
  prefix, `_`, 8 hex digits of its hash); `long_tool_names` gives the way back for one request's tools,
  so a response's tool calls carry the names the client declared.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

OPENAI_TOOL_NAME_MAX = 64
_VALID_ID = re.compile(r"[A-Za-z0-9_-]+")
_INVALID_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def tool_id(raw: str) -> str:
    """An id Anthropic accepts, equal to `raw` when `raw` already is one."""
    if _VALID_ID.fullmatch(raw):
        return raw
    return f"{_INVALID_ID_CHARS.sub('_', raw)}_{_digest(raw)}".lstrip("_") or _digest(raw)


def short_tool_name(name: str) -> str:
    """`name` if OpenAI accepts its length, else a 64-character name derived from it."""
    if len(name) <= OPENAI_TOOL_NAME_MAX:
        return name
    return f"{name[:55]}_{_digest(name)}"


def long_tool_names(names: Iterable[str]) -> dict[str, str]:
    """The shortened names among `names`, mapped back to the names the client declared."""
    return {short_tool_name(name): name for name in names if len(name) > OPENAI_TOOL_NAME_MAX}
