"""What the Anthropic Messages API refuses, as pure functions: headers and request bodies in, an `ApiError` or None.

The messages are the real API's where they are known (quoted in users' bug reports of the API, see
the tests), written in its pydantic-like `path: problem` style elsewhere. What is checked:
- Headers: a key, in `x-api-key` or as `Authorization: Bearer` (401 "x-api-key header is required"
  without either), equal to the configured key (401 "invalid x-api-key" / "Invalid bearer token");
  `anthropic-version` present and a known version (400).
- The body: a JSON object with `model`, `messages` and (for /v1/messages) `max_tokens`, and no other
  top-level field than the API's (an extra one is "Extra inputs are not permitted", which is how a
  translator that forgets to drop `stream_options` or `n` is caught); an unknown model is a 404.
- Messages: roles `user`/`assistant` and nothing but `role` and `content`; content blocks of known types;
  text blocks non-empty and not whitespace only; every message but a final assistant one non-empty; a
  final assistant (prefill) text without trailing whitespace; tool ids matching `^[a-zA-Z0-9_-]+$`.
- Turns: every `tool_use` answered by a `tool_result` in the very next (user) turn, and every
  `tool_result` answering a `tool_use` of the turn just before. With `strict_turns` (the default of the
  fake) roles must alternate and the first message be the user's, as the API long required; without
  it consecutive same-role messages are combined into one turn first, as the API does today.
- Tools (unique names, a name pattern, an object `input_schema`), `tool_choice` (a known type, a named
  tool that exists, no forced tool use with thinking), `thinking` (a budget of at least 1024 and below
  `max_tokens`), `temperature` at most 1, at most 4 `cache_control` breakpoints.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from brightstaff.demo.api_error import ApiError

# The API versions it knows: the long-standing two, and the one anthropic-sdk-python 2.x sends.
VERSIONS = ("2023-01-01", "2023-06-01", "2026-10-21")

# Top-level fields of a Messages request (anthropic-sdk-python's MessageCreateParams, and the sampling
# and beta fields the API still takes); count_tokens takes the same less the generation settings.
# fmt: off
MESSAGE_FIELDS = frozenset({
    "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream", "temperature",
    "top_p", "top_k", "tools", "tool_choice", "thinking", "service_tier", "container", "mcp_servers",
    "context_management", "output_config", "output_format", "cache_control", "diagnostics", "inference_geo",
    "speed", "user_profile_id", "workspace_id",
})
COUNT_TOKENS_FIELDS = frozenset({
    "model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers", "context_management",
    "output_config", "output_format", "cache_control", "speed", "user_profile_id", "workspace_id",
})
BLOCK_TYPES = (
    "text", "image", "document", "search_result", "thinking", "redacted_thinking", "tool_use", "tool_result",
    "server_tool_use", "web_search_tool_result", "web_fetch_tool_result", "code_execution_tool_result",
    "bash_code_execution_tool_result", "text_editor_code_execution_tool_result", "tool_search_tool_result",
    "container_upload",
)
# fmt: on
TOOL_CHOICES = ("auto", "any", "tool", "none")
TOOL_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
SERVER_TOOL = re.compile(r"^[a-z_]+_\d{8}$")  # a versioned server tool type: web_search_20250305, bash_20250124...
# How the API lists the tool types it knows when one is not (a few of the versioned ones, for the message).
TOOL_TAGS = ("custom", "bash_20250124", "code_execution_20250825", "text_editor_20250728", "web_search_20250305")
MAX_BREAKPOINTS = 4
MIN_THINKING_BUDGET = 1024
THINKING_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"

# The documented error type per status. Written here again on purpose, not imported from
# brightstaff/core/errors.py: the fake stands for the real API, the reference that table is tested against.
_TYPES_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type(status: int) -> str:
    """The Anthropic error `type` for a status (the documented ones; other 4xx/5xx as 400/500)."""
    return _TYPES_BY_STATUS.get(status, "invalid_request_error" if status < 500 else "api_error")


def _bad(message: str) -> ApiError:
    return ApiError(400, message, "invalid_request_error")


def _tag_mismatch(where: str, tag: Any, expected: Sequence[str]) -> ApiError:
    """A value of a tagged union with an unknown `type` (pydantic's words, which the API passes on)."""
    tags = ", ".join(f"'{t}'" for t in expected)
    return _bad(f"{where}: Input tag '{tag}' found using 'type' does not match any of the expected tags: {tags}")


def check_headers(headers: Mapping[str, str], api_key: str | None) -> ApiError | None:
    """Authentication, then the API version; `api_key` None accepts any key (one is still required).

    The key comes in `x-api-key` (Claude Code, older SDKs, curl) or as `Authorization: Bearer` (what
    anthropic-sdk-python 2.x sends for an api_key); each has the API's own 401 when it is wrong."""
    key = headers.get("x-api-key")
    authorization = headers.get("authorization", "")
    bearer = authorization[7:] if authorization[:7].lower() == "bearer " else None
    if key:
        if api_key is not None and key != api_key:
            return ApiError(401, "invalid x-api-key", "authentication_error")
    elif bearer:
        if api_key is not None and bearer != api_key:
            return ApiError(401, "Invalid bearer token", "authentication_error")
    else:
        return ApiError(401, "x-api-key header is required", "authentication_error")
    version = headers.get("anthropic-version")
    if version is None:
        return _bad("anthropic-version: header is required")
    if version not in VERSIONS:
        return _bad(f'anthropic-version: "{version}" is not a valid version')
    return None


def check_request(
    document: Any, models: Sequence[str], *, count_tokens: bool = False, strict_turns: bool = True
) -> ApiError | None:
    """The API's refusal of a /v1/messages (or, with `count_tokens`, a count_tokens) body, or None."""
    if not isinstance(document, dict):
        return _bad("The request body must be a JSON object.")
    required = ("model", "messages") if count_tokens else ("model", "messages", "max_tokens")
    for name in required:
        if name not in document:
            return _bad(f"{name}: Field required")
    allowed = COUNT_TOKENS_FIELDS if count_tokens else MESSAGE_FIELDS
    for name in document:
        if name not in allowed:
            return _bad(f"{name}: Extra inputs are not permitted")
    if not isinstance(document["model"], str):
        return _bad("model: Input should be a valid string")
    max_tokens = document.get("max_tokens")
    if not count_tokens and (not isinstance(max_tokens, int) or isinstance(max_tokens, bool)):
        return _bad("max_tokens: Input should be a valid integer")
    if not count_tokens and isinstance(max_tokens, int) and max_tokens < 0:
        return _bad("max_tokens: Input should be greater than or equal to 0")
    error = (
        _check_messages(document.get("messages"), strict_turns)
        or _check_system(document.get("system"))
        or _check_tools(document)
        or _check_settings(document, count_tokens)
        or _check_breakpoints(document)
    )
    if error is not None:
        return error
    if document["model"] not in models:
        return ApiError(404, f"model: {document['model']}", "not_found_error")
    return None


def blocks_of(content: Any) -> list[Any]:
    """A message's content as a list of blocks: a string is one text block."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return list(content) if isinstance(content, list) else []


def _check_messages(messages: Any, strict_turns: bool) -> ApiError | None:
    if not isinstance(messages, list):
        return _bad("messages: Input should be a valid list")
    if not messages:
        return _bad("messages: at least one message is required")
    for i, message in enumerate(messages):
        error = _check_message(i, message, last=i == len(messages) - 1)
        if error is not None:
            return error
    if strict_turns:
        if messages[0]["role"] != "user":
            return _bad('messages: first message must use the "user" role')
        for previous, message in itertools.pairwise(messages):
            if previous["role"] == message["role"]:
                role = message["role"]
                return _bad(
                    f'messages: roles must alternate between "user" and "assistant", '
                    f'but found multiple "{role}" roles in a row'
                )
    return _check_tool_pairs(messages)


def _check_message(i: int, message: Any, *, last: bool) -> ApiError | None:
    where = f"messages.{i}"
    if not isinstance(message, dict):
        return _bad(f"{where}: Input should be a valid dictionary")
    for name in ("role", "content"):
        if name not in message:
            return _bad(f"{where}.{name}: Field required")
    for name in message:
        if name not in ("role", "content"):
            return _bad(f"{where}.{name}: Extra inputs are not permitted")
    role, content = message["role"], message["content"]
    if role not in ("user", "assistant"):
        return _bad(f"{where}.role: Input should be 'user' or 'assistant'")
    if not isinstance(content, str | list):
        return _bad(f"{where}.content: Input should be a valid list")
    if not content and not (last and role == "assistant"):
        return _bad(
            f"{where}: all messages must have non-empty content except for the optional final assistant message"
        )
    for j, block in enumerate(content if isinstance(content, list) else []):
        error = _check_block(f"{where}.content.{j}", block, role)
        if error is not None:
            return error
    texts = [b.get("text", "") for b in blocks_of(content) if isinstance(b, dict) and b.get("type") == "text"]
    if isinstance(content, str) and content and not content.strip() and not (last and role == "assistant"):
        return _bad("messages: text content blocks must contain non-whitespace text")
    if last and role == "assistant" and texts and texts[-1] != texts[-1].rstrip():
        return _bad("messages: final assistant content cannot end with trailing whitespace")
    return None


def _check_block(where: str, block: Any, role: str) -> ApiError | None:
    if not isinstance(block, dict):
        return _bad(f"{where}: Input should be a valid dictionary")
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        return _tag_mismatch(where, kind, BLOCK_TYPES)
    if kind == "text":
        text = block.get("text")
        if not isinstance(text, str):
            return _bad(f"{where}.text.text: Field required")
        if not text:
            return _bad("messages: text content blocks must be non-empty")
        if not text.strip():
            return _bad("messages: text content blocks must contain non-whitespace text")
    elif kind == "tool_use":
        if role != "assistant":
            return _bad(f"{where}: `tool_use` blocks can only be in `assistant` messages")
        for name in ("id", "name", "input"):
            if name not in block:
                return _bad(f"{where}.tool_use.{name}: Field required")
        if not isinstance(block["id"], str) or not TOOL_ID.match(block["id"]):
            return _bad(f"{where}.tool_use.id: String should match pattern '{TOOL_ID.pattern}'")
        if not isinstance(block["input"], dict):
            return _bad(f"{where}.tool_use.input: Input should be a valid dictionary")
    elif kind == "tool_result":
        if role != "user":
            return _bad(f"{where}: `tool_result` blocks can only be in `user` messages")
        tool_use_id = block.get("tool_use_id")
        if not isinstance(tool_use_id, str) or not TOOL_ID.match(tool_use_id):
            return _bad(f"{where}.tool_result.tool_use_id: String should match pattern '{TOOL_ID.pattern}'")
        parts = block.get("content")
        for k, part in enumerate(parts if isinstance(parts, list) else []):
            if isinstance(part, dict) and part.get("type") == "text" and not part.get("text"):
                return _bad("messages: text content blocks must be non-empty")
            if not isinstance(part, dict):
                return _bad(f"{where}.tool_result.content.{k}: Input should be a valid dictionary")
    return None


def _turns(messages: list[Any]) -> Iterator[tuple[str, list[tuple[int, int, dict[str, Any]]]]]:
    """Consecutive same-role messages as one turn: (role, [(message index, block index, block)])."""
    role: str | None = None
    blocks: list[tuple[int, int, dict[str, Any]]] = []
    for i, message in enumerate(messages):
        if message["role"] != role and role is not None:
            yield role, blocks
            blocks = []
        role = message["role"]
        blocks += [(i, j, b) for j, b in enumerate(blocks_of(message["content"])) if isinstance(b, dict)]
    if role is not None:
        yield role, blocks


def _check_tool_pairs(messages: list[Any]) -> ApiError | None:
    turns = list(_turns(messages))
    for t, (role, blocks) in enumerate(turns):
        if role == "assistant":
            uses = [b["id"] for _, _, b in blocks if b.get("type") == "tool_use"]
            following = turns[t + 1][1] if t + 1 < len(turns) else []
            answered = {b.get("tool_use_id") for _, _, b in following if b.get("type") == "tool_result"}
            missing = [u for u in uses if u not in answered]
            if missing:
                i = max(i for i, _, _ in blocks)
                return _bad(
                    f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                    f"{', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` block "
                    "in the next message."
                )
        else:
            preceding = turns[t - 1][1] if t > 0 else []
            uses_before = {b.get("id") for _, _, b in preceding if b.get("type") == "tool_use"}
            for i, j, block in blocks:
                if block.get("type") == "tool_result" and block.get("tool_use_id") not in uses_before:
                    return _bad(
                        f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: "
                        f"{block.get('tool_use_id')}. Each `tool_result` block must have a corresponding "
                        "`tool_use` block in the previous message."
                    )
    return None


def _check_system(system: Any) -> ApiError | None:
    if system is None or isinstance(system, str):
        return None
    if not isinstance(system, list):
        return _bad("system: Input should be a valid string")
    for n, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
            return _bad(f"system.{n}: Input should be a valid text block")
        if not block["text"]:
            return _bad("system: text content blocks must be non-empty")
    return None


def is_custom_tool(tool: Any) -> bool:
    """A client tool (the model calls it, the client runs it), as opposed to a versioned server tool."""
    return isinstance(tool, dict) and tool.get("type") in (None, "custom")


def _check_tools(document: dict[str, Any]) -> ApiError | None:
    tools = document.get("tools")
    if tools is None:
        tools = []
    if not isinstance(tools, list):
        return _bad("tools: Input should be a valid list")
    names: list[str] = []
    for n, tool in enumerate(tools):
        if not isinstance(tool, dict):
            return _bad(f"tools.{n}: Input should be a valid dictionary")
        if not is_custom_tool(tool):
            if not isinstance(tool.get("type"), str) or not SERVER_TOOL.match(tool["type"]):
                return _tag_mismatch(f"tools.{n}", tool.get("type"), TOOL_TAGS)
            names.append(str(tool.get("name")))
            continue
        name = tool.get("name")
        if not isinstance(name, str):
            return _bad(f"tools.{n}.custom.name: Field required")
        if not TOOL_NAME.match(name):
            return _bad(f"tools.{n}.custom.name: String should match pattern '{TOOL_NAME.pattern}'")
        schema = tool.get("input_schema")
        if schema is None:
            return _bad(f"tools.{n}.custom.input_schema: Field required")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            return _bad(f"tools.{n}.custom.input_schema.type: Input should be 'object'")
        names.append(name)
    if len(set(names)) != len(names):
        return _bad("tools: Tool names must be unique.")
    choice = document.get("tool_choice")
    if choice is None:
        return None
    if not isinstance(choice, dict) or choice.get("type") not in TOOL_CHOICES:
        return _tag_mismatch("tool_choice", choice.get("type") if isinstance(choice, dict) else choice, TOOL_CHOICES)
    if choice["type"] == "tool" and choice.get("name") not in names:
        return _bad(f"tool_choice.tool.name: Tool '{choice.get('name')}' not found in the request's tools")
    thinking = document.get("thinking")
    if choice["type"] in ("any", "tool") and isinstance(thinking, dict) and thinking.get("type") != "disabled":
        return _bad("Thinking may not be enabled when tool_choice forces tool use.")
    return None


def _check_settings(document: dict[str, Any], count_tokens: bool) -> ApiError | None:
    temperature = document.get("temperature")
    if isinstance(temperature, int | float) and not 0 <= temperature <= 1:
        bound = "less than or equal to 1" if temperature > 1 else "greater than or equal to 0"
        return _bad(f"temperature: Input should be {bound}")
    thinking = document.get("thinking")
    if thinking is None:
        return None
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind not in ("enabled", "adaptive", "disabled"):
        return _tag_mismatch("thinking", kind, ("enabled", "adaptive", "disabled"))
    if kind != "enabled":
        return None
    assert isinstance(thinking, dict)
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int):
        return _bad("thinking.enabled.budget_tokens: Field required")
    if budget < MIN_THINKING_BUDGET:
        return _bad(f"thinking.enabled.budget_tokens: Input should be greater than or equal to {MIN_THINKING_BUDGET}")
    if not count_tokens and document["max_tokens"] <= budget:
        return _bad(
            "`max_tokens` must be greater than `thinking.budget_tokens`. "
            f"Please consult our documentation at {THINKING_DOCS}"
        )
    return None


def breakpoints(document: dict[str, Any]) -> int:
    """How many blocks (tools, system blocks, message blocks) carry a `cache_control`."""
    marked = [t for t in document.get("tools") or [] if isinstance(t, dict) and t.get("cache_control")]
    system = document.get("system")
    marked += [b for b in system if isinstance(b, dict) and b.get("cache_control")] if isinstance(system, list) else []
    for message in document.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        marked += [b for b in blocks_of(content) if isinstance(b, dict) and b.get("cache_control")]
    return len(marked)


def _check_breakpoints(document: dict[str, Any]) -> ApiError | None:
    found = breakpoints(document)
    if found > MAX_BREAKPOINTS:
        return _bad(f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {found}.")
    return None
