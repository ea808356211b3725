"""The research agent as a web service: the seed's "Advanced: Agent Server Demo", on Starlette and uvicorn.

`POST /v1/chat/completions` runs the three research tasks (brightstaff.demo.research) through the
chat completions API at `--llm-url` (the Envoy listener), forwarding the caller's `X-Model-Affinity` on
every call, and answers a chat completion: the last task's answer as the message, `routing_trace` with
every call of every task (model, affinity outcome, route, tool calls) and `session_id`, the affinity id.
The request's own messages are not read: the research is fixed, as in the seed. A task that fails (an
error from the listener, a refused connection) ends the research: 502 with the trace so far.
`GET /health` says where the calls go.

Run alone against a running stack (`./dev demo --keep-running`): `examples/start_agent_server.sh`, or
`python -m brightstaff.demo.agent_server --llm-url http://127.0.0.1:12000 --port 8000`.

Shutdown: SIGINT or SIGTERM stops taking requests; a research in flight stops after its current call and
answers 503 with its trace, within `--grace` seconds (after that it is abandoned, with 503 too), then the
process exits 0 without a traceback. With `--parent-pid` it also exits when that process is gone, so the
demo's agent server never outlives the demo.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, TypeVar

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from brightstaff.demo.agent import AFFINITY_HEADER, Turn
from brightstaff.demo.ports import AGENT_PORT
from brightstaff.demo.research import TaskRun, research, trace_json

log = logging.getLogger("brightstaff.agent_server")

DEFAULT_LLM_URL = "http://127.0.0.1:12000"  # the demo's Envoy listener (the seed's port)
READY = "research agent server ready on"  # the first line on stdout, once it accepts connections

T = TypeVar("T")


class Stopping(Exception):
    """The server is shutting down: the research stops between two calls."""


async def _in_daemon_thread(work: Callable[[], T]) -> T:
    """`work()` on a daemon thread: a blocking call left behind at shutdown never holds the process up."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():  # the waiter was cancelled
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]  # None only comes with an error

    def run() -> None:
        result: T | None = None
        error: BaseException | None = None
        try:
            result = work()
        except BaseException as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="research", daemon=True).start()
    return await future


def build_app(llm_url: str, *, stopping: threading.Event | None = None, timeout: float = 60.0) -> Starlette:
    """The agent service calling the chat completions API under `llm_url` (`/v1` is appended).

    `stopping`, once set, ends a research in flight after its current call (the server sets it on a
    shutdown signal). `timeout` bounds each call to the listener.
    """
    base_url = llm_url.rstrip("/") + "/v1"
    stop = stopping or threading.Event()

    async def chat(request: Request) -> JSONResponse:
        affinity_id = request.headers.get(AFFINITY_HEADER)
        log.info("research started: %s %r", AFFINITY_HEADER, affinity_id)
        tasks: list[TaskRun] = []

        def on_task(task: TaskRun) -> None:
            tasks.append(task)
            log.info("task %s: %s", task.name, ", ".join(task.run.models) or task.run.error)

        def on_turn(turn: Turn) -> None:
            if stop.is_set():
                raise Stopping

        try:
            await _in_daemon_thread(
                lambda: research(base_url, affinity_id=affinity_id, timeout=timeout, on_task=on_task, on_turn=on_turn)
            )
        except (Stopping, asyncio.CancelledError):
            # uvicorn cancels a request still running when its shutdown grace is over; answering here
            # ends it as cleanly as finishing would, and the caller learns why.
            log.info("research stopped after %d task(s): shutting down", len(tasks))
            return _error(503, "the agent server is shutting down", "shutting_down", tasks, affinity_id)
        failed = next((t for t in tasks if t.run.error is not None), None)
        if failed is not None:
            message = f"task {failed.name} failed: {failed.run.error}"
            return _error(502, message, "upstream_error", tasks, affinity_id)
        return JSONResponse(
            {
                "id": f"chatcmpl-research-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": tasks[0].model if tasks else None,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": tasks[-1].run.answer if tasks else ""},
                        "finish_reason": "stop",
                    }
                ],
                "routing_trace": trace_json(tasks),
                "session_id": affinity_id,
            }
        )

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "llm_url": base_url})

    return Starlette(
        routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/health", health, methods=["GET"])]
    )


def _error(status: int, message: str, code: str, tasks: Sequence[TaskRun], affinity_id: str | None) -> JSONResponse:
    body: dict[str, Any] = {
        "error": {"message": message, "type": "server_error", "code": code},
        "routing_trace": trace_json(tasks),
        "session_id": affinity_id,
    }
    return JSONResponse(body, status_code=status)


class _Server(uvicorn.Server):
    """uvicorn's server, telling the app when a shutdown signal came and watching the parent process."""

    def __init__(self, config: uvicorn.Config, stopping: threading.Event, parent_pid: int | None, llm_url: str) -> None:
        super().__init__(config)
        self._stopping = stopping
        self._parent_pid = parent_pid
        self._llm_url = llm_url

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._stopping.set()
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self._parent_pid is not None and os.getppid() != self._parent_pid:
            self._stopping.set()
            return True  # the parent is gone (we were re-parented): stop
        return await super().on_tick(counter)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and sockets:
            host, port = sockets[0].getsockname()[:2]
            host = f"[{host}]" if ":" in host else host
            print(f"{READY} http://{host}:{port} (calling {self._llm_url})", flush=True)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m brightstaff.demo.agent_server",
        description="The research agent service: POST /v1/chat/completions runs three research tasks through "
        "brightstaff, forwarding X-Model-Affinity on every call. Ctrl-C or SIGTERM stops it.",
    )
    parser.add_argument(
        "--llm-url",
        default=os.environ.get("BRIGHTSTAFF_URL", DEFAULT_LLM_URL),
        help=f"the Envoy listener, without /v1 (default: $BRIGHTSTAFF_URL or {DEFAULT_LLM_URL})",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("AGENT_PORT", AGENT_PORT)), help="0 picks a free port"
    )
    parser.add_argument("--grace", type=float, default=5.0, help="seconds a research in flight gets on shutdown")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds each call to the listener may take")
    parser.add_argument("--parent-pid", type=int, default=None, help="exit when this process is gone")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s agent-server %(levelname)s %(message)s")
    for chatty in ("httpx", "httpx2", "openai"):  # a line per call; the task lines say what matters
        logging.getLogger(chatty).setLevel(max(logging.WARNING, log.getEffectiveLevel()))
    stopping = threading.Event()
    app = build_app(args.llm_url, stopping=stopping, timeout=args.timeout)
    config = uvicorn.Config(
        app,
        log_level=args.log_level,
        access_log=args.log_level == "debug",
        timeout_graceful_shutdown=max(args.grace, 0.1),
        lifespan="off",
    )
    server = _Server(config, stopping, args.parent_pid, args.llm_url)
    # uvicorn hands a shutdown signal back to the handler it found once it has stopped: this one ends the
    # process with status 0 instead of a KeyboardInterrupt traceback (SIGINT) or a kill (SIGTERM). It
    # also covers a signal that comes before uvicorn installed its own.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda s, f: server.handle_exit(s, f))
    try:
        sock = socket.create_server((args.host, args.port), family=_family(args.host))
    except OSError as exc:
        print(f"agent server: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    with sock:
        server.run(sockets=[sock])
    return 0


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


if __name__ == "__main__":
    raise SystemExit(main())
