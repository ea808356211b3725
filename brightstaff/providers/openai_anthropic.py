"""OpenAI chat completions client → Anthropic Messages backend: the request, translated.

The body is rebuilt from an allow-list (Anthropic refuses unknown fields): each OpenAI field is
translated, dropped (listed in `DROPPED`, as Anthropic's own OpenAI-compatible layer ignores them), or
refused with a 400 in the OpenAI shape that names it. Fields not listed anywhere are dropped too.

Messages:
- `system` and `developer` messages, wherever they are, become the top-level `system` blocks in order
  (one block per text part; the position inside the conversation cannot be kept).
- Never an empty text block (Anthropic refuses them): blank texts are dropped; a message left empty is
  dropped; the final assistant text loses trailing whitespace (refused on a final assistant turn).
- Assistant `tool_calls` become `tool_use` blocks after the text; arguments `""` become `{}`; arguments
  that are not a JSON object are a 400 naming them. `tool` messages become `tool_result` blocks in a
  user message: consecutive ones and the next user message merge into ONE user message with the
  results first (the API requires the results right after the `tool_use` turn); `is_error` is never
  guessed from the content (a peer sets it for JSON with an `error` key, which misfires on tools that
  return such data). Tool ids are made
  valid for Anthropic by `tool_naming.tool_id`, the same function on both sides, so they still match.
- Images: `data:` URIs of jpeg/png/gif/webp become base64 images, `application/pdf` a document, http(s)
  URLs url images; `detail` is dropped; any other media type, audio, and file ids are refused.
- `cache_control` on a part, a message (its last block) or a tool is copied; more than 4 in total is
  refused (the API's limit).
- LiteLLM's `thinking_blocks` on an assistant message are sent back first, so a thinking conversation
  can continue.

Parameters:
- `max_tokens` (required upstream) = `max_completion_tokens` ?? `max_tokens` ?? `DEFAULT_MAX_TOKENS`
  (4,096: within every current Claude model's output limit, Claude 3 Haiku's included), or
  `DEFAULT_MAX_TOKENS_THINKING` (16,384) when thinking is on, since thinking tokens count toward it.
- `temperature` must be within Anthropic's 0-1 (a 400 above: clamping would silently change the
  sampling the client asked for); `top_p` as is; `stop` → `stop_sequences` without whitespace-only ones.
- `n` must be 1; `tools` must be functions; `tool_choice` auto/required/none/named → auto/any/none/tool;
  `parallel_tool_calls: false` → `disable_parallel_tool_use` (on `auto` when no choice was given, never
  on `none`); a `tool_choice` without tools is dropped.
- `response_format` `json_schema` → `output_config.format`; `json_object` and `text` are dropped (the
  prompt of a JSON-mode request already asks for JSON; Anthropic has no schema-less JSON mode).
- `reasoning_effort` → `thinking: {type: adaptive}` + `output_config.effort` (minimal → low; none → no
  thinking). Not when the conversation continues a tool call whose assistant turn carries no
  `thinking_blocks`: the API refuses such a turn with thinking on, so thinking stays off for it.
- `user` (or `safety_identifier`) → `metadata.user_id`, unless it looks like an email or a phone
  number (the API asks for an opaque id).
- `stream` is kept; `stream_options.include_usage` is read by the response translator.
- Refused: `n` > 1, temperature outside 0-1, the legacy `functions`/`function_call`, the `function`
  role, `web_search_options`, non-function tools, audio and file-id parts.

The path is the provider's base path plus `/messages` (the client's query string is not meaningful to
Anthropic and is dropped); the key goes in `x-api-key` with `anthropic-version: 2023-06-01`.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import msgspec
import orjson

from brightstaff.config import Provider
from brightstaff.core.chat import ChatRequest
from brightstaff.core.errors import ClientError, invalid_body, quote, untranslatable
from brightstaff.core.outcome import ResponseTranslator, UpstreamRequest
from brightstaff.providers.backends import to_messages
from brightstaff.providers.chat_from_messages import ChatFromMessages
from brightstaff.providers.tool_naming import tool_id

DEFAULT_MAX_TOKENS = 4096
DEFAULT_MAX_TOKENS_THINKING = 16384
MAX_CACHE_BREAKPOINTS = 4

# OpenAI parameters with no Anthropic equivalent that are dropped, not refused.
DROPPED = frozenset(
    {
        "frequency_penalty",
        "presence_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "seed",
        "service_tier",
        "store",
        "metadata",
        "modalities",
        "prediction",
        "audio",
        "stream_options",
        "prompt_cache_key",
        "verbosity",
    }
)
REFUSED = {
    "functions": "the legacy function calling API has no translation; use tools",
    "function_call": "the legacy function calling API has no translation; use tool_choice",
    "web_search_options": "web search is a server tool on Anthropic; it cannot be requested this way",
}

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_DATA_URI = re.compile(r"data:([\w.+-]+/[\w.+-]+)((?:;[^,;]*)*?);base64,(.*)", re.DOTALL)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[\d\s().-]{7,}")
_EFFORT = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh"}


def request(chat: ChatRequest, provider: Provider, query: str, *, cache_key: str | None = None) -> UpstreamRequest:
    """`cache_key` is not sent: Anthropic has no such parameter (its cache follows the prompt prefix)."""
    return to_messages(provider, translate_request(chat, provider.model))


def response(chat: ChatRequest, provider: Provider) -> ResponseTranslator:
    options = _field(chat, "stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    return ChatFromMessages(include_usage=include_usage)


def _field(chat: ChatRequest, name: str) -> Any:
    raw = chat.fields.get(name)
    return None if raw is None else msgspec.json.decode(raw)


def translate_request(chat: ChatRequest, model: str) -> bytes:
    """The Messages body for a chat completions request; raises ClientError for what cannot be expressed."""
    for name, reason in REFUSED.items():
        if _field(chat, name) is not None:
            raise untranslatable(name, reason)
    n = _field(chat, "n")
    if n is not None and n != 1:
        raise untranslatable("n", "Anthropic returns one choice per request; n must be 1.")
    shaped = _Shaper()
    system, messages = shaped.conversation(chat.messages)
    tools = _tools(_field(chat, "tools"), shaped)
    thinking = _thinking(_field(chat, "reasoning_effort"), shaped.continues_tool_call_without_thinking)
    body: dict[str, Any] = {"model": model, "max_tokens": _max_tokens(chat, thinking is not None)}
    if system:
        body["system"] = system
    body["messages"] = messages
    if tools:
        body["tools"] = tools
        choice = _tool_choice(_field(chat, "tool_choice"), _field(chat, "parallel_tool_calls"))
        if choice is not None:
            body["tool_choice"] = choice
    temperature = _field(chat, "temperature")
    if temperature is not None:
        if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not 0 <= temperature <= 1:
            raise untranslatable("temperature", f"Anthropic accepts 0 to 1; got {quote(temperature)}.")
        body["temperature"] = temperature
    top_p = _field(chat, "top_p")
    if top_p is not None:
        body["top_p"] = top_p
    stop = _stop_sequences(_field(chat, "stop"))
    if stop:
        body["stop_sequences"] = stop
    user = _field(chat, "safety_identifier") or _field(chat, "user")
    if isinstance(user, str) and user.strip() and not _EMAIL.search(user) and not _PHONE.fullmatch(user.strip()):
        body["metadata"] = {"user_id": user}
    output_config = _output_config(_field(chat, "response_format"), thinking)
    if thinking is not None:
        body["thinking"] = {"type": "adaptive"}
    if output_config:
        body["output_config"] = output_config
    if chat.stream:
        body["stream"] = True
    if shaped.breakpoints > MAX_CACHE_BREAKPOINTS:
        raise untranslatable(
            "cache_control",
            f"Anthropic allows at most {MAX_CACHE_BREAKPOINTS} cache_control breakpoints; got {shaped.breakpoints}.",
        )
    return orjson.dumps(body)


def _max_tokens(chat: ChatRequest, thinking: bool) -> int:
    for name in ("max_completion_tokens", "max_tokens"):
        value = _field(chat, name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise invalid_body(f"{name}: must be a positive integer.", param=name)
        return value
    return DEFAULT_MAX_TOKENS_THINKING if thinking else DEFAULT_MAX_TOKENS


def _stop_sequences(stop: Any) -> list[str]:
    if stop is None:
        return []
    listed = [stop] if isinstance(stop, str) else stop
    if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
        raise invalid_body("stop: must be a string or an array of strings.", param="stop")
    return [s for s in listed if s.strip()]


def _thinking(effort: Any, continues_without_thinking: bool) -> str | None:
    """The Anthropic effort for `reasoning_effort`, or None when thinking stays off."""
    if effort is None or effort == "none" or continues_without_thinking:
        return None
    mapped = _EFFORT.get(effort) if isinstance(effort, str) else None
    if mapped is None:
        raise untranslatable("reasoning_effort", f"{quote(effort)} has no Anthropic effort level.")
    return mapped


def _output_config(response_format: Any, effort: str | None) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if effort is not None:
        config["effort"] = effort
    if response_format is None:
        return config
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind in ("text", "json_object"):
        return config
    if kind != "json_schema":
        raise untranslatable("response_format", f"type {quote(kind)} has no Anthropic equivalent.")
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        raise invalid_body("response_format.json_schema.schema: must be an object.", param="response_format")
    config["format"] = {"type": "json_schema", "schema": schema}
    return config


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    translated: dict[str, Any] | None
    if choice is None:
        translated = None
    elif choice in ("auto", "required", "none"):
        translated = {"type": {"auto": "auto", "required": "any", "none": "none"}[choice]}
    elif isinstance(choice, dict) and choice.get("type") == "function":
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str):
            raise invalid_body("tool_choice.function.name: must be a string.", param="tool_choice")
        translated = {"type": "tool", "name": name}
    else:
        raise untranslatable("tool_choice", f"{quote(choice)} has no Anthropic equivalent.")
    if parallel is False and (translated is None or translated["type"] != "none"):
        translated = {**(translated or {"type": "auto"}), "disable_parallel_tool_use": True}
    return translated


def _tools(tools: Any, shaped: _Shaper) -> list[dict[str, Any]]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise invalid_body("tools: must be an array.", param="tools")
    out: list[dict[str, Any]] = []
    for j, tool in enumerate(tools):
        where = f"tools[{j}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            kind = tool.get("type") if isinstance(tool, dict) else tool
            raise untranslatable(f"{where}.type", f"only function tools reach Anthropic; got {quote(kind)}.")
        function = tool.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(function, dict) or not isinstance(name, str) or not name:
            raise invalid_body(f"{where}.function.name: must be a non-empty string.", param=f"{where}.function.name")
        parameters = function.get("parameters")
        schema = dict(parameters) if isinstance(parameters, dict) else {}
        schema.setdefault("type", "object")
        if schema["type"] == "object":
            schema.setdefault("properties", {})
        translated: dict[str, Any] = {"name": name}
        description = function.get("description")
        if isinstance(description, str) and description:
            translated["description"] = description
        translated["input_schema"] = schema
        if function.get("strict") is True:
            translated["strict"] = True
        shaped.copy_cache_control(tool.get("cache_control") or function.get("cache_control"), translated)
        out.append(translated)
    return out


class _Shaper:
    """Chat messages → (system blocks, Messages turns), counting `cache_control` breakpoints on the way."""

    def __init__(self) -> None:
        self.breakpoints = 0
        self.continues_tool_call_without_thinking = False

    def copy_cache_control(self, cache_control: Any, block: dict[str, Any]) -> None:
        if isinstance(cache_control, dict):
            block["cache_control"] = cache_control
            self.breakpoints += 1

    def conversation(self, messages: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        system: list[dict[str, Any]] = []
        turns: list[tuple[str, list[dict[str, Any]]]] = []
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                where = _at(i)
                raise invalid_body(f"{where}: must be an object.", param=where)
            role = message.get("role")
            if role in ("system", "developer"):
                blocks = self._texts(message.get("content"), i)
                self._message_cache_control(message, blocks)
                system.extend(blocks)
                continue
            if role == "user":
                content = message.get("content")
                if isinstance(content, str):  # the common case, inline: this loop runs per message
                    blocks = [{"type": "text", "text": content}] if _has_text(content) else []
                else:
                    blocks = self._user_blocks(content, i)
                if blocks and (isinstance(content, str) or any(b["type"] != "tool_result" for b in blocks)):
                    self.continues_tool_call_without_thinking = False
            elif role == "assistant":
                blocks = self._assistant_blocks(message, i)
                self.continues_tool_call_without_thinking = bool(message.get("tool_calls")) and not (
                    blocks and blocks[0]["type"] in ("thinking", "redacted_thinking")
                )
            elif role == "tool":
                role, blocks = "user", [self._tool_result(message, i)]
            else:
                raise untranslatable(f"{_at(i)}.role", f"role {quote(role)} has no Anthropic equivalent.")
            if "cache_control" in message:
                self._message_cache_control(message, blocks)
            if not blocks:
                continue
            if turns and turns[-1][0] == role:
                turns[-1][1].extend(blocks)
            else:
                turns.append((role, blocks))
        out = [
            {"role": role, "content": _results_first(blocks) if role == "user" and len(blocks) > 1 else blocks}
            for role, blocks in turns
        ]
        if out and out[-1]["role"] == "assistant":
            _strip_final_text(out)
        if not out:
            raise invalid_body("messages: at least one message with non-empty content is required.", param="messages")
        return system, out

    def _message_cache_control(self, message: dict[str, Any], blocks: list[dict[str, Any]]) -> None:
        if blocks and "cache_control" in message and "cache_control" not in blocks[-1]:
            self.copy_cache_control(message["cache_control"], blocks[-1])

    def _texts(self, content: Any, i: int) -> list[dict[str, Any]]:
        """Text-only content (system messages, assistant text) as non-empty text blocks."""
        if content is None:
            return []
        if isinstance(content, str):
            return [{"type": "text", "text": content}] if _has_text(content) else []
        if not isinstance(content, list):
            where = _at(i)
            raise invalid_body(f"{where}.content: must be a string or an array of parts.", param=f"{where}.content")
        blocks: list[dict[str, Any]] = []
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind not in ("text", "refusal"):
                raise untranslatable(f"{_at(i)}.content[{j}]", f"a part of type {quote(kind)} is not allowed here.")
            text = part.get(kind)
            if isinstance(text, str) and _has_text(text):
                block = {"type": "text", "text": text}
                self.copy_cache_control(part.get("cache_control"), block)
                blocks.append(block)
        return blocks

    def _user_blocks(self, content: Any, i: int) -> list[dict[str, Any]]:
        if content is None or isinstance(content, str):
            return self._texts(content, i)
        if not isinstance(content, list):
            where = _at(i)
            raise invalid_body(f"{where}.content: must be a string or an array of parts.", param=f"{where}.content")
        blocks: list[dict[str, Any]] = []
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                blocks.extend(self._texts([part], i))
                continue
            at = f"{_at(i)}.content[{j}]"
            if kind == "image_url":
                image = part.get("image_url")
                url = image.get("url") if isinstance(image, dict) else image
                block = _media(url, f"{at}.image_url")
            elif kind == "file":
                file = part.get("file")
                data = file.get("file_data") if isinstance(file, dict) else None
                if not isinstance(data, str):
                    raise untranslatable(f"{at}.file", "only inline file_data reaches Anthropic; file ids do not.")
                block = _media(data, f"{at}.file.file_data")
            else:
                raise untranslatable(at, f"a part of type {quote(kind)} has no Anthropic equivalent.")
            self.copy_cache_control(part.get("cache_control"), block)
            blocks.append(block)
        return blocks

    def _assistant_blocks(self, message: dict[str, Any], i: int) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        thinking = message.get("thinking_blocks")
        if isinstance(thinking, list):
            blocks.extend(
                b for b in thinking if isinstance(b, dict) and b.get("type") in ("thinking", "redacted_thinking")
            )
        content = message.get("content")
        if isinstance(content, str):  # the common case, inline
            if _has_text(content):
                blocks.append({"type": "text", "text": content})
        elif content is not None:
            blocks.extend(self._texts(content, i))
        refusal = message.get("refusal")
        if isinstance(refusal, str) and _has_text(refusal):
            blocks.append({"type": "text", "text": refusal})
        calls = message.get("tool_calls")
        if calls is None:
            return blocks
        if not isinstance(calls, list):
            where = _at(i)
            raise invalid_body(f"{where}.tool_calls: must be an array.", param=f"{where}.tool_calls")
        for j, call in enumerate(calls):
            blocks.append(_tool_use(call, i, j))
        return blocks

    def _tool_result(self, message: dict[str, Any], i: int) -> dict[str, Any]:
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str):
            where = _at(i)
            raise invalid_body(f"{where}.tool_call_id: must be a string.", param=f"{where}.tool_call_id")
        content = message.get("content")
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_id(call_id)}
        if isinstance(content, list):
            parts = self._user_blocks(content, i)
            if parts:
                result["content"] = parts
        elif isinstance(content, str):
            result["content"] = content
        elif content is not None:
            where = _at(i)
            raise invalid_body(f"{where}.content: must be a string or an array of parts.", param=f"{where}.content")
        return result


def _at(i: int) -> str:
    """Where message `i` is, for an error (built only when one is raised: the loop runs per message)."""
    return f"messages[{i}]"


def _has_text(text: str) -> bool:
    """`text.strip() != ""` without copying a long text that ends in whitespace."""
    return bool(text) and not text.isspace()


def _tool_use(call: Any, i: int, j: int) -> dict[str, Any]:
    if not isinstance(call, dict) or call.get("type", "function") != "function":
        raise untranslatable(f"{_at(i)}.tool_calls[{j}].type", "only function tool calls reach Anthropic.")
    function = call.get("function")
    if not isinstance(function, dict):
        function = {}
    name, call_id = function.get("name"), call.get("id")
    if not isinstance(name, str) or not isinstance(call_id, str):
        where = f"{_at(i)}.tool_calls[{j}]"
        raise invalid_body(f"{where}: a tool call needs a string id and function.name.", param=where)
    arguments = function.get("arguments")
    tool_input: Any = None
    if arguments is None or (isinstance(arguments, str) and not _has_text(arguments)):
        tool_input = {}  # no-argument tools stream "" as their arguments
    elif isinstance(arguments, str):
        with contextlib.suppress(orjson.JSONDecodeError):
            tool_input = orjson.loads(arguments)
    if not isinstance(tool_input, dict):
        raise _bad_arguments(f"{_at(i)}.tool_calls[{j}].function.arguments")
    return {"type": "tool_use", "id": tool_id(call_id), "name": name, "input": tool_input}


def _bad_arguments(param: str) -> ClientError:
    return invalid_body(f"{param}: must be a JSON object encoded as a string (Anthropic's tool input).", param=param)


def _media(url: Any, where: str) -> dict[str, Any]:
    """An image or PDF from a URL or a `data:` URI, as an Anthropic image or document block."""
    if not isinstance(url, str):
        raise invalid_body(f"{where}: must carry a URL string.", param=where)
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    match = _DATA_URI.fullmatch(url)
    if match is None:
        raise untranslatable(where, "only http(s) URLs and base64 data: URIs reach Anthropic.")
    media_type, data = match.group(1).lower(), match.group(3)
    if media_type in IMAGE_TYPES:
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if media_type == "application/pdf":
        return {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}
    raise untranslatable(where, f"media type {quote(media_type)} is not supported (jpeg, png, gif, webp or pdf).")


def _results_first(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A user turn's blocks with the tool results first: the API wants them right after the tool_use turn."""
    results = [b for b in blocks if b["type"] == "tool_result"]
    if not results or len(results) == len(blocks) or blocks[: len(results)] == results:
        return blocks
    return results + [b for b in blocks if b["type"] != "tool_result"]


def _strip_final_text(messages: list[dict[str, Any]]) -> None:
    """A final assistant turn (a prefill) must not end with whitespace; drop it if nothing is left."""
    blocks = messages[-1]["content"]
    if blocks and blocks[-1]["type"] == "text":
        text = blocks[-1]["text"].rstrip()
        if text:
            blocks[-1] = {**blocks[-1], "text": text}
        else:
            blocks.pop()
    if not blocks:
        messages.pop()
