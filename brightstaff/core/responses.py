"""OpenAI Responses request bodies (`POST /v1/responses`): parsing, checking, and the model rewrite.

Like the other client APIs (`chat.py`, `messages.py`) the body is split into its top-level fields, each
kept as raw JSON: `model` and `stream` are decoded on every request, the rest only when a router or a
translator reads it, and the rewrite writes every other field back byte for byte.

What is checked (a 400 in the OpenAI error shape naming the field, `input[3].content[0].text` style):
- the body is one JSON object with a non-empty string `model`;
- `input`, when present, is a string or an array of input items, each of a type the Responses API knows
  (`ITEM_TYPES`; an item without a `type` is a message when it has a `role`, an item reference
  otherwise, as the API reads them). The items brightstaff translates have their fields typed:
  `message` (role user/assistant/system/developer; content a string or parts of a known type, with
  `input_text`/`output_text` text and `refusal` strings), `function_call` (`call_id`, `name`,
  `arguments` strings), `function_call_output` (`call_id`; `output` a string or input parts) and
  `reasoning` (its summary and content texts, `encrypted_content`);
- `instructions` is a string; `tools` an array of tools with a string `type`, function tools in the flat
  shape `{type: function, name, description, parameters, strict}` (the nested chat completions shape is
  refused with a message saying so); `tool_choice` a mode string or an object with a `type`, a function
  choice naming a tool; `text.format` text, json_object or json_schema (with `name` and an object
  `schema`); `max_output_tokens` a positive integer; `reasoning` an object.
The request handler parses with `read_responses`: every check but `model`'s then runs on the body's
first read (`ParsedBody.decoded`: a router or a translator), so a pin hit on a backend that serves the
Responses API forwards the body unread, as chat completions bodies are, and an invalid one gets the
provider's own 400. Fields brightstaff does not read pass through untouched; whether a feature can be honoured on a
translated path (stored state, built-in tools) is the adapters' decision, not the parser's.
Cost: one typed msgspec decode of `input` that materialises only tags and the few fields above. Items
without a `type` (LangChain and the SDKs' `{role, content}` messages) take a second typed pass over
message items only; a mix of untyped items and other item types is checked item by item.
An item or part type OpenAI adds later needs an entry in `ITEM_TYPES` or `PART_TYPES`.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Union

import msgspec

from brightstaff.core.conversation import Conversation, from_responses_request
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

# -- content parts -------------------------------------------------------------------------------------


class _Part(msgspec.Struct, tag_field="type", gc=False):
    """A content part: only the tag and the fields brightstaff translates are decoded."""


class _InputText(_Part, tag="input_text"):
    text: str


class _OutputText(_Part, tag="output_text"):
    text: str


class _Refusal(_Part, tag="refusal"):
    refusal: str


class _InputImage(_Part, tag="input_image"):
    image_url: str | None = None
    file_id: str | None = None


class _InputFile(_Part, tag="input_file"):
    file_data: str | None = None
    file_id: str | None = None
    file_url: str | None = None
    filename: str | None = None


class _InputAudio(_Part, tag="input_audio"):
    pass


_MessagePart = Union[_InputText, _OutputText, _Refusal, _InputImage, _InputFile, _InputAudio]  # noqa: UP007
_OutputPart = Union[_InputText, _InputImage, _InputFile]  # noqa: UP007  (a function_call_output's parts)
PART_TYPES = frozenset(t.__struct_config__.tag for t in _MessagePart.__args__)  # type: ignore[attr-defined]


class _SummaryText(msgspec.Struct, gc=False):
    text: str


# -- input items ---------------------------------------------------------------------------------------


class _Item(msgspec.Struct, tag_field="type", gc=False):
    """An input item: only the tag and the fields brightstaff translates are decoded."""


class _Message(_Item, tag="message"):
    role: Literal["user", "assistant", "system", "developer"]
    content: Union[str, list[_MessagePart]]  # noqa: UP007


class _FunctionCall(_Item, tag="function_call"):
    call_id: str
    name: str
    arguments: str


class _FunctionCallOutput(_Item, tag="function_call_output"):
    call_id: str
    output: Union[str, list[_OutputPart]]  # noqa: UP007


class _Reasoning(_Item, tag="reasoning"):
    summary: list[_SummaryText] = []
    content: list[_SummaryText] | None = None
    encrypted_content: str | None = None


# Every other item type the Responses API accepts (openai-python's ResponseInputItemParam): records of
# built-in tools, stored-state references, compaction. brightstaff reads none of their fields.
_OTHER_TYPES = (
    "item_reference",
    "file_search_call",
    "computer_call",
    "computer_call_output",
    "web_search_call",
    "tool_search_call",
    "tool_search_output",
    "additional_tools",
    "configuration_update",
    "compaction",
    "compaction_trigger",
    "image_generation_call",
    "code_interpreter_call",
    "local_shell_call",
    "local_shell_call_output",
    "shell_call",
    "shell_call_output",
    "apply_patch_call",
    "apply_patch_call_output",
    "mcp_list_tools",
    "mcp_approval_request",
    "mcp_approval_response",
    "mcp_call",
    "custom_tool_call",
    "custom_tool_call_output",
    "program",
    "program_output",
)
_OTHER_ITEMS = tuple(
    msgspec.defstruct(f"_Item_{name}", [], bases=(_Item,), tag=name, gc=False) for name in _OTHER_TYPES
)
ITEM_TYPES = frozenset({"message", "function_call", "function_call_output", "reasoning", *_OTHER_TYPES})
_ANY_ITEM = Union[(_Message, _FunctionCall, _FunctionCallOutput, _Reasoning, *_OTHER_ITEMS)]  # type: ignore[valid-type]


class _Untyped(msgspec.Struct, gc=False):
    """What an item without a `type` is read as: a message if it has a role, else an item reference."""

    type: str | None = None
    role: Any = None


class _MessageItem(msgspec.Struct, gc=False):
    """A message item, its `type` given or left out: what most clients send (LangChain and the SDKs' own
    `{role, content}` messages). A list of only these is valid exactly when the typed check would pass."""

    role: Literal["user", "assistant", "system", "developer"]
    content: Union[str, list[_MessagePart]]  # noqa: UP007
    type: Literal["message"] = "message"


_INPUT = msgspec.json.Decoder(Union[str, list[_ANY_ITEM]])  # noqa: UP007
_MESSAGE_ITEMS = msgspec.json.Decoder(list[_MessageItem])
_RAW_ITEMS = msgspec.json.Decoder(list[msgspec.Raw])
_UNTYPED = msgspec.json.Decoder(list[_Untyped])
_MISSING_TYPE = re.compile(r"Object missing required field `type` - at `\$\[\d+\]`")

# -- the other fields checked --------------------------------------------------------------------------


class _Tool(msgspec.Struct, gc=False):
    type: str
    name: Any = None
    function: Any = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None
    description: str | None = None


class _FunctionChoice(msgspec.Struct, tag_field="type", tag="function", gc=False):
    name: str


class _OtherChoice(msgspec.Struct, gc=False):
    type: str


class _Format(msgspec.Struct, gc=False):
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema: dict[str, Any] | None = None


class _Text(msgspec.Struct, gc=False):
    format: _Format | None = None


_INSTRUCTIONS = msgspec.json.Decoder(str | None)
_TOOLS = msgspec.json.Decoder(list[_Tool] | None)
_CHOICE_MODE = msgspec.json.Decoder(Literal["none", "auto", "required"])
_FUNCTION_CHOICE = msgspec.json.Decoder(_FunctionChoice)
_OTHER_CHOICE = msgspec.json.Decoder(_OtherChoice)
_TEXT = msgspec.json.Decoder(_Text | None)
_REASONING = msgspec.json.Decoder(dict[str, Any] | None)
_MAX_OUTPUT_TOKENS = msgspec.json.Decoder(int | None)
_PATH = re.compile(r"`\$(.*)`")
_INVALID_VALUE = re.compile(r"Invalid (?:enum )?value '(.*)'", re.DOTALL)


class ResponsesRequest(ParsedBody):
    """A parsed Responses body: its top-level fields as raw JSON, plus the values brightstaff reads."""

    __slots__ = ("_conversation",)

    def __init__(self, fields: Fields, model: str, stream: bool, deferred: Check | None = None) -> None:
        super().__init__(fields, model, stream, deferred)
        self._conversation: Conversation | None = None

    @property
    def items(self) -> list[Any]:
        """`input` as a list of items: a string is one user message; an absent input is no items."""
        value = self.decoded("input")
        if isinstance(value, str):
            return [{"type": "message", "role": "user", "content": value}]
        return value if isinstance(value, list) else []

    @property
    def conversation(self) -> Conversation:
        """What a router reads, built on first use (pin hits never build it)."""
        if self._conversation is None:
            self._conversation = from_responses_request(self.decoded("instructions"), self.items)
        return self._conversation


def item_type(item: dict[str, Any]) -> Any:
    """An input item's type as the API reads it: an item without one is a message if it has a role."""
    kind = item.get("type")
    if kind is None:
        return "message" if "role" in item else "item_reference"
    return kind


