"""Anthropic Messages request bodies: parsing, validation, the text a router reads, and the model rewrite.

Like chat completions bodies (`core.chat`), the body is split into raw top-level fields (`core.json_body`)
and the rewrite writes every field but `model` back byte for byte: thinking blocks, `cache_control`,
images, documents and every field brightstaff does not know reach an Anthropic provider untouched.

What is checked (a 400 whose message names the field, in Anthropic's dotted path style
`messages.2.content.0.type`), and nothing more, so no valid Anthropic feature is refused:
- the body is one JSON object; `model` is a non-empty string;
- `max_tokens` is an integer >= 0 (required on `/v1/messages`, not on `count_tokens`). 0 is accepted:
  the Messages API documents it as "populate the prompt cache without generating", which is exactly
  what an affinity router's clients may want;
- `messages` is an array of `{role: user|assistant, content: string | [blocks]}`, each block of a type
  the Messages API knows (`BLOCK_TYPES`, stable and beta) and allowed for its role (`tool_result` only
  from the user; `tool_use`, `thinking`, `redacted_thinking` only from the assistant), with the fields
  brightstaff translates typed (`text.text`, `tool_use.id`/`name`, `tool_result.tool_use_id`);
- `system` is a string or an array of text blocks.
The check is one typed msgspec decode that materialises only block tags and those few fields (~0.4 us
per KB); the full decode into Python values happens only when a router or a translator reads it.
The request handler parses with `read_messages` / `read_count_tokens`: the `messages` and `system` checks
then run on the body's first read (`ParsedBody.decoded`: a router, a translator, the local token
count), so a same-API pin hit forwards the body unread, as chat completions bodies are, and an invalid
one gets the provider's own 400 in the client's dialect; every other check stays at parse time.
A block type Anthropic adds later needs an entry in `BLOCK_TYPES`.
"""

from __future__ import annotations

import re
from typing import Any, Union

import msgspec
import orjson

from brightstaff.core.conversation import Conversation, from_messages_request
from brightstaff.core.errors import ClientError, invalid_body, quote
from brightstaff.core.json_body import (
    Check,
    Fields,
    ParsedBody,
    is_true,
    required_model,
    split_object,
    starts_with,
    with_field,
)


class _Block(msgspec.Struct, tag_field="type", gc=False):
    """A content block: only the tag and the fields brightstaff translates are decoded."""


class _Text(_Block, tag="text"):
    text: str


class _ToolUse(_Block, tag="tool_use"):
    id: str
    name: str


class _ToolResult(_Block, tag="tool_result"):
    tool_use_id: str


# Every block type the Messages API accepts in a request (stable and beta), besides the three above, in
# named groups the translators use.
THINKING_BLOCKS = frozenset({"thinking", "redacted_thinking"})
# Records of tools Anthropic ran itself (server tools, MCP connectors, the advisor), found in assistant turns.
SERVER_TOOL_BLOCKS = frozenset(
    {
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "tool_search_tool_result",
        "mcp_tool_use",
        "mcp_tool_result",
        "mcp_tool_listing",
        "advisor_tool_result",
    }
)
_OTHER_TYPES = (
    "image",
    "document",
    "search_result",
    "container_upload",
    "compaction",
    "fallback",
    "tool_addition",
    "tool_removal",
    *sorted(THINKING_BLOCKS),
    *sorted(SERVER_TOOL_BLOCKS),
)
# Blocks only the assistant produces (the user sends them back inside assistant turns) and the one only
# the user sends: the roles brightstaff's translations rely on.
ASSISTANT_ONLY = frozenset({"tool_use", *THINKING_BLOCKS})
USER_ONLY = frozenset({"tool_result"})

_OTHER_BLOCKS: dict[str, type[msgspec.Struct]] = {
    name: msgspec.defstruct(f"_Block_{name}", [], bases=(_Block,), tag=name, gc=False) for name in _OTHER_TYPES
}
BLOCK_TYPES = frozenset({"text", "tool_use", "tool_result", *_OTHER_TYPES})


def _blocks_for(excluded: frozenset[str]) -> Any:
    typed: list[type[msgspec.Struct]] = [_Text, _ToolUse, _ToolResult, *_OTHER_BLOCKS.values()]
    allowed = tuple(t for t in typed if t.__struct_config__.tag not in excluded)
    return Union[allowed]  # noqa: UP007 (a runtime union of a computed tuple of types)


class _UserMessage(msgspec.Struct, tag_field="role", tag="user", gc=False):
    content: Union[str, list[_blocks_for(ASSISTANT_ONLY)]]  # type: ignore[valid-type]  # noqa: UP007


class _AssistantMessage(msgspec.Struct, tag_field="role", tag="assistant", gc=False):
    content: Union[str, list[_blocks_for(USER_ONLY)]]  # type: ignore[valid-type]  # noqa: UP007


_MESSAGES = msgspec.json.Decoder(list[_UserMessage | _AssistantMessage])
_SYSTEM = msgspec.json.Decoder(str | list[_Text])
_MAX_TOKENS = msgspec.json.Decoder(int)
_PATH = re.compile(r"`\$(.*)`")
_INVALID_VALUE = re.compile(r"Invalid value '(.*)'", re.DOTALL)


