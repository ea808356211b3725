"""What every fake provider shares: its records of what arrived, failures on demand, paced streams, the control
endpoint, and running as a process with a ready file.

A fake (fake_provider.py for the OpenAI APIs, fake_anthropic.py for Anthropic Messages) subclasses
`FakeBackend` and answers `handle` and `refusal` in its own dialect. What this module guarantees:
- Every request that reaches `record` is kept (method, path, query, headers, raw and parsed body) in
  arrival order, and `GET`/`DELETE {CONTROL_PATH}` list or clear the records, for a test that runs the
  fake as a process.
- Failures on demand: the `x-fake-fail` request header, or the `fail_status` attribute, names a status
  to answer with, "close" (hang up without an answer), or "midstream" (a streamed answer breaks off
  after half its events with the dialect's error event; a non-streamed one is answered as usual);
  `failure()` reads which.
- `paced` sends stream events one by one, `chunk_delay` apart (read per event, so a test may change it
  mid-stream).
- The `x-fake-answer-deltas: N` request header makes a text answer one that streams in exactly N deltas
  (`sized`; benchmarks size their streams with it). `keep_received` bounds the records to the newest N
  (a long benchmark run); None keeps them all.
- `serve_as_process` runs a started fake until SIGTERM/SIGINT, after writing the ready file (whole, by
  rename) and then printing its ready line.
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
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from brightstaff.demo.http_server import HttpServer, Reply, Request, Response
from brightstaff.demo.scripted_model import Plan, with_answer_deltas

CONTROL_PATH = "/_fake/received"  # outside any prefix: lets a test read a subprocess's records
FAIL_HEADER = "x-fake-fail"
ANSWER_DELTAS_HEADER = "x-fake-answer-deltas"
NAME_HEADER = "x-fake-provider"
HANG_UP = "close"
MIDSTREAM = "midstream"

# The models each vendor's fakes serve by default: listed by GET .../models, and the only ones the
# Anthropic fake accepts (the OpenAI fake echoes any model, as OpenAI-compatible servers often do).
DEFAULT_MODELS: dict[str, tuple[str, ...]] = {
    "openai": ("gpt-4o-mini", "gpt-4o"),
    "anthropic": ("claude-sonnet-4-20250514",),
}


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
    parse_error: str | None = None  # why a non-empty body did not parse

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


@dataclass(frozen=True, slots=True)
class Failure:
    """A failure asked for: a status to answer with, a hang-up, or a stream that breaks off."""

    status: int | None = None
    hang_up: bool = False
    midstream: bool = False


@dataclass(eq=False)
class FakeBackend:
    """A running fake. `chunk_delay`, `fail_status` and `api_key` may be changed while it runs."""

    name: str
    host: str = "127.0.0.1"
    port: int = 0
    path_prefix: str = "/v1"
    chunk_delay: float = 0.0
    fail_status: int | str | None = None  # like the x-fake-fail header: a status, "close" or "midstream"
    api_key: str | None = None
    models: tuple[str, ...] = ()
    keep_received: int | None = None
    received: list[ReceivedRequest] = field(default_factory=list)
    _server: HttpServer | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path_prefix}"

    @property
    def served_models(self) -> tuple[str, ...]:
        return self.models or DEFAULT_MODELS.get(self.name, ("fake-model",))

    def requests_to(self, path: str) -> list[ReceivedRequest]:
        """The records of requests to `path` (below the prefix), in arrival order."""
        return [r for r in self.received if r.path == f"{self.path_prefix}{path}"]

    async def start(self) -> Self:
        """Listen on host:port (port 0 picks a free one; read it back from `.port`)."""
        if self.path_prefix and not self.path_prefix.startswith("/"):
            raise ValueError(f"path_prefix must start with '/', got {self.path_prefix!r}")
        self.path_prefix = self.path_prefix.rstrip("/")
        server = HttpServer(self._dispatch, self.refusal)
        self._server = await server.start(self.host, self.port)
        self.port = server.port
        return self

    async def close(self) -> None:
        """Stop listening and drop every open connection (also those mid-stream)."""
        if self._server is not None:
            await self._server.close()
        self._server = None

    # What a fake answers in its own dialect.

    async def handle(self, request: Request, record: ReceivedRequest) -> Reply:
        raise NotImplementedError

    def refusal(self, status: int, message: str) -> Response:
        """The answer to a request the HTTP server refused (malformed, too large), in the fake's dialect."""
        raise NotImplementedError

    # Shared machinery.

    def json_reply(self, status: int, value: object, headers: Sequence[tuple[str, str]] = ()) -> Response:
        body = json.dumps(value).encode()
        return Response(status, [("content-type", "application/json"), (NAME_HEADER, self.name), *headers], body)

    def failure(self, record: ReceivedRequest) -> Failure | None:
        """The failure this request asks for (x-fake-fail header, else `fail_status`), if any."""
        wanted = record.headers.get(FAIL_HEADER) or (str(self.fail_status) if self.fail_status else None)
        if wanted is None:
            return None
        if wanted == HANG_UP:
            return Failure(hang_up=True)
        if wanted == MIDSTREAM:
            return Failure(midstream=True)
        return Failure(status=int(wanted) if wanted.isdigit() and 400 <= int(wanted) <= 599 else 500)

    def sized(self, plan: Plan, record: ReceivedRequest) -> Plan:
        """The plan with the answer length the request asks for (`x-fake-answer-deltas`), if it asks."""
        wanted = record.headers.get(ANSWER_DELTAS_HEADER, "")
        return with_answer_deltas(plan, int(wanted)) if wanted.isdigit() else plan

    async def paced(self, events: Sequence[bytes]) -> AsyncIterator[bytes]:
        """The SSE events one by one, `chunk_delay` apart (read per event: a test may change it mid-stream)."""
        for i, event in enumerate(events):
            if i and self.chunk_delay > 0:
                await asyncio.sleep(self.chunk_delay)
            yield event

    async def _dispatch(self, request: Request) -> Reply:
        if request.path == CONTROL_PATH:
            return self._control(request)
        return await self.handle(request, self._record(request))

    def _record(self, request: Request) -> ReceivedRequest:
        document: Any = None
        parse_error: str | None = None
        if request.body:
            try:
                document = json.loads(request.body)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                parse_error = str(exc)
        record = ReceivedRequest(
            request.method,
            request.path,
            request.query,
            request.header_map(),
            request.body,
            document,
            time.time(),
            parse_error,
        )
        self.received.append(record)
        if self.keep_received is not None and len(self.received) > self.keep_received:
            del self.received[: len(self.received) - self.keep_received]
        return record

    def _control(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.received.clear()
            return self.json_reply(200, {"cleared": True})
        if request.method == "GET":
            return self.json_reply(200, [r.to_json() for r in self.received])
        return self.refusal(405, "Use GET or DELETE.")


def sse_event(data: object, event: str | None = None) -> bytes:
    """One server-sent event: an `event:` line when named, then the JSON data line, then the blank line."""
    head = f"event: {event}\n" if event is not None else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


SSE_HEADERS = (("content-type", "text/event-stream; charset=utf-8"), ("cache-control", "no-cache"))

# --------------------------------------------------------------------------------------------------
# As a process


def process_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments every fake takes as a process (besides its own)."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between streamed events")
    parser.add_argument("--path-prefix", default="/v1")
    parser.add_argument("--ready-file", type=Path, default=None, help="write {name, host, port, base_url} here")
    parser.add_argument("--keep-received", type=int, default=None, help="keep only the newest N request records")


async def _serve(fake: FakeBackend, ready_file: Path | None) -> None:
    await fake.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows loops
            loop.add_signal_handler(sig, stop.set)
    try:
        if ready_file is not None:
            ready = {"name": fake.name, "host": fake.host, "port": fake.port, "pid": os.getpid()}
            ready["base_url"] = fake.base_url
            # Written then renamed, so a poller never reads half a file.
            partial = ready_file.with_name(ready_file.name + ".partial")
            partial.write_text(json.dumps(ready), encoding="utf-8")
            partial.replace(ready_file)
        # Printed after the ready file exists, so a reader of either can rely on both.
        print(f"fake provider {fake.name} ready on port {fake.port}: {fake.base_url}", flush=True)
        await stop.wait()
    finally:
        await fake.close()


def serve_as_process(fake: FakeBackend, ready_file: Path | None) -> int:
    """Run `fake` until SIGTERM or SIGINT; 1 when it cannot listen."""
    try:
        asyncio.run(_serve(fake, ready_file))
    except OSError as exc:
        print(f"fake provider {fake.name}: cannot listen on {fake.host}:{fake.port}: {exc}", file=sys.stderr)
        return 1
    return 0
