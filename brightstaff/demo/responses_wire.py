"""OpenAI Responses (`POST /v1/responses`) for the scripted model: checks, the request read into an `Ask`, and
the plan rendered as the response object and its stream events.

Pure functions, no I/O and no clock (ids and timestamps come from the caller). What they guarantee:
- `check_request` refuses what the real API refuses, with its messages where they are known: unknown
  top-level parameters, a missing `model` or `input`, item types and roles it does not know, function
  tools without a `name` (the nested chat shape `{type, function: {...}}` is one), a `function_call`
  without its `function_call_output` and an output without its call, a named `tool_choice` not in
  `tools`, `max_output_tokens` below 16, a `json_schema` format without name or schema.
- `conversation_items` is the whole conversation a request continues: the items of the stored previous
  response (when `previous_response_id` names one) and then its own `input` (a string is one user
  message). `responses_ask` reads those items into an `Ask` as the model sees them.
- `response_json` is the complete `response` object (status `completed`, or `incomplete` with
  `incomplete_details` when `max_output_tokens` cut the answer), with `usage` in/out/total tokens and
  their details; `response_events` are the stream's events in the real order (`response.created`,
  `response.in_progress`, per output item `output_item.added`, `content_part.added`,
  `output_text.delta`s, `output_text.done`, `content_part.done` or `function_call_arguments.delta`s and
  `.done`, `output_item.done`, then `response.completed` or `response.incomplete`), numbered from 0 by
  `sequence_number`. The openai SDK parses both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from brightstaff.demo.api_error import ApiError
from brightstaff.demo.scripted_model import (
    AnswerFormat,
    Ask,
    Plan,
    Tool,
    ToolChoice,
    argument_pieces,
    object_schema,
    output_tokens,
    stream_pieces,
    text_of,
)

# The request body's parameters (openai-python's ResponseCreateParams, and `stream`); others are refused.
# fmt: off
PARAMETERS = frozenset({
    "access_programs", "background", "background_options", "context_management", "conversation", "image",
    "include", "input", "instructions", "max_output_tokens", "max_tool_calls", "metadata", "model",
    "moderation", "parallel_tool_calls", "previous_response_id", "prompt", "prompt_cache_key",
    "prompt_cache_options", "prompt_cache_retention", "reasoning", "safety_identifier", "service_tier",
    "store", "stream", "stream_options", "temperature", "text", "tool_choice", "tools", "top_logprobs",
    "top_p", "truncation", "user",
})
# The input item types openai-python knows (an "easy" message without a type is a message).
ITEM_TYPES = (
    "message", "function_call", "function_call_output", "reasoning", "item_reference", "file_search_call",
    "computer_call", "computer_call_output", "web_search_call", "tool_search_call", "tool_search_output",
    "additional_tools", "compaction", "compaction_trigger", "configuration_update", "image_generation_call",
    "code_interpreter_call", "local_shell_call", "local_shell_call_output", "shell_call", "shell_call_output",
    "apply_patch_call", "apply_patch_call_output", "mcp_list_tools", "mcp_approval_request",
    "mcp_approval_response", "mcp_call", "custom_tool_call", "custom_tool_call_output", "program",
    "program_output",
)
# fmt: on
ROLES = ("assistant", "system", "developer", "user")
INPUT_PARTS = ("input_text", "input_image", "input_file", "input_audio")
OUTPUT_PARTS = ("output_text", "refusal")
MIN_OUTPUT_TOKENS = 16


def _supported(values: Sequence[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}" if len(quoted) > 1 else quoted[0]


def _invalid(value: Any, supported: Sequence[str], param: str) -> ApiError:
    message = f"Invalid value: '{value}'. Supported values are: {_supported(supported)}."
    return ApiError(400, message, code="invalid_value", param=param)


def _missing(param: str) -> ApiError:
    return ApiError(400, f"Missing required parameter: '{param}'.", code="missing_required_parameter", param=param)


def input_items(value: Any) -> list[Any]:
    """The request's `input` as a list of items: a string is one user message."""
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    return list(value) if isinstance(value, list) else []


def conversation_items(document: dict[str, Any], history: Sequence[Any] = ()) -> list[Any]:
    """The conversation a request continues: the previous response's items, then its own input."""
    return [*history, *input_items(document.get("input"))]


def _item_type(item: dict[str, Any]) -> Any:
    # An "easy" input message leaves the type out: {"role": ..., "content": ...}.
    return item.get("type", "message" if "role" in item else None)


