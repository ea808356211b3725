"""A fake router model on loopback: an OpenAI chat completions endpoint that answers in the Arch-Router or
Orchestrator format, and on request answers slowly, with an error, with garbage, or not at all.

Behaviour is chosen per request by a directive in the latest user message of the conversation it is
shown (so one server serves every case of an e2e test), or for every request by `FakeRouter.mode`:
    [router:slow]          sleep `slow_seconds` before answering (the client's deadline fires first)
    [router:500]           HTTP 500 with an OpenAI-style error body
    [router:garbage]       200 with a chat completion whose content is not a route choice
    [router:not-json]      200 with a body that is not JSON
    [router:close]         hang up without answering
    [router:unknown]       a well-formed answer naming a route that is not configured
    [router:other]         "no route fits"
    [router:fenced]        the normal answer wrapped in a ```json code fence
    [router:route=NAME]    answer NAME
Otherwise the first `rules` entry whose keyword occurs in the latest user message names the route, and
"other" when none does. Every request is recorded (`calls`), with the routes and conversation it showed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from brightstaff.demo.fake_provider import HttpError, close_server, read_request

_DIRECTIVE = re.compile(r"\[router:([a-z0-9_=.-]+)\]")


@dataclass(frozen=True)
class RouterCall:
    body: dict[str, Any]
    headers: dict[str, str]
    prompt: str
    format: str  # "arch_router" | "orchestrator_v1", recognised from the prompt
    routes: list[str]  # route names in the order the prompt lists them
    conversation: list[dict[str, Any]]


def split_prompt(prompt: str) -> tuple[str, list[str], list[dict[str, Any]]]:
    """(format, route names, conversation) of a router prompt, as the model would read them."""
    fmt = "orchestrator_v1" if "## Instructions" in prompt else "arch_router"
    routes_text = prompt.split("<routes>\n", 1)[1].split("\n</routes>", 1)[0]
    conversation_text = prompt.split("<conversation>\n", 1)[1].split("\n</conversation>", 1)[0]
    if fmt == "arch_router":
        routes = [r["name"] for r in json.loads(routes_text)]
    else:
        routes = [json.loads(line)["name"] for line in routes_text.splitlines() if line.strip()]
    return fmt, routes, json.loads(conversation_text)


@dataclass(eq=False)
class FakeRouter:
    host: str = "127.0.0.1"
    port: int = 0
    rules: list[tuple[str, str]] = field(default_factory=list)  # (keyword, route), first match wins
    mode: str | None = None  # a directive applied to every request, e.g. "500"
    slow_seconds: float = 5.0
    delay: float = 0.0  # every answer waits this long (to hold connections open in concurrency tests)
    calls: list[RouterCall] = field(default_factory=list)
    connections: int = 0
    max_connections: int = 0  # the most connections open at once
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> FakeRouter:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def close(self) -> None:
        await close_server(self._server, self._tasks)
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        self.max_connections = max(self.max_connections, self.connections)
        try:
            while True:
                try:
                    request = await read_request(reader, writer)
                except (HttpError, ConnectionError):
                    return
                if request is None or not await self._answer(request.body, dict(request.headers), writer):
                    return
        finally:
            self.connections -= 1
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _answer(self, raw: bytes, headers: dict[str, str], writer: asyncio.StreamWriter) -> bool:
        body = json.loads(raw)
        prompt = body["messages"][0]["content"]
        fmt, routes, conversation = split_prompt(prompt)
        self.calls.append(RouterCall(body, headers, prompt, fmt, routes, conversation))
        latest = next((m["content"] for m in reversed(conversation) if m["role"] == "user"), "")
        found = _DIRECTIVE.search(latest)
        directive = found.group(1) if found else self.mode
        if self.delay:
            await asyncio.sleep(self.delay)
        if directive == "close":
            return False
        if directive == "slow":
            await asyncio.sleep(self.slow_seconds)
        if directive == "500":
            error = {"error": {"message": "router overloaded", "type": "server_error", "code": "fake"}}
            return await self._send(writer, 500, json.dumps(error).encode())
        if directive == "not-json":
            return await self._send(writer, 200, b"<html>gateway</html>")
        route: str | None
        if directive == "garbage":
            return await self._send(writer, 200, _completion(body, "I think you should use a bigger model!"))
        if directive == "unknown":
            route = "no_such_route"
        elif directive == "other":
            route = None
        elif directive is not None and directive.startswith("route="):
            route = directive.split("=", 1)[1]
        else:
            route = next((r for keyword, r in self.rules if keyword in latest.lower()), None)
        if fmt == "arch_router":
            answer = json.dumps({"route": route or "other"})
        else:
            answer = json.dumps({"route": [route] if route else []})
        if directive == "fenced":
            answer = f"```json\n{answer}\n```"
        return await self._send(writer, 200, _completion(body, answer))

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, status: int, payload: bytes) -> bool:
        head = f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len(payload)}\r\n\r\n"
        try:
            writer.write(head.encode() + payload)
            await writer.drain()
        except ConnectionError:
            return False
        return True


def _completion(request: dict[str, Any], content: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-router",
            "object": "chat.completion",
            "created": 0,
            "model": request.get("model", "router"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        }
    ).encode()


async def start_fake_router(**options: Any) -> FakeRouter:
    return await FakeRouter(**options).start()
