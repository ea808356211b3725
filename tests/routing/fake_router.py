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
import json
import re
from dataclasses import dataclass, field
from typing import Any

from brightstaff.demo.http_server import HttpServer, Reply, Request, Response

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
    _server: HttpServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def connections(self) -> int:
        return self._server.open_connections if self._server is not None else 0

    @property
    def max_connections(self) -> int:
        """The most connections open at once."""
        return self._server.max_open_connections if self._server is not None else 0

    async def start(self) -> FakeRouter:
        self._server = await HttpServer(self._answer).start(self.host, self.port)
        self.port = self._server.port
        return self

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    async def _answer(self, request: Request) -> Reply:
        body = json.loads(request.body)
        prompt = body["messages"][0]["content"]
        fmt, routes, conversation = split_prompt(prompt)
        self.calls.append(RouterCall(body, request.header_map(), prompt, fmt, routes, conversation))
        latest = next((m["content"] for m in reversed(conversation) if m["role"] == "user"), "")
        found = _DIRECTIVE.search(latest)
        directive = found.group(1) if found else self.mode
        if self.delay:
            await asyncio.sleep(self.delay)
        if directive == "close":
            return None
        if directive == "slow":
            await asyncio.sleep(self.slow_seconds)
        if directive == "500":
            error = {"error": {"message": "router overloaded", "type": "server_error", "code": "fake"}}
            return _json(500, json.dumps(error).encode())
        if directive == "not-json":
            return _json(200, b"<html>gateway</html>")
        route: str | None
        if directive == "garbage":
            return _json(200, _completion(body, "I think you should use a bigger model!"))
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
        return _json(200, _completion(body, answer))


def _json(status: int, payload: bytes) -> Response:
    return Response(status, [("content-type", "application/json")], payload)


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
