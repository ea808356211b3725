"""Anthropic Messages client (Claude Code, the anthropic SDK) → OpenAI-compatible backend: the request.

The chat completions body is built from an allow-list: each Messages field is translated, dropped
(`DROPPED`, documented below), or refused with a 400 in the Anthropic shape naming it.

Messages:
- `system` (a string or text blocks, joined by a newline) → the first message, role `system`.
- A user message's `tool_result` blocks → one `tool` message each, BEFORE the message's other content
  (chat completions wants tool results right after the assistant's tool calls). A result's text blocks
  are joined by a newline; its images move into the user message that follows (tool messages carry no
  images); `is_error` has no equivalent and is dropped (the error text stays).
- Text → text parts (a lone text part is sent as a plain string, which every server accepts); base64
  images → `data:` URLs, url images → their URL; PDF documents → `file` parts with `file_data`, text
  documents → text parts.
- Assistant text blocks → one `content` string; `tool_use` → `tool_calls` with the input as JSON text;
  thinking and server-tool records (`server_tool_use`, `*_tool_result`, MCP blocks) are dropped: an
  OpenAI backend can neither read nor replay them.
- Anything else (search results, container uploads, file-id sources, URL PDFs) is refused.

Parameters:
- `tools`: custom tools → function tools (`input_schema` is the `parameters`, untouched). Tool names
  longer than OpenAI's 64 characters are shortened (`tool_naming`) and restored in the response.
  Anthropic-defined and server tools (`web_search_*`, `bash_*`, `text_editor_*`, `computer_*`,
  `code_execution_*`, ...) are dropped: an OpenAI backend has no such tools; a `tool_choice` naming one
  is refused.
- `tool_choice` any/auto/tool/none → required/auto/named/none; `disable_parallel_tool_use` →
  `parallel_tool_calls: false`.
- `max_tokens` → `max_completion_tokens` for OpenAI's own API (`api.openai.com`, Azure OpenAI), whose
  reasoning models refuse `max_tokens`; `max_tokens` for every other OpenAI-compatible server (vLLM,
  Ollama, Mistral, DeepSeek and most others know only it). 0 (a cache pre-warm) is refused: OpenAI
  servers cannot generate nothing.
- `stop_sequences` → `stop`; `temperature`, `top_p` as is; `metadata.user_id` → `user`.
- `stream: true` → `stream` plus `stream_options.include_usage`, so the stream's usage reaches the client.
- The `cache_key` derived from the session's pin (`routing.affinity.provider_cache_key`, opt-in) →
  `prompt_cache_key`, so the backend's own cache routing follows the pin (a Messages body has no such
  field of its own).
- `output_config.format` (or the older `output_format`) json_schema → `response_format` json_schema
  named `structured_output`, not strict (OpenAI's strict mode has stricter schema rules than Anthropic's).
- Dropped (`DROPPED`): `top_k`, `thinking` and `output_config.effort` (OpenAI-compatible servers
  disagree on reasoning parameters and non-reasoning models refuse them), `cache_control` everywhere,
  `context_management`, `mcp_servers`, `container`, `service_tier`, `inference_geo`, `speed`,
  `diagnostics`; and any field not named here.

The path is the provider's base path plus `/chat/completions` (the client's query string, such as the
SDK's `?beta=true`, is dropped); the key goes in `Authorization: Bearer`; the client's `anthropic-*`
headers are removed.
"""

from __future__ import annotations

from typing import Any

import orjson

from brightstaff.config import Provider
from brightstaff.core.errors import invalid_body, quote, untranslatable
from brightstaff.core.messages import SERVER_TOOL_BLOCKS, THINKING_BLOCKS, MessagesRequest
from brightstaff.core.outcome import ResponseTranslator, UpstreamRequest
from brightstaff.providers.backends import to_chat_completions
from brightstaff.providers.messages_from_chat import MessagesFromChat
from brightstaff.providers.tool_naming import long_tool_names, short_tool_name

DROPPED = frozenset(
    {
        "top_k",
        "thinking",
        "cache_control",
        "context_management",
        "mcp_servers",
        "container",
        "service_tier",
        "inference_geo",
        "speed",
        "diagnostics",
    }
)
# Hosts whose reasoning models refuse `max_tokens` and want `max_completion_tokens`.
_MAX_COMPLETION_TOKENS_HOSTS = ("api.openai.com", ".openai.azure.com")
# Assistant-side blocks an OpenAI backend can neither read nor replay.
_DROPPED_BLOCKS = THINKING_BLOCKS | SERVER_TOOL_BLOCKS


