"""OpenAI Responses client → OpenAI-compatible chat completions backend: the request, translated.

`chat_body` turns a Responses request into a chat completions request; this adapter sends it to a chat
completions backend, and `responses_anthropic` hands the same body to `openai_anthropic`'s translation.
Everything a translated path cannot honour is refused here, once, with a 400 in the OpenAI error shape
that names the field (`REFUSED`, `STATELESS_ITEMS`); everything else is translated or dropped (`DROPPED`).

Input (`input` items, in order; a string is one user message):
- `instructions` → the first message, role `system`; `system` and `developer` messages → `system`
  messages where they stand; `user` messages → `user`, a lone text part sent as a plain string.
- Parts: `input_text`, `output_text` and `refusal` → text; `input_image` with an `image_url` (http(s) or a
  `data:` URI) → `image_url` (with its `detail`); `input_file` with `file_data` → a `file` part;
  `input_audio` → an `input_audio` part. File ids and file URLs name files stored on OpenAI: refused.
- An `assistant` message → an assistant message whose content is its texts joined; each `function_call`
  → a tool call (`call_id`, `name`, `arguments` as sent) of the assistant message it follows, or of a new
  one; a `function_call_output` → a `tool` message (its text parts joined; on a chat completions backend
  its images and files move into a user message right after the tool messages, which is where chat
  completions lets them be; toward Anthropic they stay in the tool result).
- `reasoning` items are dropped for a chat completions backend (it can neither read nor replay them).
  Toward Anthropic, an item whose `encrypted_content` carries an Anthropic signature or redacted data
  (`responses_events.THINKING_PREFIX`/`REDACTED_PREFIX`, as brightstaff wrote them) becomes the thinking
  block it was, at the start of the assistant turn that follows it, so thinking survives a tool loop.
- Tool names longer than 64 characters are shortened (`tool_naming`) and restored in the response.

Parameters: function `tools` (flat shape) → chat function tools; `tool_choice` modes as they are, a
function choice → the named function, `allowed_tools` → only those tools offered with its mode;
`tool_choice` and `parallel_tool_calls` only when there are tools (OpenAI refuses them without);
`temperature`, `top_p` as they are; `text.format` json_schema → `response_format`
json_schema (name, schema, strict, description), json_object → json_object, text → nothing;
`max_output_tokens` → `max_completion_tokens` for OpenAI's own hosts, `max_tokens` elsewhere (as
`anthropic_openai`); `user` (or `safety_identifier`) → `user`; `prompt_cache_key` as it is (or the one
derived from the pin, `cache_key`, when the client sent none); `stream` → `stream` with
`stream_options.include_usage`, so the stream's usage reaches `response.completed`.
`reasoning` is dropped toward chat completions (servers disagree on reasoning parameters and
non-reasoning models refuse them, as in `anthropic_openai`); `responses_anthropic` keeps its effort.

`store`: accepted whatever its value and never honoured: the response says `store: false`. Refusing
`store: true` (the API's default, which OpenAI's own examples spell out) would break clients that never
read a stored response back; the request that would need the stored state (`previous_response_id`,
an `item_reference`) is the one refused, with a message saying why.

The path is the provider's base path plus `/chat/completions` (the client's query string is not kept);
the key goes in `Authorization: Bearer`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from brightstaff.config import Provider
from brightstaff.core.errors import ClientError, invalid_body, quote, untranslatable
from brightstaff.core.outcome import ResponseTranslator, UpstreamRequest
from brightstaff.core.responses import ResponsesRequest, item_type
from brightstaff.providers.anthropic_openai import uses_max_completion_tokens
from brightstaff.providers.backends import to_chat_completions
from brightstaff.providers.responses_events import REDACTED_PREFIX, THINKING_PREFIX, response_frame
from brightstaff.providers.responses_from_chat import ResponsesFromChat
from brightstaff.providers.tool_naming import long_tool_names, short_tool_name

_STATELESS = (
    "brightstaff serves this model by translation and keeps no state between requests; send the whole "
    "conversation in `input` (store: false, as Codex does)"
)
# Top-level fields that need state or machinery only OpenAI has: a 400 naming the field.
REFUSED: dict[str, str] = {
    "previous_response_id": f"continuing a stored response needs OpenAI's own API; {_STATELESS}.",
    "conversation": f"stored conversations live on OpenAI; {_STATELESS}.",
    "prompt": "stored prompt templates live on OpenAI; send the prompt itself as instructions and input.",
    "background": "background responses are stored and polled on OpenAI; send the request without it.",
}
# Input item types other than message, function_call, function_call_output and reasoning: references to
# stored items, and records of tools OpenAI ran itself. Their reason, by type.
STATELESS_ITEMS = {"item_reference": f"an item reference names an item stored on OpenAI; {_STATELESS}."}
_BUILT_IN_ITEM = "records a tool only OpenAI runs (built-in tools cannot be translated)"
# Fields translated by neither adapter, dropped without a word (OpenAI-only knobs a model can do without).
DROPPED = frozenset(
    {
        "include",
        "truncation",
        "metadata",
        "service_tier",
        "stream_options",
        "prompt_cache_retention",
        "prompt_cache_options",
        "top_logprobs",
        "max_tool_calls",
        "context_management",
        "store",
    }
)
_MODES = ("auto", "none", "required")


@dataclass(slots=True)
class ChatShape:
    """A Responses request as a chat completions body, and where each chat field came from."""

    body: dict[str, Any]
    origins: dict[str, str] = field(default_factory=dict)  # chat path prefix → the Responses path it came from
    # Where each chat message came from, by index (`messages[i]`): kept as a list, made into `origins`
    # entries only when an error is remapped, since the shaper runs per input item.
    message_origins: list[str] = field(default_factory=list)


def request(
    responses: ResponsesRequest, provider: Provider, query: str, *, cache_key: str | None = None
) -> UpstreamRequest:
    return to_chat_completions(provider, translate_request(responses, provider, cache_key))


def response(responses: ResponsesRequest, provider: Provider) -> ResponseTranslator:
    return ResponsesFromChat(response_frame(responses, provider.model), tool_names=_long_names(responses))


def _long_names(responses: ResponsesRequest) -> dict[str, str]:
    tools = responses.decoded("tools")
    names = [t.get("name") for t in tools if isinstance(t, dict)] if isinstance(tools, list) else []
    return long_tool_names(n for n in names if isinstance(n, str))


def translate_request(responses: ResponsesRequest, provider: Provider, cache_key: str | None = None) -> bytes:
    """The chat completions body for a Responses request; raises ClientError for what cannot be expressed."""
    body = {"model": provider.model, **chat_body(responses, tool_parts=False, thinking=False).body}
    body.pop("reasoning_effort", None)
    limit = body.pop("max_completion_tokens", None)
    if limit is not None:
        body["max_completion_tokens" if uses_max_completion_tokens(provider) else "max_tokens"] = limit
    if cache_key is not None and "prompt_cache_key" not in body:
        body["prompt_cache_key"] = cache_key
    if body.get("stream"):
        body["stream_options"] = {"include_usage": True}
    return orjson.dumps(body)


def chat_body(responses: ResponsesRequest, *, tool_parts: bool, thinking: bool) -> ChatShape:
    """The chat completions fields of a Responses request (no `model`).

    `tool_parts`: tool messages keep image and file parts (Anthropic's tool results carry them);
    `thinking`: reasoning items brightstaff wrote from Anthropic thinking become `thinking_blocks`.
    """
    for name, reason in REFUSED.items():
        value = responses.decoded(name)
        if value is not None and value is not False:
            raise untranslatable(name, reason)
    if responses.fields.get("input") is None:
        raise invalid_body("input: Missing required parameter: a translated request needs its input.", param="input")
    shape = ChatShape(body={}, origins=dict(_FIELD_ORIGINS))
    shaper = _Shaper(shape, tool_parts=tool_parts, thinking=thinking)
    shape.body["messages"] = shaper.conversation(responses.decoded("instructions"), responses.items)
    if not shape.body["messages"]:
        raise invalid_body("input: must not be empty.", param="input")
    _tools(responses, shape)
    response_format = _response_format(responses.decoded("text"))
    if response_format is not None:
        shape.body["response_format"] = response_format
    for name in ("temperature", "top_p", "prompt_cache_key"):
        value = responses.decoded(name)
        if value is not None:
            shape.body[name] = value
    limit = responses.decoded("max_output_tokens")
    if limit is not None:
        shape.body["max_completion_tokens"] = limit
    reasoning = responses.decoded("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    if effort is not None:
        shape.body["reasoning_effort"] = effort
    user = responses.decoded("user") or responses.decoded("safety_identifier")
    if isinstance(user, str) and user:
        shape.body["user"] = user
    if responses.stream:
        shape.body["stream"] = True
    return shape


def remap(error: ClientError, shape: ChatShape) -> ClientError:
    """An error the chat translation raised (`messages[3].tool_calls[0]...`), naming the Responses field."""
    param = error.param
    if param is None:
        return error
    origins = {f"messages[{i}]": origin for i, origin in enumerate(shape.message_origins)}
    origins.update(shape.origins)
    best = max((p for p in origins if _prefixes(p, param)), key=len, default=None)
    if best is None:
        return error
    renamed = origins[best] + param[len(best) :]
    message = renamed + error.message[len(param) :] if error.message.startswith(param) else error.message
    return ClientError(error.status, message, code=error.code, type=error.type, param=renamed)


def _prefixes(prefix: str, path: str) -> bool:
    return path == prefix or (path.startswith(prefix) and path[len(prefix)] in ".[")


# Chat fields named differently in the Responses API, for `remap`.
_FIELD_ORIGINS = {
    "messages": "input",
    "reasoning_effort": "reasoning.effort",
    "response_format": "text.format",
    "max_completion_tokens": "max_output_tokens",
    "max_tokens": "max_output_tokens",
}


def _tools(responses: ResponsesRequest, shape: ChatShape) -> None:
    tools = responses.decoded("tools")
    choice = responses.decoded("tool_choice")
    allowed: set[str] | None = None
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        listed = choice.get("tools")
        listed = listed if isinstance(listed, list) else []
        allowed = {t["name"] for t in listed if isinstance(t, dict) and isinstance(t.get("name"), str)}
        choice = choice.get("mode", "auto")
    translated: list[dict[str, Any]] = []
    declared: set[str] = set()
    for j, tool in enumerate(tools or ()):
        kind = tool.get("type")
        if kind != "function":
            raise untranslatable(
                f"tools[{j}].type",
                f"{quote(kind)} is a built-in tool only OpenAI runs; only function tools can be translated.",
            )
        name = tool["name"]
        declared.add(name)
        if allowed is not None and name not in allowed:
            continue
        function: dict[str, Any] = {"name": short_tool_name(name)}
        if isinstance(tool.get("description"), str):
            function["description"] = tool["description"]
        function["parameters"] = tool.get("parameters") or {"type": "object", "properties": {}}
        if tool.get("strict") is True:
            function["strict"] = True
        shape.origins[f"tools[{len(translated)}]"] = f"tools[{j}]"
        translated.append({"type": "function", "function": function})
    if not translated:
        return  # OpenAI refuses tool_choice and parallel_tool_calls without tools
    shape.body["tools"] = translated
    parallel = responses.decoded("parallel_tool_calls")
    if isinstance(parallel, bool):
        shape.body["parallel_tool_calls"] = parallel
    if choice is None:
        return
    if choice in _MODES:
        shape.body["tool_choice"] = choice
    elif isinstance(choice, dict) and choice.get("type") == "function":
        if choice.get("name") not in declared:
            raise invalid_body(
                f"tool_choice.name: {quote(choice.get('name'))} is not a function tool of this request.",
                param="tool_choice.name",
            )
        shape.body["tool_choice"] = {"type": "function", "function": {"name": short_tool_name(choice["name"])}}
    else:
        kind = choice.get("type") if isinstance(choice, dict) else choice
        raise untranslatable("tool_choice", f"{quote(kind)} names a tool only OpenAI runs.")


def _response_format(text: Any) -> dict[str, Any] | None:
    spec = text.get("format") if isinstance(text, dict) else None
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind != "json_schema" or not isinstance(spec, dict):
        return None
    schema: dict[str, Any] = {"name": spec["name"], "schema": spec["schema"]}
    for name in ("strict", "description"):
        if spec.get(name) is not None:
            schema[name] = spec[name]
    return {"type": "json_schema", "json_schema": schema}


class _Shaper:
    """Responses input items → chat completions messages, recording where each message came from."""

    def __init__(self, shape: ChatShape, *, tool_parts: bool, thinking: bool) -> None:
        self._origins = shape.origins
        self._message_origins = shape.message_origins
        self._tool_parts = tool_parts
        self._thinking = thinking
        self._out: list[dict[str, Any]] = []
        self._pending_thinking: list[dict[str, Any]] = []
        self._after_reasoning = False  # a reasoning item came since the last assistant message opened
        self._held_parts: list[dict[str, Any]] = []  # tool-output images and files awaiting a user message
        self._held_at = ""

    def conversation(self, instructions: Any, items: list[Any]) -> list[dict[str, Any]]:
        if isinstance(instructions, str) and instructions:
            self._add({"role": "system", "content": instructions}, "instructions")
        for k, item in enumerate(items):
            where = f"input[{k}]"
            kind = item.get("type") or item_type(item)
            if kind != "function_call_output" and self._held_parts:
                self._flush_held()
            if kind == "message":
                self._message(item, where)
            elif kind == "function_call":
                self._function_call(item, where)
            elif kind == "function_call_output":
                self._function_call_output(item, where)
            elif kind == "reasoning":
                self._reasoning(item)
            else:
                reason = STATELESS_ITEMS.get(kind, _BUILT_IN_ITEM)
                raise untranslatable(f"{where}.type", f"a {quote(kind)} item {reason}")
        self._flush_held()
        return self._out

    def _add(self, message: dict[str, Any], origin: str) -> dict[str, Any]:
        self._message_origins.append(origin)
        self._out.append(message)
        return message

    def _message(self, item: dict[str, Any], where: str) -> None:
        role, content = item["role"], item["content"]
        if role == "assistant":
            if isinstance(content, str):
                self._assistant(where)["content"] = content
            else:
                texts = [_text(p) for p in content]
                self._assistant(where)["content"] = "".join(t for t in texts if t is not None)
            return
        chat_role = "user" if role == "user" else "system"
        message = self._add({"role": chat_role, "content": content}, where)
        if isinstance(content, list):
            self._origins[f"messages[{len(self._out) - 1}].content"] = f"{where}.content"
            parts = [self._part(part, f"{where}.content[{j}]") for j, part in enumerate(content)]
            if chat_role == "system" and all(p["type"] == "text" for p in parts):
                message["content"] = "\n".join(p["text"] for p in parts)
            elif len(parts) == 1 and parts[0]["type"] == "text":
                message["content"] = parts[0]["text"]
            else:
                message["content"] = parts

    def _assistant(self, where: str) -> dict[str, Any]:
        """A new assistant message, carrying the thinking that came before it."""
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if self._pending_thinking:
            message["thinking_blocks"] = self._pending_thinking
            self._pending_thinking = []
        self._after_reasoning = False
        return self._add(message, where)

    def _function_call(self, item: dict[str, Any], where: str) -> None:
        last = self._out[-1] if self._out else None
        if last is None or last["role"] != "assistant" or self._after_reasoning:
            last = self._assistant(where)
        calls = last.setdefault("tool_calls", [])
        at = f"messages[{len(self._out) - 1}].tool_calls[{len(calls)}]"
        self._origins[at] = self._origins[f"{at}.function"] = where
        function = {"name": short_tool_name(item["name"]), "arguments": item["arguments"]}
        calls.append({"id": item["call_id"], "type": "function", "function": function})

    def _function_call_output(self, item: dict[str, Any], where: str) -> None:
        output = item["output"]
        message = self._add({"role": "tool", "tool_call_id": item["call_id"], "content": output}, where)
        if isinstance(output, str):
            return
        self._origins[f"messages[{len(self._out) - 1}].content"] = f"{where}.output"
        parts = [self._part(part, f"{where}.output[{j}]") for j, part in enumerate(output)]
        if self._tool_parts:
            message["content"] = parts
            return
        message["content"] = "\n".join(p["text"] for p in parts if p["type"] == "text")
        if len(parts) > len([p for p in parts if p["type"] == "text"]):
            self._held_parts += [p for p in parts if p["type"] != "text"]
            self._held_at = f"{where}.output"

    def _flush_held(self) -> None:
        if self._held_parts:
            self._add({"role": "user", "content": self._held_parts}, self._held_at)
            self._held_parts = []

    def _reasoning(self, item: dict[str, Any]) -> None:
        if not self._thinking:
            return  # dropped: the assistant turn around it stays one message
        self._after_reasoning = True
        encrypted = item.get("encrypted_content")
        if not isinstance(encrypted, str):
            return
        if encrypted.startswith(THINKING_PREFIX):
            summary = item.get("summary") or []
            text = "".join(s.get("text") or "" for s in summary if isinstance(s, dict))
            signature = encrypted[len(THINKING_PREFIX) :]
            self._pending_thinking.append({"type": "thinking", "thinking": text, "signature": signature})
        elif encrypted.startswith(REDACTED_PREFIX):
            self._pending_thinking.append({"type": "redacted_thinking", "data": encrypted[len(REDACTED_PREFIX) :]})

    def _part(self, part: dict[str, Any], where: str) -> dict[str, Any]:
        kind = part["type"]
        text = _text(part)
        if text is not None:
            return {"type": "text", "text": text}
        if kind == "input_image":
            url = part.get("image_url")
            if not isinstance(url, str):
                raise untranslatable(f"{where}.file_id", "a file id names a file stored on OpenAI; send image_url.")
            image: dict[str, Any] = {"url": url}
            if isinstance(part.get("detail"), str):
                image["detail"] = part["detail"]
            return {"type": "image_url", "image_url": image}
        if kind == "input_file":
            data = part.get("file_data")
            if not isinstance(data, str):
                missing = "file_id" if part.get("file_id") is not None else "file_url"
                raise untranslatable(f"{where}.{missing}", "only inline file_data can be translated.")
            filename = part.get("filename") if isinstance(part.get("filename"), str) else "document.pdf"
            return {"type": "file", "file": {"filename": filename, "file_data": data}}
        return {"type": "input_audio", "input_audio": part.get("input_audio")}


def _text(part: dict[str, Any]) -> str | None:
    """The text of a text-like part (`input_text`, `output_text`, `refusal`), None for media."""
    kind = part["type"]
    if kind in ("input_text", "output_text"):
        text: str = part["text"]
        return text
    if kind == "refusal":
        refusal: str = part["refusal"]
        return refusal
    return None