class MessagesRequest(ParsedBody):
    """A parsed Messages body: its top-level fields as raw JSON, plus the values brightstaff reads."""

    __slots__ = ("_conversation", "max_tokens")

    def __init__(
        self, fields: Fields, model: str, stream: bool, max_tokens: int | None, deferred: Check | None = None
    ) -> None:
        super().__init__(fields, model, stream, deferred)
        self.max_tokens = max_tokens
        self._conversation: Conversation | None = None

    @property
    def messages(self) -> list[Any]:
        """The validated `messages` array as Python values."""
        messages = self.decoded("messages")
        return messages if isinstance(messages, list) else []

    @property
    def conversation(self) -> Conversation:
        """What a router reads, built on first use (pin hits never build it)."""
        if self._conversation is None:
            self._conversation = from_messages_request(self.decoded("system"), self.messages)
        return self._conversation


def parse_messages(body: bytes) -> MessagesRequest:
    """A `/v1/messages` body: checked as the module docstring says; everything else passes through."""
    request = read_messages(body)
    request.check()
    return request


def parse_count_tokens(body: bytes) -> MessagesRequest:
    """A `/v1/messages/count_tokens` body: the same checks, but it carries no `max_tokens`."""
    request = read_count_tokens(body)
    request.check()
    return request


def read_messages(body: bytes) -> MessagesRequest:
    """`parse_messages` with the content checks run on the body's first read (the request handler's)."""
    return _parse(body, max_tokens_required=True)


def read_count_tokens(body: bytes) -> MessagesRequest:
    """`parse_count_tokens` with the content checks run on the body's first read (the request handler's)."""
    return _parse(body, max_tokens_required=False)


def with_model(request: MessagesRequest, model: str) -> bytes:
    """The body to forward: the client's fields, in their order and bytes, with `model` replaced."""
    return with_field(request.fields, "model", model)


def _parse(body: bytes, *, max_tokens_required: bool) -> MessagesRequest:
    fields = split_object(body)
    model = required_model(fields)
    max_tokens = _max_tokens(fields.get("max_tokens"), max_tokens_required)
    raw_messages = fields.get("messages")
    if raw_messages is None:
        raise invalid_body("messages: Field required.", param="messages")
    if not starts_with(raw_messages, b"["):
        raise invalid_body("messages: must be an array of messages.", param="messages")
    return MessagesRequest(fields, model, is_true(fields, "stream"), max_tokens, _check_content)


def _check_content(fields: Fields) -> None:
    """The `messages` (present, an array: checked at parse time) and `system` checks."""
    _check(_MESSAGES, fields["messages"], "messages")
    raw_system = fields.get("system")
    if raw_system is not None:
        _check(_SYSTEM, raw_system, "system")


def _max_tokens(raw: msgspec.Raw | None, required: bool) -> int | None:
    if raw is None:
        if required:
            raise invalid_body("max_tokens: Field required.", param="max_tokens")
        return None
    try:
        value = _MAX_TOKENS.decode(raw)
    except msgspec.ValidationError:
        value = -1
    if value < 0:
        raise invalid_body("max_tokens: must be an integer >= 0.", param="max_tokens")
    return value


def _check(decoder: msgspec.json.Decoder[Any], raw: msgspec.Raw, field: str) -> None:
    try:
        decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise _validation_error(str(exc), raw, field) from None


def _validation_error(detail: str, raw: msgspec.Raw, field: str) -> ClientError:
    """msgspec's message (`... - at `$[1].content[0].type``) as a 400 naming the field in dotted form."""
    match = _PATH.search(detail)
    suffix = match.group(1) if match else ""
    path = field + re.sub(r"\[(\d+)\]", r".\1", suffix)
    problem = _PATH.sub("", detail).removesuffix(" - at ").strip()
    invalid = _INVALID_VALUE.fullmatch(problem)
    if invalid is not None:  # msgspec quotes the client's value whole
        problem = f"Invalid value {quote(invalid.group(1))}"
    if field == "system" and path.endswith(".type"):
        problem = "the system prompt must be a string or an array of text blocks"
    elif path.endswith(".type") and problem.startswith("Invalid value"):
        problem = _block_problem(raw, suffix, problem)
    elif path.endswith(".role") and problem.startswith("Invalid value"):
        problem += ": a message's role must be 'user' or 'assistant' (the system prompt is the top-level 'system')"
    return invalid_body(f"{path}: {problem}.", param=path)


def _block_problem(raw: msgspec.Raw, suffix: str, problem: str) -> str:
    """Why a block's type was refused: unknown to the Messages API, or not allowed in that role."""
    indices = [int(i) for i in re.findall(r"\[(\d+)\]", suffix)]
    if len(indices) != 2:
        return problem
    try:
        message = orjson.loads(bytes(raw))[indices[0]]
        role, block_type = message["role"], message["content"][indices[1]]["type"]
    except (orjson.JSONDecodeError, LookupError, TypeError):
        return problem
    if block_type in BLOCK_TYPES:
        return f"a {quote(block_type)} block is not allowed in {role} messages"
    return f"unknown content block type {quote(block_type)}"
