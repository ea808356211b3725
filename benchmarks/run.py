"""One benchmark run: start the processes, check each path answers as it must, measure every cell in order.

Before a cell: its request is sent once and must come back 2xx with `x-brightstaff-affinity: pinned` (the
API cells' affinity ids are pinned first, each to its backend, by a prompt the router sends there); the
machine is given up to `quiet_wait` seconds to settle; then a warm-up. During a cell the CPU of each
process is read from /proc. Streamed API cells get a further one-connection phase that times the first
body byte. Every phase is bounded in time (and the TTFB phase in count).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path

from benchmarks import load, processes
from benchmarks.bodies import BODIES, BODY_SIZES, chat_body
from benchmarks.cells import CLIENT_PATHS, END_MARKERS, STREAM_EVENTS, ApiCase, Cell, Plan, plan
from benchmarks.load import AFFINITY_HEADER, LoadResult, Request
from benchmarks.measure import CpuMeter, wait_for_quiet
from benchmarks.processes import BACKENDS, Processes
from brightstaff.demo.fake_backend import ANSWER_DELTAS_HEADER
from brightstaff.proxy.envoy_process import envoy_binary
from harness.stack import Stack

AFFINITY_ID = "bench-agent-run-0001"  # today's chat cells: pinned to the default provider
API_AFFINITY = {backend: f"bench-{backend.replace('_', '-')}-0001" for backend in BACKENDS}
TTFB_MAX_REQUESTS = 2000
ANTHROPIC_HEADERS = (("anthropic-version", "2023-06-01"),)


def machine_info() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    envoy_version = subprocess.run(
        [envoy_binary(), "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    envoy_version = envoy_version.split("version:", 1)[-1].strip().split("/")[1] if "/" in envoy_version else "?"
    import grpc
    import orjson
    from google.protobuf.internal import api_implementation

    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "envoy": envoy_version,
        "grpcio": grpc.__version__,
        "protobuf": f"{api_implementation.Type()}",
        "orjson": orjson.__version__,
        "kernel": platform.release(),
    }


class Runner:
    def __init__(self, args: argparse.Namespace, running: Processes, use_wrk: bool, workdir: Path) -> None:
        self.args = args
        self.running = running
        self.use_wrk = use_wrk
        self.workdir = workdir
        self.bodies_dir = workdir / "bodies"
        self.bodies_dir.mkdir(exist_ok=True)
        self.deltas: dict[str, int] = {}  # upstream dialect -> x-fake-answer-deltas for STREAM_EVENTS events

    def _body(self, name: str, api: str, stream: bool) -> tuple[bytes, Path]:
        data = BODIES[api](BODY_SIZES[name], stream)
        path = self.bodies_dir / f"{api}-{name}{'-sse' if stream else ''}.json"
        if not path.exists():
            path.write_bytes(data)
        return data, path

    def request(self, cell: Plan) -> Request:
        stack = self._stack(cell)
        if cell.path == "direct":
            data, path = self._body(cell.body, "chat", False)
            return Request(self.running.direct_ports["upstream"], CLIENT_PATHS["chat"], (), data, path, expect=None)
        if cell.api is None:
            data, path = self._body(cell.body, "chat", False)
            pinned = ((AFFINITY_HEADER, AFFINITY_ID),)
            return Request(stack.listener_port, CLIENT_PATHS["chat"], pinned, data, path, expect="pinned")
        case = cell.api
        data, path = self._body(cell.body, case.client, case.stream)
        headers = [(ANSWER_DELTAS_HEADER, str(self.answer_deltas(case)))] if case.stream else []
        if case.client == "messages":
            headers += list(ANTHROPIC_HEADERS)
        marker = END_MARKERS[case.client] if case.stream else None
        if cell.path == "api-direct":  # no brightstaff to set the credentials: the client's own
            headers += [("x-api-key", "sk-bench-direct")] if case.client == "messages" else []
            port = self.running.direct_ports[case.backend]
            return Request(port, CLIENT_PATHS[case.client], tuple(headers), data, path, None, marker)
        headers.append((AFFINITY_HEADER, API_AFFINITY[case.backend]))
        return Request(stack.listener_port, CLIENT_PATHS[case.client], tuple(headers), data, path, "pinned", marker)

    def _stack(self, cell: Plan) -> Stack:
        if cell.path == "redis":
            assert self.running.redis_stack is not None
            return self.running.redis_stack
        return self.running.stacks[cell.server]

    def answer_deltas(self, case: ApiCase) -> int:
        """How many text deltas make the backend's stream STREAM_EVENTS events long (asked of the fake once)."""
        if case.upstream not in self.deltas:
            fake = self.running.fakes["anthropic" if case.upstream == "messages" else "openai"]
            body, path = self._body("1k", case.upstream, True)
            headers = [("x-api-key", "sk-bench-probe"), *ANTHROPIC_HEADERS] if case.upstream == "messages" else []
            events: list[int] = []
            for deltas in (10, None):
                wanted = deltas if deltas is not None else STREAM_EVENTS - (events[0] - 10)
                probe = Request(
                    fake.port,
                    CLIENT_PATHS[case.upstream],
                    (*headers, (ANSWER_DELTAS_HEADER, str(wanted))),
                    body,
                    path,
                    None,
                    END_MARKERS[case.upstream],
                )
                result = load.run_ttfb(probe, 10, 1)
                if result.errors or result.requests != 1:
                    raise RuntimeError(f"the {fake.info['name']} fake did not stream: {result}")
                events.append(result.client_events)
            if events[1] != STREAM_EVENTS:
                raise RuntimeError(f"{case.upstream} stream of {events[1]} events, not {STREAM_EVENTS}")
            self.deltas[case.upstream] = STREAM_EVENTS - (events[0] - 10)
        return self.deltas[case.upstream]

    def pin_api_backends(self) -> None:
        """Pin each API affinity id to its backend's provider (routed by a prompt that matches its preference)."""
        stack = self.running.stacks[self.args.server[0]]
        for backend, spec in BACKENDS.items():
            if spec.host != "upstream" and not self.running.fakes:
                continue
            model = spec.model
            body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": spec.prompt}]}).encode()
            path = self.bodies_dir / f"pin-{backend}.json"
            path.write_bytes(body)
            headers = ((AFFINITY_HEADER, API_AFFINITY[backend]),)
            request = Request(stack.listener_port, CLIENT_PATHS["chat"], headers, body, path, None)
            seen = _one(request)
            if seen.get("x-brightstaff-provider") != model or seen.get("x-brightstaff-affinity") not in (
                "new",
                "pinned",
            ):
                raise RuntimeError(f"{API_AFFINITY[backend]} is not pinned to {model}: {seen}")
            print(f"pinned {API_AFFINITY[backend]} to {model}", flush=True)

    def measure(self, cell: Plan) -> Cell:
        request = self.request(cell)
        if request.expect is not None:
            seen = _one(request)
            if seen.get("x-brightstaff-affinity") != "pinned":
                raise RuntimeError(f"{cell}: not a pin hit: {seen}")
        if self.args.quiet_wait > 0:
            wait_for_quiet(self.args.quiet_wait)
        if self.args.warmup > 0:
            load.run_load(request, cell.connections, self.args.warmup, self.use_wrk, self.workdir)
        meter = CpuMeter(self.running.pids(self._stack(cell)))
        meter.start()
        result = load.run_load(request, cell.connections, self.args.duration, self.use_wrk, self.workdir)
        used = meter.stop()
        n = max(result.requests, 1)
        events = STREAM_EVENTS if cell.api is not None and cell.api.stream else 0
        measured = Cell(
            path=cell.path,
            body=cell.body,
            connections=cell.connections,
            result=result,
            cpu_us={role: seconds / n * 1e6 for role, seconds in used.seconds.items()},
            other_load=used.other_load,
            server=cell.server,
            api=cell.api.key if cell.api else None,
            events_per_stream=events,
        )
        if cell.api is not None and cell.api.stream and cell.connections == 1:
            measured.ttfb = load.run_ttfb(request, self.args.duration, TTFB_MAX_REQUESTS)
        return measured


