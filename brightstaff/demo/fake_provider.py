"""A fake OpenAI-compatible provider (a scripted tool-using model) on a small asyncio HTTP/1.1 server."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import http
import json
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Bounds on what one request may make the server hold: Envoy forwards at most brightstaff's own body
# limit (16 MiB by default), so 32 MiB never refuses a request brightstaff would have let through.
MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 128
MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_CHUNK_LINE_BYTES = 4096
MAX_TRAILER_LINES = 64
# An idle keep-alive connection is dropped after this long, like real providers do, so a client pool
# that never closes cannot pin server tasks forever.
IDLE_TIMEOUT_SECONDS = 75.0
# After answering with `connection: close`, read (and drop) what the client still sends for a moment:
# closing a socket with unread input makes the kernel send RST, which can destroy the answer in flight.
LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 1024 * 1024

CONTROL_PATH = "/_fake/received"  # outside any prefix: lets a test read a subprocess's records
FAIL_HEADER = "x-fake-fail"
NAME_HEADER = "x-fake-provider"

# The demo agent's tools, in the order a careful analyst would use them; see `plan_reply`.
DEMO_TOOLS = frozenset({"get_db_benchmarks", "get_case_studies", "check_feature_support"})
GENERIC_TOOL_ROUNDS = 3

_DEFAULT_MODELS: dict[str, tuple[str, ...]] = {
    "openai": ("gpt-4o-mini", "gpt-4o"),
    "anthropic": ("claude-sonnet-4-20250514",),
}

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_VERSION = re.compile(r"^HTTP/(\d)\.(\d)$")
_HEX = re.compile(r"^[0-9A-Fa-f]{1,16}$")
_DIGITS = re.compile(r"^[0-9]{1,19}$")
_STREAM_PIECE = re.compile(r"(?:\S+\s*){1,3}")


# --------------------------------------------------------------------------------------------------
# HTTP/1.1 over asyncio streams


class HttpError(Exception):
    """A request the server cannot read; answered with `status` and the connection closed."""

    def __init__(self, status: int, message: str, code: str = "bad_request") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    target: str
    version: tuple[int, int]
    headers: tuple[tuple[str, str], ...]  # lowercased names, in arrival order
    body: bytes

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k == name]
        return ", ".join(values) if values else None

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for t in (self.header("connection") or "").split(",")}
        if self.version >= (1, 1):
            return "close" not in tokens
        return "keep-alive" in tokens


async def read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, max_body: int = MAX_BODY_BYTES
) -> HttpRequest | None:
    """Read one request; None when the peer closed between requests. Raises HttpError on bad input."""
    head = b""
    while not head:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise HttpError(431, "Request header section too large.", "headers_too_large") from None
        except asyncio.IncompleteReadError as exc:
            if not exc.partial.strip():
                return None
            raise HttpError(400, "Connection closed in the middle of the request head.") from None
        # RFC 9112 2.2: ignore empty lines before the request line (a client's stray CRLF after a body).
        head = head.lstrip(b"\r\n")
    if len(head) > MAX_HEAD_BYTES:
        raise HttpError(431, "Request header section too large.", "headers_too_large")
    lines = head[:-4].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _TOKEN.match(parts[0]) or not parts[1] or any(c in parts[1] for c in "\t\x00"):
        raise HttpError(400, "Malformed request line.")
    method, target, version_text = parts
    version = _VERSION.match(version_text)
    if version is None:
        raise HttpError(400, "Malformed HTTP version.")
    if version.group(1) != "1":
        raise HttpError(505, "Only HTTP/1.0 and HTTP/1.1 are served.", "http_version_not_supported")
    if not target.startswith("/"):
        raise HttpError(400, "Only origin-form request targets are served.")
    if len(lines) - 1 > MAX_HEADERS:
        raise HttpError(431, f"More than {MAX_HEADERS} header fields.", "headers_too_large")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        # Obsolete line folding and whitespace before the colon are both smuggling vectors: refuse.
        if not sep or not _TOKEN.match(name):
            raise HttpError(400, "Malformed header field.")
        value = value.strip(" \t")
        if any(c in value for c in "\r\n\x00"):
            raise HttpError(400, "Invalid character in a header value.")
        headers.append((name.lower(), value))
    request = HttpRequest(method, target, (1, int(version.group(2))), tuple(headers), b"")
    body = await _read_body(request, reader, writer, max_body)
    return HttpRequest(method, target, request.version, request.headers, body)


async def _read_body(
    request: HttpRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_body: int
) -> bytes:
    transfer_encoding = request.header("transfer-encoding")
    content_length = request.header("content-length")
    if transfer_encoding is not None:
        if content_length is not None:
            # RFC 9112 6.3 lets a server refuse both framings at once: it is how requests get smuggled.
            raise HttpError(400, "Both Transfer-Encoding and Content-Length were sent.")
        codings = [c.strip().lower() for c in transfer_encoding.split(",")]
        if codings[-1] != "chunked":
            raise HttpError(400, "Transfer-Encoding must end with chunked.")
        if codings != ["chunked"]:
            raise HttpError(501, f"Unsupported transfer coding: {transfer_encoding}.", "not_implemented")
        await _continue(request, writer)
        return await _read_chunked(reader, max_body)
    if content_length is None:
        return b""
    lengths = {v.strip() for v in content_length.split(",")}
    if len(lengths) != 1:
        raise HttpError(400, "Conflicting Content-Length values.")
    length_text = lengths.pop()
    if not _DIGITS.match(length_text):
        raise HttpError(400, "Invalid Content-Length.")
    length = int(length_text)
    if length > max_body:
        raise HttpError(413, f"Request body larger than {max_body} bytes.", "request_too_large")
    await _continue(request, writer)
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise HttpError(400, "Connection closed before the whole body arrived.") from None


async def _continue(request: HttpRequest, writer: asyncio.StreamWriter) -> None:
    # curl waits about a second for this before sending a large body on its own.
    if request.version >= (1, 1) and (request.header("expect") or "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()


async def _read_line(reader: asyncio.StreamReader, limit: int) -> bytes:
    try:
        line = await reader.readuntil(b"\r\n")
    except asyncio.LimitOverrunError:
        raise HttpError(400, "Chunk framing line too long.") from None
    except asyncio.IncompleteReadError:
        raise HttpError(400, "Connection closed inside a chunked body.") from None
    if len(line) > limit:
        raise HttpError(400, "Chunk framing line too long.")
    return line[:-2]


async def _read_chunked(reader: asyncio.StreamReader, max_body: int) -> bytes:
    body = bytearray()
    while True:
        size_text = (await _read_line(reader, MAX_CHUNK_LINE_BYTES)).split(b";", 1)[0].strip(b" \t")
        if not _HEX.match(size_text.decode("latin-1")):
            raise HttpError(400, "Invalid chunk size.")
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > max_body:
            raise HttpError(413, f"Request body larger than {max_body} bytes.", "request_too_large")
        try:
            body += await reader.readexactly(size)
            crlf = await reader.readexactly(2)
        except asyncio.IncompleteReadError:
            raise HttpError(400, "Connection closed inside a chunked body.") from None
        if crlf != b"\r\n":
            raise HttpError(400, "Chunk data not followed by CRLF.")
    for _ in range(MAX_TRAILER_LINES):
        if not await _read_line(reader, MAX_CHUNK_LINE_BYTES):
            return bytes(body)
    raise HttpError(400, "Too many trailer fields.")


def _head(status: int, headers: Sequence[tuple[str, str]]) -> bytes:
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def error_body(status: int, message: str, code: str, param: str | None = None) -> bytes:
    kind = {401: "authentication_error", 404: "invalid_request_error", 429: "rate_limit_error"}.get(
        status, "invalid_request_error" if status < 500 else "server_error"
    )
    return json.dumps({"error": {"message": message, "type": kind, "param": param, "code": code}}).encode()


# --------------------------------------------------------------------------------------------------
# The scripted model


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the API sends it


@dataclass(frozen=True, slots=True)
class Plan:
    """What the fake model answers: text, or tool calls (then `content` is None)."""

    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def tool_rounds(messages: Sequence[Any]) -> int:
    """How many tool-calling rounds the model already did since the latest user message."""
    rounds = 0
    for message in messages:
        if not isinstance(message, dict):
            continue
        if message.get("role") == "user":
            rounds = 0
        elif message.get("role") == "assistant" and message.get("tool_calls"):
            rounds += 1
    return rounds


def _tool_names(tools: Any) -> list[str]:
    names: list[str] = []
    if isinstance(tools, list):
        for tool in tools:
            fn = tool.get("function") if isinstance(tool, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                names.append(fn["name"])
    return names


def _tool_schema(tools: Any, name: str) -> dict[str, Any]:
    for tool in tools if isinstance(tools, list) else []:
        fn = tool.get("function") if isinstance(tool, dict) else None
        parameters = fn.get("parameters") if isinstance(fn, dict) and fn.get("name") == name else None
        if isinstance(parameters, dict):
            return parameters
    return {}


def _example_value(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return "example"
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return _example_arguments(schema)
    return "example"


def _example_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments that satisfy a JSON schema's required properties (all of them, if none are required)."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    required = schema.get("required")
    names = [n for n in required if n in properties] if isinstance(required, list) else list(properties)
    return {n: _example_value(properties[n]) for n in names}


def _call(conversation_key: str, round_number: int, index: int, name: str, arguments: dict[str, Any]) -> ToolCall:
    args = json.dumps(arguments, separators=(",", ":"))
    # Deterministic ids: the same conversation gets the same calls, so recorded runs compare equal.
    digest = hashlib.sha256(f"{conversation_key}|{round_number}|{index}|{name}|{args}".encode()).hexdigest()
    return ToolCall(id=f"call_{digest[:24]}", name=name, arguments=args)


_DEMO_SCRIPT: tuple[tuple[tuple[str, dict[str, Any]], ...], ...] = (
    (("get_db_benchmarks", {"workload": "read-heavy"}), ("get_db_benchmarks", {"workload": "write-heavy"})),
    (("get_case_studies", {"database": "postgresql"}), ("get_case_studies", {"database": "mongodb"})),
    (("check_feature_support", {"database": "mongodb", "feature": "multi-document ACID transactions"}),),
)

DEMO_ANSWER = (
    "Recommendation: PostgreSQL.\n"
    "- Orders need multi-row ACID transactions; PostgreSQL gives them with no caveats, MongoDB only "
    "with replica-set transactions and extra latency.\n"
    "- The read-heavy catalogue benchmark is close (PostgreSQL with JSONB indexes is within 10% of "
    "MongoDB), while write-heavy checkout traffic favours PostgreSQL's p99.\n"
    "- Flexible product attributes fit a JSONB column, as the case studies did.\n"
    "Start with the orders/order_items schema and a JSONB attributes column on products."
)


def plan_reply(document: dict[str, Any], provider_name: str = "fake") -> Plan:
    """The scripted model: a pure function of the request, so every run of a conversation is the same.

    With the demo agent's tools it follows the database investigation script (benchmarks, case studies,
    a feature check, then the recommendation); with other tools it calls them one per round, in order,
    then answers; without tools (or with tool_choice "none") it answers with text.
    """
    messages = document.get("messages")
    messages = messages if isinstance(messages, list) else []
    model = str(document.get("model", ""))
    tools = document.get("tools")
    names = _tool_names(tools)
    choice = document.get("tool_choice")
    rounds = tool_rounds(messages)
    key = _text(next((m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"), ""))

    if names and choice != "none":
        forced = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
        if isinstance(forced, str) and forced in names:
            return Plan(None, (_call(key, rounds, 0, forced, _example_arguments(_tool_schema(tools, forced))),))
        if DEMO_TOOLS.issubset(names):
            if rounds < len(_DEMO_SCRIPT):
                calls = tuple(_call(key, rounds, i, n, a) for i, (n, a) in enumerate(_DEMO_SCRIPT[rounds]))
                return Plan(None, calls)
            return Plan(DEMO_ANSWER)
        if rounds < min(len(names), GENERIC_TOOL_ROUNDS):
            name = names[rounds]
            return Plan(None, (_call(key, rounds, 0, name, _example_arguments(_tool_schema(tools, name))),))
        results = sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "tool")
        return Plan(f"Done: {model} used {results} tool result(s) to answer.")

    last_user = next(
        (_text(m.get("content")) for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"), ""
    )
    snippet = " ".join(last_user.split())[:200]
    return Plan(
        f"This is the fake {provider_name} provider answering as {model}. "
        f"You sent {len(messages)} message(s); the last user message was: {snippet}"
    )


def _usage(document: dict[str, Any], plan: Plan) -> dict[str, int]:
    # A rough 4-characters-a-token count: deterministic, and in the ballpark clients expect.
    prompt = sum(len(_text(m.get("content"))) for m in document.get("messages", []) if isinstance(m, dict))
    completion = len(plan.content or "") + sum(len(c.name) + len(c.arguments) for c in plan.tool_calls)
    p, c = max(1, prompt // 4), max(1, completion // 4)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def completion_json(document: dict[str, Any], plan: Plan, completion_id: str, created: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": plan.content, "refusal": None}
    if plan.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in plan.tool_calls
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": document["model"],
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": plan.finish_reason}],
        "usage": _usage(document, plan),
    }


def completion_chunks(document: dict[str, Any], plan: Plan, completion_id: str, created: int) -> list[dict[str, Any]]:
    """The chat.completion.chunk objects of a streamed answer, in order (without the [DONE] marker)."""
    options = document.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    base = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": document["model"]}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        out = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if include_usage:
            out["usage"] = None
        return out

    chunks = [chunk({"role": "assistant", "content": "" if plan.content is not None else None})]
    if plan.content:
        chunks += [chunk({"content": piece}) for piece in _STREAM_PIECE.findall(plan.content)]
    for index, call in enumerate(plan.tool_calls):
        chunks.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": ""},
                        }
                    ]
                }
            )
        )
        for start in range(0, len(call.arguments), 12):
            piece = call.arguments[start : start + 12]
            chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    chunks.append(chunk({}, plan.finish_reason))
    if include_usage:
        chunks.append({**base, "choices": [], "usage": _usage(document, plan)})
    return chunks


# --------------------------------------------------------------------------------------------------
# The provider


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """One request as it arrived: what tests check (the model rewrite, the injected credentials)."""

    method: str
    path: str  # without the query
    query: str
    headers: dict[str, str]  # lowercased names; repeated fields joined with ", "
    raw_body: bytes
    body: Any  # the parsed JSON body, None when there was none or it did not parse
    received_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
            "raw_body": self.raw_body.decode("utf-8", "replace"),
            "received_at": self.received_at,
        }


async def close_server(server: asyncio.Server | None, connections: set[asyncio.Task[None]]) -> None:
    """Stop `server` listening, then cancel its connection tasks (streams included) and wait for them."""
    if server is not None:
        server.close()
        await server.wait_closed()
    tasks = list(connections)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@dataclass(eq=False)
class FakeProvider:
    """A running fake provider. `chunk_delay`, `fail_status` and `api_key` may be changed while it runs."""

    name: str
    host: str
    port: int
    path_prefix: str
    chunk_delay: float = 0.0
    fail_status: int | None = None  # answer every request with this status (like the x-fake-fail header)
    api_key: str | None = None  # when set, requests must carry `Authorization: Bearer <api_key>`
    models: tuple[str, ...] = ()
    received: list[ReceivedRequest] = field(default_factory=list)
    _server: asyncio.Server | None = field(default=None, repr=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path_prefix}"

    @property
    def chat_requests(self) -> list[ReceivedRequest]:
        return [r for r in self.received if r.path == f"{self.path_prefix}/chat/completions"]

    async def close(self) -> None:
        """Stop listening and drop every open connection (also those mid-stream)."""
        await close_server(self._server, self._tasks)
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                try:
                    request = await asyncio.wait_for(read_request(reader, writer), IDLE_TIMEOUT_SECONDS)
                except HttpError as exc:
                    await _send(
                        writer, exc.status, error_body(exc.status, exc.message, exc.code), self.name, close=True
                    )
                    return
                except (TimeoutError, ConnectionError):
                    return
                if request is None or not await self._dispatch(request, writer):
                    return
        except ConnectionError:
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _dispatch(self, request: HttpRequest, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection must close afterwards."""
        keep = request.keep_alive
        path, _, query = request.target.partition("?")
        if path == CONTROL_PATH:
            return await self._control(request, writer, keep)

        document: Any = None
        parse_error: str | None = None
        if request.body:
            try:
                document = json.loads(request.body)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                parse_error = str(exc)
        headers: dict[str, str] = {}
        for k, v in request.headers:
            headers[k] = f"{headers[k]}, {v}" if k in headers else v
        self.received.append(ReceivedRequest(request.method, path, query, headers, request.body, document, time.time()))

        async def reply(status: int, message: str, code: str, param: str | None = None) -> None:
            await _send(writer, status, error_body(status, message, code, param), self.name, close=not keep)

        fail = headers.get(FAIL_HEADER) or (str(self.fail_status) if self.fail_status else None)
        if fail is not None:
            if fail == "close":
                return False  # hang up without an answer, like a crashed upstream
            status = int(fail) if fail.isdigit() and 400 <= int(fail) <= 599 else 500
            await reply(status, f"Simulated failure of the fake {self.name} provider.", "fake_failure")
            return keep

        chat_path, models_path = f"{self.path_prefix}/chat/completions", f"{self.path_prefix}/models"
        if path not in (chat_path, models_path):
            await reply(404, f"Unknown request URL: {request.method} {path}.", "unknown_url")
            return keep
        wanted = "POST" if path == chat_path else "GET"
        if request.method != wanted:
            await reply(405, f"Method {request.method} is not allowed on {path}; use {wanted}.", "method_not_allowed")
            return keep
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            await reply(401, "Incorrect API key provided.", "invalid_api_key")
            return keep
        if path == models_path:
            models = self.models or _DEFAULT_MODELS.get(self.name, ("fake-model",))
            listing = {
                "object": "list",
                "data": [{"id": m, "object": "model", "created": 0, "owned_by": self.name} for m in models],
            }
            await _send(writer, 200, json.dumps(listing).encode(), self.name, close=not keep)
            return keep

        if parse_error is not None or not request.body:
            detail = parse_error or "the body is empty"
            await reply(400, f"We could not parse the JSON body of your request ({detail}).", "invalid_json")
            return keep
        if not isinstance(document, dict):
            await reply(400, "The request body must be a JSON object.", "invalid_request_body")
            return keep
        if not isinstance(document.get("model"), str) or not document["model"]:
            await reply(400, "You must provide a model parameter.", "missing_required_parameter", "model")
            return keep
        if not isinstance(document.get("messages"), list):
            await reply(400, "'messages' must be an array.", "missing_required_parameter", "messages")
            return keep

        plan = plan_reply(document, self.name)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if document.get("stream") is True:
            chunks = completion_chunks(document, plan, completion_id, created)
            await self._stream(writer, chunks, close=not keep)
        else:
            body = json.dumps(completion_json(document, plan, completion_id, created)).encode()
            await _send(writer, 200, body, self.name, close=not keep)
        return keep

    async def _control(self, request: HttpRequest, writer: asyncio.StreamWriter, keep: bool) -> bool:
        if request.method == "DELETE":
            self.received.clear()
            await _send(writer, 200, b'{"cleared":true}', self.name, close=not keep)
        elif request.method == "GET":
            body = json.dumps([r.to_json() for r in self.received]).encode()
            await _send(writer, 200, body, self.name, close=not keep)
        else:
            body = error_body(405, "Use GET or DELETE.", "method_not_allowed")
            await _send(writer, 405, body, self.name, close=not keep)
        return keep

    async def _stream(self, writer: asyncio.StreamWriter, chunks: list[dict[str, Any]], *, close: bool) -> None:
        headers = [
            ("content-type", "text/event-stream; charset=utf-8"),
            ("cache-control", "no-cache"),
            ("transfer-encoding", "chunked"),
            (NAME_HEADER, self.name),
        ]
        if close:
            headers.append(("connection", "close"))
        writer.write(_head(200, headers))
        events = [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]
        for i, event in enumerate(events):
            # One HTTP chunk per SSE event, flushed before the pause: what a proxy must pass on unbuffered.
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            await writer.drain()
            if self.chunk_delay > 0 and i < len(events) - 1:
                await asyncio.sleep(self.chunk_delay)
        writer.write(b"0\r\n\r\n")
        await writer.drain()


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Half-close, then drain the client's leftovers until it closes too (bounded in bytes and time)."""
    with contextlib.suppress(OSError, TimeoutError, RuntimeError):
        if writer.can_write_eof():
            writer.write_eof()
        async with asyncio.timeout(LINGER_SECONDS):
            drained = 0
            while drained < LINGER_MAX_BYTES:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                drained += len(chunk)