def request(
    messages: MessagesRequest, provider: Provider, query: str, *, cache_key: str | None = None
) -> UpstreamRequest:
    return to_chat_completions(provider, translate_request(messages, provider, cache_key))


def response(messages: MessagesRequest, provider: Provider) -> ResponseTranslator:
    return MessagesFromChat(tool_names=_long_names(messages))


def uses_max_completion_tokens(provider: Provider) -> bool:
    host = provider.host.lower()
    return any(host == h or (h.startswith(".") and host.endswith(h)) for h in _MAX_COMPLETION_TOKENS_HOSTS)


def _long_names(messages: MessagesRequest) -> dict[str, str]:
    tools = messages.decoded("tools")
    names = [t.get("name") for t in tools if isinstance(t, dict)] if isinstance(tools, list) else []
    return long_tool_names(n for n in names if isinstance(n, str))


def translate_request(messages: MessagesRequest, provider: Provider, cache_key: str | None = None) -> bytes:
    """The chat completions body for a Messages request; raises ClientError for what cannot be expressed."""
    body: dict[str, Any] = {"model": provider.model, "messages": _conversation(messages)}
    max_tokens = messages.max_tokens
    if max_tokens == 0:
        raise untranslatable("max_tokens", "0 (pre-warming the prompt cache) has no OpenAI equivalent.")
    if max_tokens is not None:
        body["max_completion_tokens" if uses_max_completion_tokens(provider) else "max_tokens"] = max_tokens
    for name in ("temperature", "top_p"):
        value = messages.decoded(name)
        if value is not None:
            body[name] = value
    stop = messages.decoded("stop_sequences")
    if stop is not None:
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise invalid_body("stop_sequences: must be an array of strings.", param="stop_sequences")
        if stop:
            body["stop"] = stop
    tools, kept = _tools(messages.decoded("tools"))
    if tools:
        body["tools"] = tools
        _tool_choice(messages.decoded("tool_choice"), kept, body)
    metadata = messages.decoded("metadata")
    user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
    if isinstance(user_id, str) and user_id:
        body["user"] = user_id
    response_format = _response_format(messages)
    if response_format is not None:
        body["response_format"] = response_format
    if cache_key is not None:
        body["prompt_cache_key"] = cache_key
    if messages.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return orjson.dumps(body)