def parse_responses(body: bytes) -> ResponsesRequest:
    """A `/v1/responses` body: checked as the module docstring says; everything else passes through."""
    request = read_responses(body)
    request.check()
    return request


def read_responses(body: bytes) -> ResponsesRequest:
    """`parse_responses` with every check but `model`'s run on the body's first read (the request handler's)."""
    fields = split_object(body)
    return ResponsesRequest(fields, required_model(fields), is_true(fields, "stream"), _check_fields)


def _check_fields(fields: Fields) -> None:
    raw_input = fields.get("input")
    if raw_input is not None:
        _check_input(raw_input)
    for name, check in _CHECKS.items():
        raw = fields.get(name)
        if raw is not None:
            check(raw)


def with_model(request: ResponsesRequest, model: str) -> bytes:
    """The body to forward: the client's fields, in their order and bytes, with `model` replaced."""
    return with_field(request.fields, "model", model)


# -- checks --------------------------------------------------------------------------------------------


def _check_input(raw: msgspec.Raw) -> None:
    if not (starts_with(raw, b"[") or starts_with(raw, b'"')):
        raise invalid_body("input: must be a string or an array of input items.", param="input")
    try:
        _INPUT.decode(raw)
    except msgspec.ValidationError as exc:
        if not _MISSING_TYPE.search(str(exc)):
            raise _validation_error(str(exc), raw, "input") from None
        try:  # the common case in one typed pass; anything else (and every error) takes the item-by-item path
            _MESSAGE_ITEMS.decode(raw)
        except msgspec.ValidationError:
            _check_untyped_items(raw)


