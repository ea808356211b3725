"""A fake OpenAI-compatible chat completions provider: the scripted model (scripted_model.py) served over
HTTP/1.1 (http_server.py), recording every request it receives.

It answers `POST {prefix}/chat/completions` (JSON, or an SSE stream when `stream` is true) and
`GET {prefix}/models`, with OpenAI-style JSON errors for everything else: 400 for a body it cannot use,
401 for a wrong key when `api_key` is set, 404/405 for other paths and methods. Failures on demand: the
`x-fake-fail` request header (or `fail_status`) answers with that status, or hangs up on "close".
Every response carries `x-fake-provider: <name>`. `GET`/`DELETE /_fake/received` list or clear the
records, for a test that runs the fake as a process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brightstaff.demo.chat_wire import completion_chunks, completion_json, plan_reply
from brightstaff.demo.http_server import HttpServer, Reply, Request, Response, StreamingResponse

CONTROL_PATH = "/_fake/received"  # outside any prefix: lets a test read a subprocess's records
FAIL_HEADER = "x-fake-fail"
NAME_HEADER = "x-fake-provider"

_DEFAULT_MODELS: dict[str, tuple[str, ...]] = {
    "openai": ("gpt-4o-mini", "gpt-4o"),
    "anthropic": ("claude-sonnet-4-20250514",),
}

# The `code` of an OpenAI-style error body for the statuses the HTTP server refuses requests with.
_REFUSAL_CODES = {413: "request_too_large", 431: "headers_too_large", 500: "server_error"}


def error_body(status: int, message: str, code: str, param: str | None = None) -> bytes:
    kind = {401: "authentication_error", 404: "invalid_request_error", 429: "rate_limit_error"}.get(
        status, "invalid_request_error" if status < 500 else "server_error"
    )
    return json.dumps({"error": {"message": message, "type": kind, "param": param, "code": code}}).encode()


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
    _server: HttpServer | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path_prefix}"

    @property
    def chat_requests(self) -> list[ReceivedRequest]:
        return [r for r in self.received if r.path == f"{self.path_prefix}/chat/completions"]

    async def close(self) -> None:
        """Stop listening and drop every open connection (also those mid-stream)."""
        if self._server is not None:
            await self._server.close()
        self._server = None

    def _json(self, status: int, body: bytes) -> Response:
        return Response(status, [("content-type", "application/json"), (NAME_HEADER, self.name)], body)

    def _error(self, status: int, message: str, code: str, param: str | None = None) -> Response:
        return self._json(status, error_body(status, message, code, param))

    def refusal(self, status: int, message: str) -> Response:
        """The answer to a request the HTTP server refused (malformed, too large): an OpenAI-style error."""
        return self._error(status, message, _REFUSAL_CODES.get(status, "bad_request"))

    async def handle(self, request: Request) -> Reply:
        path = request.path
        if path == CONTROL_PATH:
            return self._control(request)

        document: Any = None
        parse_error: str | None = None
        if request.body:
            try:
                document = json.loads(request.body)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                parse_error = str(exc)
        headers = request.header_map()
        self.received.append(
            ReceivedRequest(request.method, path, request.query, headers, request.body, document, time.time())
        )

        fail = headers.get(FAIL_HEADER) or (str(self.fail_status) if self.fail_status else None)
        if fail is not None:
            if fail == "close":
                return None  # hang up without an answer, like a crashed upstream
            status = int(fail) if fail.isdigit() and 400 <= int(fail) <= 599 else 500
            return self._error(status, f"Simulated failure of the fake {self.name} provider.", "fake_failure")

        chat_path, models_path = f"{self.path_prefix}/chat/completions", f"{self.path_prefix}/models"
        if path not in (chat_path, models_path):
            return self._error(404, f"Unknown request URL: {request.method} {path}.", "unknown_url")
        wanted = "POST" if path == chat_path else "GET"
        if request.method != wanted:
            message = f"Method {request.method} is not allowed on {path}; use {wanted}."
            return self._error(405, message, "method_not_allowed")
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            return self._error(401, "Incorrect API key provided.", "invalid_api_key")
        if path == models_path:
            models = self.models or _DEFAULT_MODELS.get(self.name, ("fake-model",))
            listing = {
                "object": "list",
                "data": [{"id": m, "object": "model", "created": 0, "owned_by": self.name} for m in models],
            }
            return self._json(200, json.dumps(listing).encode())

        if parse_error is not None or not request.body:
            detail = parse_error or "the body is empty"
            return self._error(400, f"We could not parse the JSON body of your request ({detail}).", "invalid_json")
        if not isinstance(document, dict):
            return self._error(400, "The request body must be a JSON object.", "invalid_request_body")
        if not isinstance(document.get("model"), str) or not document["model"]:
            return self._error(400, "You must provide a model parameter.", "missing_required_parameter", "model")
        if not isinstance(document.get("messages"), list):
            return self._error(400, "'messages' must be an array.", "missing_required_parameter", "messages")

        plan = plan_reply(document, self.name)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if document.get("stream") is True:
            events = [
                f"data: {json.dumps(c)}\n\n".encode() for c in completion_chunks(document, plan, completion_id, created)
            ]
            headers_out = [
                ("content-type", "text/event-stream; charset=utf-8"),
                ("cache-control", "no-cache"),
                (NAME_HEADER, self.name),
            ]
            return StreamingResponse(200, headers_out, self._paced([*events, b"data: [DONE]\n\n"]))
        return self._json(200, json.dumps(completion_json(document, plan, completion_id, created)).encode())

    async def _paced(self, events: list[bytes]) -> AsyncIterator[bytes]:
        """The SSE events one by one, `chunk_delay` apart (read per event: a test may change it mid-stream)."""
        for i, event in enumerate(events):
            if i and self.chunk_delay > 0:
                await asyncio.sleep(self.chunk_delay)
            yield event

    def _control(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.received.clear()
            return self._json(200, b'{"cleared":true}')
        if request.method == "GET":
            return self._json(200, json.dumps([r.to_json() for r in self.received]).encode())
        return self._error(405, "Use GET or DELETE.", "method_not_allowed")


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
    server = HttpServer(provider.handle, provider.refusal)
    provider._server = await server.start(host, port)
    provider.port = server.port
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