def check_request(document: Any, history: Sequence[Any] | None = ()) -> ApiError | None:
    """The real API's refusal of this request body, or None. `history` is None when the request names a
    previous response that is not stored."""
    if not isinstance(document, dict):
        return ApiError(400, "The request body must be a JSON object.", code="invalid_request_body")
    for name in document:
        if name not in PARAMETERS:
            return ApiError(400, f"Unknown parameter: '{name}'.", code="unknown_parameter", param=name)
    if not isinstance(document.get("model"), str) or not document["model"]:
        return _missing("model")
    previous = document.get("previous_response_id")
    if previous is not None and history is None:
        message = f"Previous response with id '{previous}' not found."
        return ApiError(400, message, code="previous_response_not_found", param="previous_response_id")
    if document.get("conversation") is not None:
        message = "This fake provider keeps no conversations; continue with 'previous_response_id' instead."
        return ApiError(400, message, code="unsupported_parameter", param="conversation")
    if "input" not in document and previous is None:
        return _missing("input")
    if "input" in document and not isinstance(document["input"], str | list):
        return ApiError(400, "Invalid type for 'input': expected a string or an array.", param="input")
    return (
        _check_items(input_items(document.get("input")), history or ())
        or _check_tools(document)
        or _check_output_limits(document)
    )


def _check_items(items: list[Any], history: Sequence[Any]) -> ApiError | None:
    # Call ids in order of appearance (dicts keep it), so the first unanswered call is the one named.
    calls = {i.get("call_id"): None for i in history if isinstance(i, dict) and i.get("type") == "function_call"}
    answered = {i.get("call_id") for i in history if isinstance(i, dict) and i.get("type") == "function_call_output"}
    for n, item in enumerate(items):
        where = f"input[{n}]"
        if not isinstance(item, dict):
            return ApiError(400, f"Invalid type for '{where}': expected an object.", param=where)
        kind = _item_type(item)
        if kind not in ITEM_TYPES:
            return _invalid(kind, ITEM_TYPES, f"{where}.type")
        if kind == "message":
            error = _check_message(item, where)
            if error:
                return error
        elif kind == "function_call":
            for name in ("call_id", "name", "arguments"):
                if not isinstance(item.get(name), str):
                    return _missing(f"{where}.{name}")
            calls[item["call_id"]] = None
        elif kind == "function_call_output":
            if not isinstance(item.get("call_id"), str):
                return _missing(f"{where}.call_id")
            if not isinstance(item.get("output"), str | list):
                return _missing(f"{where}.output")
            if item["call_id"] not in calls:
                message = f"No tool call found for function call output with call_id {item['call_id']}."
                return ApiError(400, message, param="input")
            answered.add(item["call_id"])
    unanswered = [call for call in calls if call not in answered]
    if unanswered:
        return ApiError(400, f"No tool output found for function call {unanswered[0]}.", param="input")
    return None


def _check_message(item: dict[str, Any], where: str) -> ApiError | None:
    role = item.get("role")
    if role not in ROLES:
        return _invalid(role, ROLES, f"{where}.role")
    content = item.get("content")
    if isinstance(content, str):
        return None
    if not isinstance(content, list):
        return _missing(f"{where}.content")
    allowed = OUTPUT_PARTS if role == "assistant" else INPUT_PARTS
    for m, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in allowed:
            return _invalid(kind, allowed, f"{where}.content[{m}]")
    return None


