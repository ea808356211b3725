"""What the benchmark measures: the cells, their order, and the result each one keeps.

A cell is one (path, body size, connection count) measured for `duration` seconds after a warm-up:
- `direct`: Envoy straight to the upstream Envoy (no brightstaff);
- `brightstaff`: the same chat request through brightstaff's ext_proc on the pin-hit path, once per
  transport (`server`);
- `redis`: the same with the pins in Redis;
- `api`: one of `API_CASES` (a client API to a backend through brightstaff, same dialect or translated,
  JSON or a 50-event SSE stream), on the first transport and the memory store, against the fakes;
- `api-direct`: the same client request straight through Envoy, no brightstaff, to the upstream Envoy
  (JSON) or to the fake that speaks the client's API (streams) (`DIRECT_CASES`): what the `api` cells of
  that client API are held against.
Streamed cases run on one connection only (their targets are per event and at one connection). All
paths of one (body, connections) run back to back, so drift on the machine hits them all alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from benchmarks.load import LoadResult

ClientApi = Literal["chat", "messages", "responses"]
Target = Literal["same_dialect", "translated_stream"]

CLIENT_PATHS: dict[ClientApi, str] = {
    "chat": "/v1/chat/completions",
    "messages": "/v1/messages",
    "responses": "/v1/responses",
}
# The last event of a whole stream, per dialect the client reads.
END_MARKERS: dict[ClientApi, bytes] = {
    "chat": b"data: [DONE]",
    "messages": b"event: message_stop",
    "responses": b"event: response.completed",
}
STREAM_EVENTS = 50  # events per upstream SSE answer


@dataclass(frozen=True, slots=True)
class ApiCase:
    """A client API to a backend through brightstaff (providers in processes.BACKENDS: JSON on the upstream
    Envoy, streams on the fakes)."""

    key: str
    label: str
    client: ClientApi
    backend: str  # a processes.BACKENDS key; for a direct case, a direct listener's target (processes.Host)
    upstream: ClientApi  # the dialect the backend answers in
    stream: bool = False
    baseline: str | None = None  # the case this one is held against
    target: Target | None = None

    @property
    def translated(self) -> bool:
        return self.client != self.upstream


API_CASES: tuple[ApiCase, ...] = (
    ApiCase("chat-openai", "chat → OpenAI", "chat", "openai", "chat"),
    ApiCase(
        "messages-anthropic",
        "Messages → Anthropic",
        "messages",
        "anthropic",
        "messages",
        baseline="chat-openai",
        target="same_dialect",
    ),
    ApiCase(
        "responses-openai",
        "Responses → OpenAI Responses",
        "responses",
        "openai",
        "responses",
        baseline="chat-openai",
        target="same_dialect",
    ),
    ApiCase("chat-anthropic", "chat → Anthropic (translated)", "chat", "anthropic", "messages", baseline="chat-openai"),
    ApiCase(
        "messages-openai", "Messages → OpenAI chat (translated)", "messages", "openai", "chat", baseline="chat-openai"
    ),
    ApiCase(
        "responses-chat", "Responses → chat (translated)", "responses", "chat_only", "chat", baseline="chat-openai"
    ),
    ApiCase("chat-openai-sse", "chat → OpenAI, SSE", "chat", "openai_sse", "chat", stream=True),
    # A translated stream is held against the untranslated stream from the same fake: the fakes differ in
    # their own cost (the Anthropic fake takes ~4 ms longer than the OpenAI one to start a 50 KB answer).
    ApiCase(
        "messages-anthropic-sse", "Messages → Anthropic, SSE", "messages", "anthropic_sse", "messages", stream=True
    ),
    ApiCase(
        "chat-anthropic-sse",
        "chat → Anthropic, SSE (translated)",
        "chat",
        "anthropic_sse",
        "messages",
        stream=True,
        baseline="messages-anthropic-sse",
        target="translated_stream",
    ),
    ApiCase(
        "responses-openai-sse", "Responses → OpenAI Responses, SSE", "responses", "openai_sse", "responses", stream=True
    ),
    ApiCase(
        "responses-chat-sse",
        "Responses → chat, SSE (translated)",
        "responses",
        "chat_only_sse",
        "chat",
        stream=True,
        baseline="responses-openai-sse",
        target="translated_stream",
    ),
)
# The direct comparator of each (client API, stream): the request straight to the upstream Envoy (JSON) or
# to the fake that speaks that API (streams).
_NATIVE_FAKE: dict[ClientApi, str] = {"chat": "openai", "messages": "anthropic", "responses": "openai"}
_NAMES: dict[ClientApi, str] = {"chat": "chat", "messages": "Messages", "responses": "Responses"}
DIRECT_CASES: dict[tuple[ClientApi, bool], ApiCase] = {
    (client, stream): ApiCase(
        f"direct-{client}{'-sse' if stream else ''}",
        f"direct {_NAMES[client]}{', SSE' if stream else ''}",
        client,
        _NATIVE_FAKE[client] if stream else "upstream",
        client,
        stream=stream,
    )
    for client in _NATIVE_FAKE
    for stream in (False, True)
}
API_BY_KEY = {case.key: case for case in (*API_CASES, *DIRECT_CASES.values())}


def direct_case(case: ApiCase) -> ApiCase:
    """The direct comparator of an API case: its client request, no brightstaff, a backend of its own API."""
    return DIRECT_CASES[(case.client, case.stream)]


@dataclass
class Cell:
    path: str  # "direct" | "brightstaff" | "redis" | "api" | "api-direct"
    body: str  # "1k" | "50k"
    connections: int
    result: LoadResult
    cpu_us: dict[str, float]  # CPU per request by role: brightstaff, envoy (front + upstream), redis, fakes
    other_load: float  # cores used by processes outside this benchmark during the cell
    server: str = "native"  # brightstaff's ext_proc transport (the first --server for direct, redis, api)
    api: str | None = None  # the ApiCase key of an api cell
    events_per_stream: int = 0  # upstream SSE events per response (streamed api cells)
    ttfb: LoadResult | None = field(default=None)  # one connection, time to the first body byte (streams)

    @property
    def brightstaff_cpu_us(self) -> float:
        return self.cpu_us.get("brightstaff", 0.0)

    @property
    def envoy_cpu_us(self) -> float:
        return self.cpu_us.get("envoy", 0.0)

    @property
    def redis_cpu_us(self) -> float:
        return self.cpu_us.get("redis", 0.0)

    @property
    def cpu_us_per_event(self) -> float | None:
        return self.brightstaff_cpu_us / self.events_per_stream if self.events_per_stream else None

    @property
    def case(self) -> ApiCase | None:
        return API_BY_KEY[self.api] if self.api else None


@dataclass(frozen=True, slots=True)
class Plan:
    """One cell to run: which path, body, connections, transport, API case."""

    path: str
    body: str
    connections: int
    server: str
    api: ApiCase | None = None


def plan(
    bodies: list[str], connections: list[int], paths: list[str], servers: list[str], cases: tuple[ApiCase, ...]
) -> Iterator[Plan]:
    for body in bodies:
        for conns in connections:
            for path in paths:
                if path == "api":
                    runnable = [case for case in cases if conns == 1 or not case.stream]
                    for direct in dict.fromkeys(direct_case(case) for case in runnable):
                        yield Plan("api-direct", body, conns, servers[0], direct)
                    for case in runnable:
                        yield Plan(path, body, conns, servers[0], case)
                    continue
                for server in servers if path == "brightstaff" else servers[:1]:
                    yield Plan(path, body, conns, server)