def _check_untyped_items(raw: msgspec.Raw) -> None:
    """Items without a `type`: each read as the API reads it (`item_type`), then checked as typed items."""
    try:
        kinds = _UNTYPED.decode(raw)
    except msgspec.ValidationError as exc:
        raise _validation_error(str(exc), raw, "input") from None
    items = _RAW_ITEMS.decode(raw)
    typed = [
        item if kind.type is not None else _with_type(item, "message" if kind.role is not None else "item_reference")
        for item, kind in zip(items, kinds, strict=True)
    ]
    patched = msgspec.Raw(b"[" + b",".join(typed) + b"]")
    try:
        _INPUT.decode(patched)
    except msgspec.ValidationError as exc:
        raise _validation_error(str(exc), patched, "input") from None


def _with_type(item: msgspec.Raw, kind: str) -> bytes:
    body = bytes(item)[1:].lstrip()
    head = b'{"type":"' + kind.encode()
    return head + b'"}' if body.startswith(b"}") else head + b'",' + body


def _check_instructions(raw: msgspec.Raw) -> None:
    _decode(_INSTRUCTIONS, raw, "instructions", "must be a string")


def _check_tools(raw: msgspec.Raw) -> None:
    tools = _decode(_TOOLS, raw, "tools", "must be an array of tools")
    for j, tool in enumerate(tools or ()):
        if tool.type != "function":
            continue
        if isinstance(tool.function, dict) and tool.name is None:
            raise invalid_body(
                f"tools[{j}].name: missing. Responses API function tools are flat, {{type: function, name, "
                "parameters}; the nested {type: function, function: {...}} shape is chat completions'.",
                param=f"tools[{j}].name",
            )
        if not isinstance(tool.name, str) or not tool.name:
            raise invalid_body(f"tools[{j}].name: must be a non-empty string.", param=f"tools[{j}].name")