async def _send(writer: asyncio.StreamWriter, status: int, body: bytes, name: str, *, close: bool) -> None:
    headers = [("content-type", "application/json"), ("content-length", str(len(body))), (NAME_HEADER, name)]
    if close:
        headers.append(("connection", "close"))
    writer.write(_head(status, headers) + body)
    await writer.drain()


async def start_fake_provider(
    name: str,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    chunk_delay: float = 0.0,
    path_prefix: str = "/v1",
    api_key: str | None = None,
    models: Sequence[str] = (),
) -> FakeProvider:
    """Start a fake provider; port 0 picks a free port (read it back from `.port`)."""
    if path_prefix and not path_prefix.startswith("/"):
        raise ValueError(f"path_prefix must start with '/', got {path_prefix!r}")
    provider = FakeProvider(
        name=name,
        host=host,
        port=port,
        path_prefix=path_prefix.rstrip("/"),
        chunk_delay=chunk_delay,
        api_key=api_key,
        models=tuple(models),
    )
    # The stream limit bounds how much of a request head is buffered before readuntil gives up.
    server = await asyncio.start_server(provider._serve, host, port, limit=MAX_HEAD_BYTES)
    provider._server = server
    provider.port = int(server.sockets[0].getsockname()[1])
    return provider


# --------------------------------------------------------------------------------------------------
# As a process: `python -m brightstaff.demo.fake_provider --name openai --port 0 --ready-file PATH`


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m brightstaff.demo.fake_provider",
        description="A fake OpenAI-compatible chat completions provider for demos and tests.",
    )
    parser.add_argument("--name", required=True, help="provider name, echoed in the x-fake-provider header")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between streamed chunks")
    parser.add_argument("--path-prefix", default="/v1")
    parser.add_argument("--api-key", default=None, help="require Authorization: Bearer <key>")
    parser.add_argument("--ready-file", type=Path, default=None, help="write {name, host, port, base_url} here")
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace) -> None:
    provider = await start_fake_provider(
        args.name,
        args.host,
        args.port,
        chunk_delay=args.chunk_delay,
        path_prefix=args.path_prefix,
        api_key=args.api_key,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows loops
            loop.add_signal_handler(sig, stop.set)
    try:
        if args.ready_file is not None:
            ready = {"name": provider.name, "host": provider.host, "port": provider.port, "pid": os.getpid()}
            ready["base_url"] = provider.base_url
            # Written then renamed, so a poller never reads half a file.
            partial = args.ready_file.with_name(args.ready_file.name + ".partial")
            partial.write_text(json.dumps(ready), encoding="utf-8")
            partial.replace(args.ready_file)
        # Printed after the ready file exists, so a reader of either can rely on both.
        print(f"fake provider {provider.name} ready on port {provider.port}: {provider.base_url}", flush=True)
        await stop.wait()
    finally:
        await provider.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        asyncio.run(_run(args))
    except OSError as exc:
        print(f"fake provider {args.name}: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