def _check_tools(document: dict[str, Any]) -> ApiError | None:
    tools = document.get("tools")
    if tools is not None and not isinstance(tools, list):
        return ApiError(400, "Invalid type for 'tools': expected an array.", param="tools")
    names = set()
    for n, tool in enumerate(tools or []):
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            return _missing(f"tools[{n}].type")
        if tool["type"] == "function":
            if not isinstance(tool.get("name"), str) or not tool["name"]:
                return _missing(f"tools[{n}].name")
            names.add(tool["name"])
    choice = document.get("tool_choice")
    if isinstance(choice, str) and choice not in ("none", "auto", "required"):
        return _invalid(choice, ("none", "auto", "required"), "tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function" and choice.get("name") not in names:
        message = f"Tool choice '{choice.get('name')}' not found in 'tools' parameter."
        return ApiError(400, message, param="tool_choice")
    return None


def _check_output_limits(document: dict[str, Any]) -> ApiError | None:
    limit = document.get("max_output_tokens")
    if limit is not None and (not isinstance(limit, int) or limit < MIN_OUTPUT_TOKENS):
        message = (
            "Invalid 'max_output_tokens': integer below minimum value. "
            f"Expected a value >= {MIN_OUTPUT_TOKENS}, but got {limit} instead."
        )
        return ApiError(400, message, code="integer_below_min_value", param="max_output_tokens")
    text = document.get("text")
    spec = text.get("format") if isinstance(text, dict) else None
    if isinstance(spec, dict) and spec.get("type") == "json_schema":
        for name in ("name", "schema"):
            if name not in spec:
                return _missing(f"text.format.{name}")
    return None


# --------------------------------------------------------------------------------------------------
# The request as the model reads it


def _tools(document: dict[str, Any]) -> tuple[Tool, ...]:
    return tuple(
        Tool(t["name"], object_schema(t.get("parameters")))
        for t in document.get("tools") or []
        if isinstance(t, dict) and t.get("type") == "function" and isinstance(t.get("name"), str)
    )


def _choice(choice: Any) -> ToolChoice:
    if choice == "none":
        return ToolChoice("none")
    if choice == "required":
        return ToolChoice("required")
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("name"), str):
        return ToolChoice("required", frozenset({choice["name"]}))
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        names = frozenset(
            t["name"] for t in choice.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("name"), str)
        )
        return ToolChoice("required" if choice.get("mode") == "required" else "auto", names)
    return ToolChoice("auto")


def _answer_format(document: dict[str, Any]) -> AnswerFormat | None:
    text = document.get("text")
    spec = text.get("format") if isinstance(text, dict) else None
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind == "json_schema":
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return AnswerFormat(schema if isinstance(schema, dict) else {"type": "object"})
    if kind == "json_object":
        return AnswerFormat(None)
    return None


def tool_rounds(items: Sequence[Any]) -> int:
    """Tool-calling rounds since the latest user message: each run of function calls is one round."""
    rounds = 0
    previous: Any = None
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = _item_type(item)
        if kind == "message" and item.get("role") == "user":
            rounds = 0
        elif kind == "function_call" and previous != "function_call":
            rounds += 1
        if kind != "reasoning":
            previous = kind
    return rounds


def responses_ask(document: dict[str, Any], items: Sequence[Any]) -> Ask:
    """A Responses request (its conversation `items`, see `conversation_items`) as the scripted model reads it."""
    dicts = [i for i in items if isinstance(i, dict)]
    users = [text_of(i.get("content")) for i in dicts if _item_type(i) == "message" and i.get("role") == "user"]
    limit = document.get("max_output_tokens")
    return Ask(
        model=str(document.get("model", "")),
        conversation_key=users[0] if users else "",
        last_user_text=users[-1] if users else "",
        message_count=len(items),
        rounds=tool_rounds(items),
        tool_results=sum(1 for i in dicts if i.get("type") == "function_call_output"),
        tools=_tools(document),
        choice=_choice(document.get("tool_choice")),
        parallel=document.get("parallel_tool_calls") is not False,
        answer_format=_answer_format(document),
        max_output_tokens=limit if isinstance(limit, int) else None,
    )


def prompt_blocks(document: dict[str, Any], items: Sequence[Any]) -> list[str]:
    """The prompt as the cache and the token count see it: instructions, tools, then each item, in order."""
    blocks = [json.dumps(document["instructions"])] if document.get("instructions") else []
    blocks += [json.dumps(t, sort_keys=True) for t in document.get("tools") or []]
    return blocks + [json.dumps(i, sort_keys=True) for i in items]


# --------------------------------------------------------------------------------------------------
# The plan as Responses objects


def usage_json(input_tokens: int, plan: Plan, cached: int = 0, written: int = 0) -> dict[str, Any]:
    out = output_tokens(plan)
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": written},
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + out,
    }


def _item_id(response_id: str, kind: str, index: int) -> str:
    return f"{kind}_{hashlib.sha256(f'{response_id}|{index}'.encode()).hexdigest()[:48]}"


def _tool_json(tool: Any) -> Any:
    if isinstance(tool, dict) and tool.get("type") == "function":
        return {"description": None, "parameters": None, "strict": True, **tool}
    return tool