def _check_tool_choice(raw: msgspec.Raw) -> None:
    if starts_with(raw, b'"'):
        _decode(_CHOICE_MODE, raw, "tool_choice", "must be 'none', 'auto' or 'required'")
        return
    choice = _decode(_OTHER_CHOICE, raw, "tool_choice", "must be a mode string or an object with a type")
    if choice.type == "function":
        _decode(_FUNCTION_CHOICE, raw, "tool_choice", "a function choice names the tool: {type: function, name}")


def _check_text(raw: msgspec.Raw) -> None:
    text = _decode(_TEXT, raw, "text", "must be an object")
    spec = text.format if text is not None else None
    if spec is not None and spec.type == "json_schema":
        if not spec.name:
            raise invalid_body("text.format.name: required for a json_schema format.", param="text.format.name")
        if spec.schema is None:
            raise invalid_body("text.format.schema: required, a JSON schema object.", param="text.format.schema")


def _check_max_output_tokens(raw: msgspec.Raw) -> None:
    value = _decode(_MAX_OUTPUT_TOKENS, raw, "max_output_tokens", "must be a positive integer")
    if value is not None and value < 1:
        raise invalid_body("max_output_tokens: must be a positive integer.", param="max_output_tokens")


def _check_reasoning(raw: msgspec.Raw) -> None:
    _decode(_REASONING, raw, "reasoning", "must be an object such as {effort: medium}")


_CHECKS = {
    "instructions": _check_instructions,
    "tools": _check_tools,
    "tool_choice": _check_tool_choice,
    "text": _check_text,
    "max_output_tokens": _check_max_output_tokens,
    "reasoning": _check_reasoning,
}


def _decode(decoder: msgspec.json.Decoder[Any], raw: msgspec.Raw, field: str, what: str) -> Any:
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        match = _PATH.search(str(exc))
        path = field + (match.group(1) if match else "")
        raise invalid_body(f"{path}: {what}.", param=path) from None


def _validation_error(detail: str, raw: msgspec.Raw, field: str) -> ClientError:
    """msgspec's message (`... - at `$[1].content[0].type``) as a 400 naming the field (`input[1]...`)."""
    match = _PATH.search(detail)
    suffix = match.group(1) if match else ""
    path = field + suffix
    problem = _PATH.sub("", detail).removesuffix(" - at ").strip()
    invalid = _INVALID_VALUE.fullmatch(problem)
    if invalid is not None:  # msgspec quotes the client's value whole
        value = invalid.group(1)
        problem = f"Invalid value {quote(value)}"
        if path.endswith(".role"):
            problem += ": a message's role is 'user', 'assistant', 'system' or 'developer'"
        elif path.endswith("].type") and path.count("[") == 1:
            problem = f"unknown input item type {quote(value)}"
        elif path.endswith(".type"):
            problem = f"unknown content part type {quote(value)}"
    return invalid_body(f"{path}: {problem}.", param=path)