def _one(request: Request) -> dict[str, str]:
    """Send `request` once (no load): the response's headers, after checking it came back whole and 2xx."""
    headers: dict[str, str] = {}
    import asyncio

    async def once() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", request.port)
        try:
            writer.write(request.wire())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            lines = head.decode("latin-1").split("\r\n")
            headers[":status"] = lines[0].split(" ", 2)[1]
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body, _ = await asyncio.wait_for(load._read_body(reader, headers, 0), 30)
            headers[":body"] = body[:300].decode(errors="replace")
        finally:
            writer.close()

    asyncio.run(once())
    if not headers[":status"].startswith("2"):
        raise RuntimeError(f"request to {request.path} failed: {headers}")
    return headers


def run(args: argparse.Namespace, use_wrk: bool) -> list[Cell]:
    workdir = Path(tempfile.mkdtemp(prefix="brightstaff-bench-"))
    cells: list[Cell] = []
    use_fakes = "api" in args.paths and any(case.stream for case in args.cases)  # JSON cells need no fake
    try:
        with processes.started(
            workdir, args.server, "redis" in args.paths, use_fakes, args.event_gap, args.brightstaff_log_level
        ) as running:
            for server, stack in running.stacks.items():
                assert stack.brightstaff is not None
                print(
                    f"pids ({server}): brightstaff {stack.brightstaff.pid}, front envoy {stack.envoy.pid}, "
                    f"upstream envoy {running.upstream.pid}; workdir {workdir}",
                    flush=True,
                )
            runner = Runner(args, running, use_wrk, workdir)
            first = chat_body(BODY_SIZES[args.bodies[0]])
            primed = [*running.stacks.items(), *([("redis", running.redis_stack)] if running.redis_stack else [])]
            for name, stack in primed:
                path = workdir / "bodies" / "prime.json"
                path.write_bytes(first)
                prime = Request(
                    stack.listener_port, CLIENT_PATHS["chat"], ((AFFINITY_HEADER, AFFINITY_ID),), first, path, None
                )
                print(f"priming request ({name}): x-brightstaff-affinity={_one(prime).get('x-brightstaff-affinity')}")
            if "api" in args.paths:
                runner.pin_api_backends()
            for cell in plan(args.bodies, args.connections, args.paths, args.server, args.cases):
                measured = runner.measure(cell)
                cells.append(measured)
                from benchmarks.report import cell_line

                print(cell_line(measured, cells), flush=True)
            counters = {
                k: v
                for envoy in running.all_fronts()
                for k, v in envoy.stats("ext_proc").items()
                if v and ("error" in k or "fail" in k or "timeout" in k)
            }
            print(f"envoy ext_proc error/failure/timeout counters: {counters or 'all 0'}", flush=True)
            args.ext_proc_errors = counters
    finally:
        if not args.keep_workdir:
            processes.remove_workdir(workdir)
        else:
            print(f"workdir kept: {workdir}")
    return cells


__all__ = ["LoadResult", "machine_info", "run"]