def output_items(plan: Plan, response_id: str) -> list[dict[str, Any]]:
    """The plan's output items, complete: a message with its text, or one function call per tool call."""
    status = "incomplete" if plan.truncated else "completed"
    items: list[dict[str, Any]] = []
    if plan.content is not None:
        text = {"type": "output_text", "text": plan.content, "annotations": [], "logprobs": []}
        items.append(
            {
                "id": _item_id(response_id, "msg", 0),
                "type": "message",
                "status": status,
                "role": "assistant",
                "content": [text],
            }
        )
    for call in plan.tool_calls:
        items.append(
            {
                "id": _item_id(response_id, "fc", len(items)),
                "type": "function_call",
                "status": "completed",
                "arguments": call.arguments,
                "call_id": call.id,
                "name": call.name,
            }
        )
    return items


def response_json(
    document: dict[str, Any],
    response_id: str,
    created_at: int,
    *,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    status: str,
) -> dict[str, Any]:
    """The `response` object: what the request asked for echoed, with this status, output and usage."""
    text = document.get("text")
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": document.get("background") is True,
        "completed_at": created_at if status in ("completed", "incomplete") else None,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": document.get("instructions"),
        "max_output_tokens": document.get("max_output_tokens"),
        "max_tool_calls": document.get("max_tool_calls"),
        "model": document["model"],
        "output": output,
        "parallel_tool_calls": document.get("parallel_tool_calls", True),
        "previous_response_id": document.get("previous_response_id"),
        "prompt_cache_key": document.get("prompt_cache_key"),
        "reasoning": document.get("reasoning") or {"effort": None, "summary": None},
        "safety_identifier": document.get("safety_identifier"),
        "service_tier": "default",
        "store": document.get("store", True),
        "temperature": document.get("temperature", 1.0),
        "text": {"format": {"type": "text"}, "verbosity": "medium", **(text if isinstance(text, dict) else {})},
        "tool_choice": document.get("tool_choice", "auto"),
        "tools": [_tool_json(t) for t in document.get("tools") or []],
        "top_logprobs": document.get("top_logprobs", 0),
        "top_p": document.get("top_p", 1.0),
        "truncation": document.get("truncation", "disabled"),
        "usage": usage,
        "user": document.get("user"),
        "metadata": document.get("metadata") or {},
    }


def final_status(plan: Plan) -> str:
    return "incomplete" if plan.truncated else "completed"


def response_events(
    document: dict[str, Any], plan: Plan, response_id: str, created_at: int, usage: dict[str, Any]
) -> list[dict[str, Any]]:
    """The stream's events, in order, each with its `type` and `sequence_number`."""
    events: list[dict[str, Any]] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append({"type": kind, "sequence_number": len(events), **fields})

    def response(status: str, output: list[dict[str, Any]], usage_now: dict[str, Any] | None) -> dict[str, Any]:
        return response_json(document, response_id, created_at, output=output, usage=usage_now, status=status)

    emit("response.created", response=response("in_progress", [], None))
    emit("response.in_progress", response=response("in_progress", [], None))
    done = output_items(plan, response_id)
    for index, item in enumerate(done):
        at = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            emit(
                "response.output_item.added", output_index=index, item={**item, "status": "in_progress", "content": []}
            )
            part = item["content"][0]
            emit("response.content_part.added", **at, content_index=0, part={**part, "text": ""})
            for piece in stream_pieces(part["text"]):
                emit("response.output_text.delta", **at, content_index=0, delta=piece, logprobs=[])
            emit("response.output_text.done", **at, content_index=0, text=part["text"], logprobs=[])
            emit("response.content_part.done", **at, content_index=0, part=part)
        else:
            emit(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "arguments": ""},
            )
            for piece in argument_pieces(item["arguments"]):
                emit("response.function_call_arguments.delta", **at, delta=piece)
            emit("response.function_call_arguments.done", **at, name=item["name"], arguments=item["arguments"])
        emit("response.output_item.done", output_index=index, item=item)
    status = final_status(plan)
    emit(f"response.{status}", response=response(status, done, usage))
    return events


def failed_event(document: dict[str, Any], response_id: str, created_at: int, sequence_number: int) -> dict[str, Any]:
    """The event a stream that breaks off ends with: `response.failed`, its response carrying the error."""
    response = response_json(document, response_id, created_at, output=[], usage=None, status="failed")
    response["error"] = {"code": "server_error", "message": "The model failed to generate a response."}
    return {"type": "response.failed", "sequence_number": sequence_number, "response": response}