def _conversation(request: MessagesRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    system = request.decoded("system")
    if isinstance(system, str):
        if system:
            out.append({"role": "system", "content": system})
    elif isinstance(system, list) and system:
        out.append({"role": "system", "content": "\n".join(block["text"] for block in system)})
    for i, message in enumerate(request.messages):
        content = message["content"]
        if message["role"] == "assistant":
            if isinstance(content, str):  # the common case, inline: no location string built per message
                out.append({"role": "assistant", "content": content})
                continue
            translated = _assistant(content, f"messages.{i}")
            if translated is not None:
                out.append(translated)
        elif isinstance(content, str):
            out.append({"role": "user", "content": content})
        else:
            out.extend(_user(content, f"messages.{i}"))
    return out


def _user(blocks: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    """One user message: its tool results as tool messages, then the rest (tool-result images first)."""
    tools: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []  # from tool results: tool messages carry only text
    own: list[dict[str, Any]] = []
    for j, block in enumerate(blocks):
        at = f"{where}.content.{j}"
        if block["type"] == "tool_result":
            text, result_images = _tool_result_content(block.get("content"), at)
            tools.append({"role": "tool", "tool_call_id": block["tool_use_id"], "content": text})
            images.extend(result_images)
        else:
            own.append(_part(block, at))
    parts = images + own
    if parts:
        lone_text = len(parts) == 1 and parts[0]["type"] == "text"
        tools.append({"role": "user", "content": parts[0]["text"] if lone_text else parts})
    return tools


def _tool_result_content(content: Any, where: str) -> tuple[str, list[dict[str, Any]]]:
    if content is None or isinstance(content, str):
        return content or "", []
    if not isinstance(content, list):
        raise invalid_body(f"{where}.content: must be a string or an array of blocks.", param=f"{where}.content")
    texts: list[str] = []
    images: list[dict[str, Any]] = []
    for k, block in enumerate(content):
        at = f"{where}.content.{k}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "image":
            images.append(_part(block, at))
        else:
            raise untranslatable(at, f"a {quote(kind)} block in a tool result cannot be sent to an OpenAI backend.")
    return "\n".join(texts), images


def _part(block: dict[str, Any], where: str) -> dict[str, Any]:
    """A user content block as a chat completions content part."""
    kind = block["type"]
    if kind == "text":
        return {"type": "text", "text": block["text"]}
    source = block.get("source")
    if not isinstance(source, dict):
        source = {}
    source_type = source.get("type")
    if kind == "image" and source_type == "base64":
        return {
            "type": "image_url",
            "image_url": {"url": f"data:{source.get('media_type')};base64,{source.get('data')}"},
        }
    if kind == "image" and source_type == "url":
        return {"type": "image_url", "image_url": {"url": source.get("url")}}
    if kind == "document" and source_type == "base64":
        data_url = f"data:{source.get('media_type')};base64,{source.get('data')}"
        return {"type": "file", "file": {"filename": block.get("title") or "document.pdf", "file_data": data_url}}
    if kind == "document" and source_type == "text":
        return {"type": "text", "text": source.get("data") or ""}
    what = f"a {quote(kind)} block" + (f" with a {quote(source_type)} source" if source_type else "")
    raise untranslatable(where, f"{what} cannot be sent to an OpenAI-compatible backend.")


def _assistant(content: Any, where: str) -> dict[str, Any] | None:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for j, block in enumerate(content):
        kind = block["type"]
        if kind == "text":
            texts.append(block["text"])
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") if block.get("input") is not None else {}).decode()
            name = short_tool_name(block["name"])
            calls.append({"id": block["id"], "type": "function", "function": {"name": name, "arguments": arguments}})
        elif kind == "compaction" and isinstance(block.get("content"), str):
            texts.append(block["content"])
        elif kind not in _DROPPED_BLOCKS:
            raise untranslatable(f"{where}.content.{j}", f"a {quote(kind)} block cannot be sent to an OpenAI backend.")
    if not texts and not calls:
        return None
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    return message


def _tools(tools: Any) -> tuple[list[dict[str, Any]], set[str]]:
    """(function tools, the names kept); Anthropic-defined and server tools are dropped."""
    if tools is None:
        return [], set()
    if not isinstance(tools, list):
        raise invalid_body("tools: must be an array.", param="tools")
    out: list[dict[str, Any]] = []
    kept: set[str] = set()
    for j, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise invalid_body(f"tools.{j}: must be an object.", param=f"tools.{j}")
        if tool.get("type") not in (None, "custom"):
            continue
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise invalid_body(f"tools.{j}.name: must be a non-empty string.", param=f"tools.{j}.name")
        function: dict[str, Any] = {"name": short_tool_name(name)}
        if isinstance(tool.get("description"), str):
            function["description"] = tool["description"]
        function["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
        if tool.get("strict") is True:
            function["strict"] = True
        out.append({"type": "function", "function": function})
        kept.add(name)
    return out, kept


def _tool_choice(choice: Any, kept: set[str], body: dict[str, Any]) -> None:
    if choice is None:
        return
    if not isinstance(choice, dict):
        raise invalid_body("tool_choice: must be an object.", param="tool_choice")
    kind = choice.get("type")
    if kind == "auto":
        body["tool_choice"] = "auto"
    elif kind == "any":
        body["tool_choice"] = "required"
    elif kind == "none":
        body["tool_choice"] = "none"
        return
    elif kind == "tool":
        name = choice.get("name")
        if name not in kept:
            raise untranslatable("tool_choice.name", f"{quote(name)} is not a custom tool of this request.")
        body["tool_choice"] = {"type": "function", "function": {"name": short_tool_name(name)}}
    else:
        raise untranslatable("tool_choice.type", f"{quote(kind)} has no OpenAI equivalent.")
    if choice.get("disable_parallel_tool_use") is True:
        body["parallel_tool_calls"] = False


def _response_format(request: MessagesRequest) -> dict[str, Any] | None:
    config = request.decoded("output_config")
    spec = config.get("format") if isinstance(config, dict) else None
    spec = spec or request.decoded("output_format")
    if spec is None:
        return None
    if not isinstance(spec, dict) or spec.get("type") != "json_schema" or not isinstance(spec.get("schema"), dict):
        raise untranslatable(
            "output_config.format", "only a json_schema format with a schema has an OpenAI equivalent."
        )
    return {"type": "json_schema", "json_schema": {"name": "structured_output", "schema": spec["schema"]}}
