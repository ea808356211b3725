"""Benchmark: what brightstaff's ext_proc costs on top of Envoy, Envoy direct vs Envoy + brightstaff.

One run, on loopback, starts:
- an *upstream* Envoy answering every request with a fixed chat.completion JSON (`direct_response`
  behind a buffer filter, so it reads the whole request body first, like a real provider). No Python
  sits in the upstream path, so the upstream is never the bottleneck;
- brightstaff's ext_proc server in its own process (`brightstaff serve CONFIG --grpc-port P
  --admin-port Q`), so its CPU is read from /proc/PID/stat (utime + stime) before and after each cell;
- a *front* Envoy running the bootstrap `brightstaff.proxy.bootstrap.render_envoy` renders for a config
  whose providers all point at the upstream, plus one extra listener ("direct") that routes straight
  to the same provider cluster. Both paths share one Envoy process, so they differ only by brightstaff.

`--server native,grpcio` measures the brightstaff path once per ext_proc transport (`brightstaff.transport`),
each its own `brightstaff serve` behind its own front Envoy, cell after cell in the same run; the first
server's front Envoy also carries the direct listener, and the redis path uses the first server.

A third path, "redis", is the same pin-hit path with the pins in Redis (`routing.session_cache.type:
redis`): a second brightstaff and front Envoy, and a redis-server on loopback (the `redis-server` binary,
installed by `./dev test`; without it the path is left out with a note). It reports what the Redis store
adds over the memory store, one `GETEX` round trip per request, and redis-server's CPU per request.

Every brightstaff request carries the same X-Model-Affinity id, pinned by a priming request: the cells
measure the PIN-HIT path. Each cell checks correctness: the non-2xx count must be 0 and every
brightstaff response must carry `x-brightstaff-affinity: pinned`.

Load generator: wrk (one thread, N keep-alive connections, a Lua script that counts statuses and
checks the affinity header). When wrk is missing the script installs it with `apt-get install -y wrk`
(as root, or through passwordless sudo); when that is impossible it falls back to a bounded asyncio
load generator in this process (its latencies include Python's own overhead: use it for smoke runs, not
for published numbers). `--loadgen python` forces the fallback.

Every cell is bounded by time (`--duration`) and every process started here is stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml

from brightstaff.config import load_config
from brightstaff.proxy.bootstrap import render_envoy
from brightstaff.proxy.envoy_process import EnvoyProcess, envoy_binary

AFFINITY_ID = "bench-agent-run-0001"
CHAT_PATH = "/v1/chat/completions"
BENCH_KEYS = {"OPENAI_API_KEY": "sk-bench-openai-0000", "ANTHROPIC_API_KEY": "sk-bench-anthropic-0000"}
_HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
_BODY_LIMIT = 16 * 1024 * 1024

# What the upstream answers: a realistic, small, non-streaming chat.completion.
COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench0001",
        "object": "chat.completion",
        "created": 1760000000,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "PostgreSQL fits: relational data, strong consistency."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 812, "completion_tokens": 11, "total_tokens": 823},
    },
    separators=(",", ":"),
)

# An agent conversation: a system prompt, then user / assistant / tool turns, repeated to the size wanted.
_SYSTEM = (
    "You are a senior backend engineer helping a team choose and operate a database. Answer precisely, "
    "cite trade-offs, and prefer boring technology unless the requirements demand otherwise."
)
_TURNS: tuple[dict[str, Any], ...] = (
    {
        "role": "user",
        "content": "We store orders, customers and invoices; about 40k writes per minute at peak, reads "
        "dominated by dashboards. Which database would you pick and why?",
    },
    {
        "role": "assistant",
        "content": "PostgreSQL: the data is relational, you need transactions across orders and invoices, "
        "and 40k writes per minute is well within a single primary with a replica for the dashboards.",
    },
    {
        "role": "user",
        "content": "Write the migration that adds an index on invoices(customer_id, issued_at) without "
        "locking the table for writes.",
    },
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_0001",
                "type": "function",
                "function": {"name": "run_sql", "arguments": '{"sql":"SELECT count(*) FROM invoices"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_0001", "content": '{"rows":[{"count":18234455}]}'},
    {
        "role": "assistant",
        "content": "With 18M rows use CREATE INDEX CONCURRENTLY invoices_customer_issued_idx ON invoices "
        "(customer_id, issued_at); it takes no write lock, but it cannot run inside a transaction block.",
    },
)


def chat_body(target_bytes: int) -> bytes:
    """A chat completion request of about `target_bytes` bytes (compact JSON, realistic messages array)."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": _SYSTEM}]
    document: dict[str, Any] = {"model": "gpt-4o-mini", "messages": messages, "temperature": 0.2, "stream": False}
    turn = 0
    while True:
        candidate = dict(_TURNS[turn % len(_TURNS)])
        candidate_body = json.dumps({**document, "messages": [*messages, candidate]}, separators=(",", ":"))
        if len(candidate_body) > target_bytes and turn > 0:
            break
        messages.append(candidate)
        turn += 1
    # Pad the last user question so the body lands on the target size exactly.
    body = json.dumps(document, separators=(",", ":"))
    padding = target_bytes - len(body) - len(',{"role":"user","content":""}')
    if padding > 0:
        messages.append({"role": "user", "content": ("Also consider the reporting replicas. " * 2000)[:padding]})
    return json.dumps(document, separators=(",", ":")).encode()


BODY_SIZES = {"1k": 1024, "50k": 50 * 1024}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------------------------
# The processes under test


def _listener(name: str, port: int, hcm: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "per_connection_buffer_limit_bytes": _BODY_LIMIT,
        "filter_chains": [
            {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}
        ],
    }


def upstream_bootstrap(port: int) -> dict[str, Any]:
    """An Envoy that reads the whole request (buffer filter), then answers a fixed chat.completion."""
    hcm = {
        "@type": _HCM,
        "stat_prefix": "upstream",
        "codec_type": "AUTO",
        "route_config": {
            "name": "upstream",
            "virtual_hosts": [
                {
                    "name": "fake_provider",
                    "domains": ["*"],
                    "routes": [
                        {
                            "match": {"prefix": "/"},
                            "direct_response": {"status": 200, "body": {"inline_string": COMPLETION}},
                            "response_headers_to_add": [
                                {
                                    "header": {"key": "content-type", "value": "application/json"},
                                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                                }
                            ],
                        }
                    ],
                }
            ],
        },
        "http_filters": [
            {
                "name": "envoy.filters.http.buffer",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
                    "max_request_bytes": _BODY_LIMIT,
                },
            },
            {"name": "envoy.filters.http.router", "typed_config": {"@type": _ROUTER}},
        ],
    }
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {"listeners": [_listener("upstream", port, hcm)]},
    }


def brightstaff_config(
    upstream_port: int,
    listener_port: int,
    grpc_port: int,
    admin_port: int,
    redis_url: str | None = None,
    transport: str = "native",
) -> dict[str, Any]:
    """A Plano-style config whose providers all live on the fake upstream (pins in Redis with `redis_url`)."""
    base_url = f"http://127.0.0.1:{upstream_port}/v1"
    routing: dict[str, Any] = {"session_ttl_seconds": 600, "session_max_entries": 10000}
    if redis_url is not None:
        routing = {"session_ttl_seconds": 600, "session_cache": {"type": "redis", "url": redis_url}}
    return {
        "version": "v0.3.0",
        "listeners": [{"type": "model", "name": "model_listener", "port": listener_port, "address": "127.0.0.1"}],
        "model_providers": [
            {"model": "openai/gpt-4o-mini", "access_key": "$OPENAI_API_KEY", "default": True, "base_url": base_url},
            {
                "model": "anthropic/claude-sonnet-4-20250514",
                "access_key": "$ANTHROPIC_API_KEY",
                "base_url": base_url,
                "routing_preferences": [
                    {
                        "name": "code_generation",
                        "description": "generating new code, writing functions, or creating boilerplate",
                    }
                ],
            },
        ],
        "routing": routing,
        "brightstaff": {
            "grpc_port": grpc_port,
            "admin_port": admin_port,
            "message_timeout_ms": 2000,
            "transport": transport,
        },
    }


def add_direct_listener(bootstrap: dict[str, Any], port: int, cluster: str) -> None:
    """Path (a): a listener on the same Envoy that routes straight to the provider cluster."""
    hcm = {
        "@type": _HCM,
        "stat_prefix": "direct",
        "codec_type": "AUTO",
        "route_config": {
            "name": "direct",
            "virtual_hosts": [
                {
                    "name": "direct",
                    "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "route": {"cluster": cluster, "timeout": "60s"}}],
                }
            ],
        },
        "http_filters": [
            {"name": "envoy.filters.http.router", "typed_config": {"@type": _ROUTER, "suppress_envoy_headers": True}}
        ],
    }
    bootstrap["static_resources"]["listeners"].append(_listener("direct", port, hcm))


def stop_child(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM a child this script started, then SIGKILL it if it has not exited within 15 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class BrightstaffProcess:
    """`brightstaff serve` as a child process, ready when its /readyz answers 200."""

    def __init__(self, config_path: Path, grpc_port: int, admin_port: int, log_path: Path, log_level: str) -> None:
        self.admin_port = admin_port
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "brightstaff",
                "--log-level",
                log_level,
                "serve",
                str(config_path),
                "--grpc-port",
                str(grpc_port),
                "--admin-port",
                str(admin_port),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **BENCH_KEYS},
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"brightstaff exited during start-up:\n{self.log_path.read_text(errors='replace')}")
            with contextlib.suppress(urllib.error.URLError, OSError):
                url = f"http://127.0.0.1:{self.admin_port}/readyz"
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            time.sleep(0.05)
        raise TimeoutError("brightstaff not ready")

    def stop(self) -> None:
        stop_child(self.process)
        self._log.close()


class RedisProcess:
    """redis-server on a loopback port, without persistence; ready when it answers PING."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        workdir.mkdir(parents=True, exist_ok=True)
        self._log: IO[bytes] = (workdir / "redis.log").open("wb")
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server; ./dev test installs it)")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("redis-server exited during start-up")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise TimeoutError("redis-server not ready")

    def stop(self) -> None:
        stop_child(self.process)
        self._log.close()


SERVERS = ("grpcio", "native")  # brightstaff.transport values


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # Fields 14 and 15 of stat(5); the slice above starts at field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used since boot (all but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_seconds() -> float:
    """CPU seconds of this process plus its reaped children (wrk)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


async def wait_for_quiet(limit: float) -> float:
    """Wait (at most `limit` seconds) until other work on the machine uses under 0.1 core; return that load.

    Other sessions on a shared machine disturb the cells; the cells report what they saw either way.
    """
    deadline = time.monotonic() + limit
    while True:
        busy = machine_busy_seconds()
        await asyncio.sleep(0.5)
        load = (machine_busy_seconds() - busy) / 0.5
        if load < 0.1 or time.monotonic() >= deadline:
            return load


# --------------------------------------------------------------------------------------------------
# Load generators


@dataclasses.dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    unpinned: int  # brightstaff responses without `x-brightstaff-affinity: pinned`

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


_WRK_SCRIPT = """\
-- Generated by benchmarks/extproc_overhead.py: POST one body, count statuses, check the affinity header.
wrk.method = "POST"
wrk.path = "{path}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Model-Affinity"] = "{affinity}"
local file = assert(io.open("{body_path}", "rb"))
wrk.body = file:read("*a")
file:close()
local expect = {expect}
local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok = 0
  non2xx = 0
  unpinned = 0
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else non2xx = non2xx + 1 end
  if expect and headers["x-brightstaff-affinity"] ~= expect then unpinned = unpinned + 1 end
end

function done(summary, latency, requests)
  local n, bad, unp = 0, 0, 0
  for _, thread in ipairs(threads) do
    n = n + thread:get("ok")
    bad = bad + thread:get("non2xx")
    unp = unp + thread:get("unpinned")
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT %.0f %.0f %.1f %.1f %.0f %.0f %.0f %.0f\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    n, bad, unp, e.connect + e.read + e.write + e.timeout))
end
"""


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def install_wrk() -> bool:
    """`apt-get install -y wrk`, as root or through passwordless sudo. True when wrk is there afterwards."""
    if wrk_available():
        return True
    if shutil.which("apt-get") is None:
        return False
    prefix: list[str] = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if prefix and shutil.which("sudo") is None:
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("wrk is missing: apt-get install -y wrk", flush=True)
    for command in (["apt-get", "install", "-y", "-q", "wrk"], ["apt-get", "update", "-q"]):
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run([*prefix, *command], env=env, capture_output=True, timeout=300, check=False)
        if wrk_available():
            return True
    # The package index may have been stale: one more install after the update above.
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        subprocess.run(
            [*prefix, "apt-get", "install", "-y", "-q", "wrk"], env=env, capture_output=True, timeout=300, check=False
        )
    return wrk_available()


def run_wrk(
    port: int, body_path: Path, connections: int, seconds: float, expect: str | None, workdir: Path
) -> LoadResult:
    script = workdir / f"wrk-{port}-{connections}-{body_path.stem}.lua"
    script.write_text(
        _WRK_SCRIPT.format(
            path=CHAT_PATH,
            affinity=AFFINITY_ID,
            body_path=body_path,
            expect=f'"{expect}"' if expect else "nil",
        )
    )
    command = [
        "wrk",
        "-t1",  # one thread drives 16 keep-alive connections easily and leaves the 2 cores to the servers
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",  # wrk takes whole seconds
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            requests, duration_us, p50_us, p99_us, _ok, non2xx, unpinned, errors = (float(x) for x in line.split()[1:])
            return LoadResult(
                requests=int(requests),
                seconds=duration_us / 1e6,
                p50_ms=p50_us / 1000,
                p99_ms=p99_us / 1000,
                non_2xx=int(non2xx),
                socket_errors=int(errors),
                unpinned=int(unpinned),
            )
    raise RuntimeError(f"wrk gave no result (rc {done.returncode}):\n{done.stdout}\n{done.stderr}")


async def _python_connection(
    port: int,
    request: bytes,
    deadline: float,
    max_requests: int,
    latencies: list[int],
    tally: dict[str, int],
    expect: str | None,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < deadline and len(latencies) < max_requests:
            started = time.perf_counter_ns()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if "content-length" not in headers:
                tally["socket_errors"] += 1  # Envoy always sends a length for these replies
                return
            await reader.readexactly(int(headers["content-length"]))
            latencies.append(time.perf_counter_ns() - started)
            if not 200 <= status < 300:
                tally["non_2xx"] += 1
            if expect is not None and headers.get("x-brightstaff-affinity") != expect:
                tally["unpinned"] += 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        tally["socket_errors"] += 1
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def run_python_load(port: int, body: bytes, connections: int, seconds: float, expect: str | None) -> LoadResult:
    """The fallback: keep-alive HTTP/1.1 clients on one asyncio loop, bounded by time and count."""
    request = (
        f"POST {CHAT_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"X-Model-Affinity: {AFFINITY_ID}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[int] = []
    tally = {"non_2xx": 0, "socket_errors": 0, "unpinned": 0}
    started = time.monotonic()
    deadline = started + seconds
    async with asyncio.timeout(seconds + 30):
        await asyncio.gather(
            *(
                _python_connection(port, request, deadline, 5_000_000, latencies, tally, expect)
                for _ in range(connections)
            )
        )
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] / 1e6 if latencies else 0.0

    return LoadResult(len(latencies), elapsed, pct(0.50), pct(0.99), **tally)


# --------------------------------------------------------------------------------------------------
# The run


@dataclasses.dataclass
class Cell:
    path: str  # "direct" | "brightstaff" | "redis" (brightstaff with the Redis pin store)
    body: str  # "1k" | "50k"
    connections: int
    result: LoadResult
    brightstaff_cpu_us: float  # per request
    envoy_cpu_us: float  # front + upstream Envoy, per request
    other_load: float  # cores used by processes outside this benchmark during the cell
    redis_cpu_us: float = 0.0  # redis-server, per request (redis path only)
    server: str = "native"  # brightstaff's ext_proc transport (the first --server for direct and redis)


@dataclasses.dataclass
class ServerStack:
    """One brightstaff (one ext_proc transport) behind its own front Envoy, on the memory pin store."""

    server: str
    listener_port: int
    grpc_port: int
    admin_port: int
    config_path: Path
    front: EnvoyProcess
    process: BrightstaffProcess | None = None


@dataclasses.dataclass(frozen=True)
class LoadTarget:
    """One cell's load: where, which body, how many connections, what each response must carry."""

    port: int
    body: bytes
    body_path: Path
    connections: int
    expect: str | None
    use_wrk: bool
    workdir: Path

    async def run(self, seconds: float) -> LoadResult:
        if self.use_wrk:
            return await asyncio.to_thread(
                run_wrk, self.port, self.body_path, self.connections, seconds, self.expect, self.workdir
            )
        return await run_python_load(self.port, self.body, self.connections, seconds, self.expect)


def prime(port: int, body: bytes) -> dict[str, str]:
    """One request through brightstaff: pins the affinity id (or finds the pin) and checks the reply."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{CHAT_PATH}",
        data=body,
        headers={"Content-Type": "application/json", "X-Model-Affinity": AFFINITY_ID},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            payload = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"priming request failed: {exc.code} {exc.read()[:300]!r}") from None
    if payload.get("object") != "chat.completion":
        raise RuntimeError(f"unexpected upstream reply: {payload!r}")
    return headers


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


def _cells(
    bodies: list[str], connections: list[int], paths: list[str], servers: list[str]
) -> Iterator[tuple[str, int, str, str]]:
    # Every path and server back to back for each (body, connections): drift on the machine hits them all.
    for body in bodies:
        for conns in connections:
            for path in paths:
                for server in servers if path == "brightstaff" else servers[:1]:
                    yield body, conns, path, server


async def run(args: argparse.Namespace) -> tuple[dict[str, str], list[Cell]]:
    use_wrk = args.loadgen == "wrk" or (args.loadgen == "auto" and install_wrk())
    if args.loadgen == "wrk" and not install_wrk():
        raise SystemExit("wrk is not installed and could not be installed (try --loadgen python)")
    loadgen = "wrk (1 thread)" if use_wrk else "python asyncio fallback"
    info = machine_info()
    print(
        f"machine: nproc={info['nproc']} cpu={info['cpu']!r} kernel={info['kernel']}\n"
        f"software: Python {info['python']}, Envoy {info['envoy']}, grpcio {info['grpcio']}, "
        f"protobuf {info['protobuf']}, orjson {info['orjson']}; load generator: {loadgen}; "
        f"brightstaff servers: {', '.join(args.server)}",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="brightstaff-bench-"))
    bodies_dir = workdir / "bodies"
    bodies_dir.mkdir()
    body_bytes = {name: chat_body(BODY_SIZES[name]) for name in args.bodies}
    body_paths = {}
    for name, data in body_bytes.items():
        body_paths[name] = bodies_dir / f"chat-{name}.json"
        body_paths[name].write_bytes(data)

    upstream_port, direct_port = free_port(), free_port()
    stacks: dict[str, ServerStack] = {}
    for server in args.server:
        listener_port, grpc_port, admin_port = free_port(), free_port(), free_port()
        config_path = workdir / f"config.{server}.yaml"
        config_path.write_text(
            yaml.safe_dump(
                brightstaff_config(upstream_port, listener_port, grpc_port, admin_port, transport=server),
                sort_keys=False,
            )
        )
        config = load_config(config_path, env=BENCH_KEYS)
        bootstrap = render_envoy(config, extproc_port=grpc_port, listener_port=listener_port, admin_port=0)
        if not stacks:
            add_direct_listener(bootstrap, direct_port, config.default_provider.cluster)
        front_envoy = EnvoyProcess(bootstrap, workdir=workdir / f"front-envoy-{server}")
        stacks[server] = ServerStack(server, listener_port, grpc_port, admin_port, config_path, front_envoy)

    upstream = EnvoyProcess(upstream_bootstrap(upstream_port), workdir=workdir / "upstream-envoy")

    # The redis path: its own brightstaff (pins in redis-server) behind its own front Envoy.
    use_redis = "redis" in args.paths
    redis_listener_port, redis_grpc_port, redis_admin_port = free_port(), free_port(), free_port()
    redis = RedisProcess(free_port(), workdir / "redis") if use_redis else None
    redis_config_path = workdir / "config.redis.yaml"
    front_redis: EnvoyProcess | None = None
    brightstaff_redis: BrightstaffProcess | None = None
    if redis is not None:
        redis_config_path.write_text(
            yaml.safe_dump(
                brightstaff_config(
                    upstream_port,
                    redis_listener_port,
                    redis_grpc_port,
                    redis_admin_port,
                    redis.url,
                    transport=args.server[0],
                ),
                sort_keys=False,
            )
        )
        front_redis = EnvoyProcess(
            render_envoy(
                load_config(redis_config_path, env=BENCH_KEYS),
                extproc_port=redis_grpc_port,
                listener_port=redis_listener_port,
                admin_port=0,
            ),
            workdir=workdir / "front-envoy-redis",
        )
    cells: list[Cell] = []
    try:
        upstream.start()
        await upstream.wait_ready()
        assert upstream.pid is not None
        for stack in stacks.values():
            stack.process = BrightstaffProcess(
                stack.config_path,
                stack.grpc_port,
                stack.admin_port,
                workdir / f"brightstaff.{stack.server}.log",
                args.brightstaff_log_level,
            )
            stack.front.start()
            await stack.front.wait_ready()
            await asyncio.to_thread(stack.process.wait_ready)
            print(
                f"pids ({stack.server}): brightstaff {stack.process.pid}, front envoy {stack.front.pid}, "
                f"upstream envoy {upstream.pid}; workdir {workdir}",
                flush=True,
            )
        if redis is not None and front_redis is not None:
            await asyncio.to_thread(redis.wait_ready)
            brightstaff_redis = BrightstaffProcess(
                redis_config_path,
                redis_grpc_port,
                redis_admin_port,
                workdir / "brightstaff-redis.log",
                args.brightstaff_log_level,
            )
            front_redis.start()
            await front_redis.wait_ready()
            await asyncio.to_thread(brightstaff_redis.wait_ready)
            print(
                f"pids (redis path): brightstaff {brightstaff_redis.pid}, front envoy {front_redis.pid}, "
                f"redis-server {redis.pid}",
                flush=True,
            )
        for stack in stacks.values():
            primed = prime(stack.listener_port, body_bytes[args.bodies[0]])
            affinity = primed.get("x-brightstaff-affinity")
            print(f"priming request ({stack.server}): x-brightstaff-affinity={affinity}", flush=True)
        if brightstaff_redis is not None:
            primed = prime(redis_listener_port, body_bytes[args.bodies[0]])
            affinity = primed.get("x-brightstaff-affinity")
            print(f"priming request (redis): x-brightstaff-affinity={affinity}", flush=True)

        for body_name, conns, path, server in _cells(args.bodies, args.connections, args.paths, args.server):
            stack = stacks[server]
            port = {"direct": direct_port, "brightstaff": stack.listener_port, "redis": redis_listener_port}[path]
            expect = None if path == "direct" else "pinned"
            if expect is not None:
                headers = prime(port, body_bytes[body_name])
                if headers.get("x-brightstaff-affinity") != "pinned":
                    raise RuntimeError(f"the affinity id is not pinned: {headers}")
            target = LoadTarget(port, body_bytes[body_name], body_paths[body_name], conns, expect, use_wrk, workdir)
            if args.quiet_wait > 0:
                await wait_for_quiet(args.quiet_wait)
            if args.warmup > 0:
                await target.run(args.warmup)
            if path == "redis":
                assert brightstaff_redis is not None
                assert front_redis is not None
                assert front_redis.pid is not None
                assert redis is not None
                pids = [brightstaff_redis.pid, front_redis.pid, upstream.pid, redis.pid]
            else:
                assert stack.process is not None
                assert stack.front.pid is not None
                pids = [stack.process.pid, stack.front.pid, upstream.pid]
            before = [cpu_seconds(pid) for pid in pids]
            busy_before, own_before, started = machine_busy_seconds(), own_seconds(), time.monotonic()
            result = await target.run(args.duration)
            after = [cpu_seconds(pid) for pid in pids]
            busy = machine_busy_seconds() - busy_before
            ours = sum(after) - sum(before) + own_seconds() - own_before
            n = max(result.requests, 1)
            cell = Cell(
                path=path,
                body=body_name,
                connections=conns,
                result=result,
                brightstaff_cpu_us=(after[0] - before[0]) / n * 1e6,
                envoy_cpu_us=(after[1] - before[1] + after[2] - before[2]) / n * 1e6,
                other_load=max(0.0, busy - ours) / (time.monotonic() - started),
                redis_cpu_us=(after[3] - before[3]) / n * 1e6 if len(pids) > 3 else 0.0,
                server=server,
            )
            cells.append(cell)
            print(_cell_line(cell, cells), flush=True)
        ext_proc_stats = {
            k: v
            for envoy in (*(stack.front for stack in stacks.values()), front_redis)
            if envoy is not None
            for k, v in envoy.stats("ext_proc").items()
            if v and ("error" in k or "fail" in k or "timeout" in k)
        }
        print(f"envoy ext_proc error/failure/timeout counters: {ext_proc_stats or 'all 0'}", flush=True)
    finally:
        for stack in stacks.values():
            if stack.process is not None:
                stack.process.stop()
        if brightstaff_redis is not None:
            brightstaff_redis.stop()
        for stack in stacks.values():
            await stack.front.stop()
        if front_redis is not None:
            await front_redis.stop()
        await upstream.stop()
        if redis is not None:
            redis.stop()
        if not args.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    _print_table(cells, info, loadgen, args)
    return info, cells


def _direct_of(cell: Cell, cells: list[Cell]) -> Cell | None:
    return next(
        (c for c in cells if c.path == "direct" and c.body == cell.body and c.connections == cell.connections), None
    )


def _memory_of(cell: Cell, cells: list[Cell]) -> Cell | None:
    """The memory-store cell a redis cell is compared with (same body, connections and server)."""
    return next(
        (
            c
            for c in cells
            if c.path == "brightstaff"
            and c.body == cell.body
            and c.connections == cell.connections
            and c.server == cell.server
        ),
        None,
    )


def _cell_line(cell: Cell, cells: list[Cell]) -> str:
    r = cell.result
    label = f"{cell.path}[{cell.server}]" if cell.path == "brightstaff" else cell.path
    line = (
        f"{label:<19} body={cell.body:<3} conns={cell.connections:<2}"
        f"  p50 {r.p50_ms:6.3f} ms  p99 {r.p99_ms:6.3f} ms  {r.rps:8.0f} req/s  ({r.requests} req)"
        f"  non-2xx {r.non_2xx}  socket errors {r.socket_errors}"
    )
    if cell.path == "brightstaff":
        direct = _direct_of(cell, cells)
        if direct is not None and direct.result.rps:
            line += f"  x{r.rps / direct.result.rps:.2f} of direct  +{r.p50_ms - direct.result.p50_ms:.3f} ms p50"
        line += f"  not pinned {r.unpinned}  brightstaff CPU {cell.brightstaff_cpu_us:.0f} µs/req"
    if cell.path == "redis":
        memory = _memory_of(cell, cells)
        if memory is not None:
            line += f"  {r.p50_ms - memory.result.p50_ms:+.3f} ms p50 over the memory store"
        line += f"  not pinned {r.unpinned}  brightstaff CPU {cell.brightstaff_cpu_us:.0f} µs/req"
        line += f"  redis-server CPU {cell.redis_cpu_us:.0f} µs/req"
    line += f"  envoy CPU {cell.envoy_cpu_us:.0f} µs/req  other load {cell.other_load:.2f} cores"
    return line


def _print_table(cells: list[Cell], info: dict[str, str], loadgen: str, args: argparse.Namespace) -> None:
    command = " ".join([".venv/bin/python", "benchmarks/extproc_overhead.py", *sys.argv[1:]])
    print()
    print(f"`{command}`  ")
    print(
        f"{info['nproc']} cores ({info['cpu']}), Python {info['python']}, Envoy {info['envoy']}, "
        f"grpcio {info['grpcio']}, protobuf {info['protobuf']}; load: {loadgen}, "
        f"{args.duration:g} s per cell after {args.warmup:g} s warm-up; PIN-HIT path.\n"
    )
    for server in args.server:
        print(f"brightstaff server: {server} (brightstaff.transport: {server})\n")
        _print_server_table([c for c in cells if c.path != "brightstaff" or c.server == server])
    if len(args.server) > 1:
        _print_side_by_side(cells, args.server)
    _print_store_table(cells)
    worst = max((c.other_load for c in cells), default=0.0)
    print(f"Other processes on the machine used up to {worst:.2f} cores during the cells (0 = undisturbed).\n")
    _print_targets(cells)


def _print_side_by_side(cells: list[Cell], servers: list[str]) -> None:
    """The brightstaff path per transport, one row per (body, connections)."""
    print("Transports side by side (brightstaff path, same run, cells back to back).\n")
    names = " | ".join(f"{s} req/s | {s} p50 / p99 ms | {s} CPU µs/req" for s in servers)
    print(f"| body | conns | direct req/s | {names} |")
    print("|---|---|---|" + "---|" * (3 * len(servers)))
    keys = dict.fromkeys((c.body, c.connections) for c in cells if c.path == "brightstaff")
    for body, conns in keys:
        row = {c.server: c for c in cells if c.path == "brightstaff" and c.body == body and c.connections == conns}
        direct = next((c for c in cells if c.path == "direct" and c.body == body and c.connections == conns), None)
        parts = []
        for server in servers:
            cell = row.get(server)
            if cell is None:
                parts.append("- | - | -")
                continue
            r = cell.result
            parts.append(f"{r.rps:,.0f} | {r.p50_ms:.2f} / {r.p99_ms:.2f} | {cell.brightstaff_cpu_us:.0f}")
        direct_rps = f"{direct.result.rps:,.0f}" if direct is not None else "-"
        print(f"| {body.upper().replace('K', ' KB')} | {conns} | {direct_rps} | {' | '.join(parts)} |")
    print()


def _print_server_table(cells: list[Cell]) -> None:
    print(
        "| body | conns | direct p50 / p99 ms | direct req/s | brightstaff p50 / p99 ms | brightstaff req/s "
        "| req/s vs direct | added p50 ms | brightstaff CPU µs/req | non-2xx | not pinned |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for cell in cells:
        if cell.path != "brightstaff":
            continue
        r = cell.result
        direct = _direct_of(cell, cells)
        if direct is None:
            d = "-"
            d_rps = "-"
            ratio = "-"
            added = "-"
            non_2xx = r.non_2xx + r.socket_errors
        else:
            dr = direct.result
            d = f"{dr.p50_ms:.2f} / {dr.p99_ms:.2f}"
            d_rps = f"{dr.rps:,.0f}"
            ratio = f"{r.rps / dr.rps:.2f}" if dr.rps else "-"
            added = f"+{r.p50_ms - dr.p50_ms:.2f}"
            non_2xx = r.non_2xx + r.socket_errors + dr.non_2xx + dr.socket_errors
        print(
            f"| {cell.body.upper().replace('K', ' KB')} | {cell.connections} | {d} | {d_rps} "
            f"| {r.p50_ms:.2f} / {r.p99_ms:.2f} | {r.rps:,.0f} | {ratio} | {added} "
            f"| {cell.brightstaff_cpu_us:.0f} | {non_2xx} | {r.unpinned} |"
        )
    print()


def _print_store_table(cells: list[Cell]) -> None:
    """The same pin-hit path with the memory store and with Redis: what one GETEX round trip adds."""
    rows = [(c, _memory_of(c, cells)) for c in cells if c.path == "redis"]
    if not rows:
        return
    print("Pin store: memory (in process) vs Redis (redis-server on loopback, one GETEX per pin hit).\n")
    print(
        "| body / conns | memory p50 / p99 ms | redis p50 / p99 ms | added p50 ms | memory req/s | redis req/s "
        "| brightstaff CPU µs/req memory / redis | redis-server CPU µs/req | non-2xx | not pinned |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for cell, memory in rows:
        r = cell.result
        m = memory.result if memory is not None else None
        print(
            f"| {cell.body.upper().replace('K', ' KB')} / {cell.connections} "
            f"| {f'{m.p50_ms:.2f} / {m.p99_ms:.2f}' if m else '-'} | {r.p50_ms:.2f} / {r.p99_ms:.2f} "
            f"| {f'{r.p50_ms - m.p50_ms:+.2f}' if m else '-'} | {f'{m.rps:,.0f}' if m else '-'} | {r.rps:,.0f} "
            f"| {f'{memory.brightstaff_cpu_us:.0f}' if memory else '-'} / {cell.brightstaff_cpu_us:.0f} "
            f"| {cell.redis_cpu_us:.0f} | {r.non_2xx + r.socket_errors} | {r.unpinned} |"
        )
    print()


# The targets from the performance issue: added serial p50 per body size, and throughput at 16 connections.
_P50_TARGET_MS = {"1k": 0.6, "50k": 0.9}
_RPS_TARGET = 1800
# The Redis issue: the Redis store adds at most one loopback round trip to a pin hit.
_REDIS_ADDED_P50_TARGET_MS = 0.3


def _print_targets(cells: list[Cell]) -> None:
    for cell in cells:
        memory = _memory_of(cell, cells)
        if cell.path == "redis" and cell.connections == 1 and memory is not None:
            added = cell.result.p50_ms - memory.result.p50_ms
            verdict = "met" if added <= _REDIS_ADDED_P50_TARGET_MS else "MISSED"
            print(
                f"target serial added p50 of the Redis store {cell.body}: {added:.3f} ms "
                f"<= {_REDIS_ADDED_P50_TARGET_MS} ms: {verdict}"
            )
        if cell.path != "brightstaff":
            continue
        direct = _direct_of(cell, cells)
        if cell.connections == 1 and direct is not None and cell.body in _P50_TARGET_MS:
            added = cell.result.p50_ms - direct.result.p50_ms
            target = _P50_TARGET_MS[cell.body]
            verdict = "met" if added <= target else "MISSED"
            print(f"target serial added p50 {cell.body} ({cell.server}): {added:.3f} ms <= {target} ms: {verdict}")
        if cell.connections == 16:
            verdict = "met" if cell.result.rps >= _RPS_TARGET else "MISSED"
            print(
                f"target 16 connections {cell.body} ({cell.server}): {cell.result.rps:,.0f} req/s "
                f">= {_RPS_TARGET:,}: {verdict}"
            )


def _csv(kind: type, choices: tuple[str, ...] | None = None) -> Any:
    def parse(text: str) -> list[Any]:
        values = [kind(part.strip()) for part in text.split(",") if part.strip()]
        if choices is not None:
            bad = [v for v in values if v not in choices]
            if bad:
                raise argparse.ArgumentTypeError(f"unknown {bad}; choose from {', '.join(choices)}")
        if not values:
            raise argparse.ArgumentTypeError("empty list")
        return values

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="extproc_overhead.py",
        description="Envoy direct vs Envoy + brightstaff (ext_proc, pin-hit path) on loopback: p50/p99 latency, "
        "throughput, added latency and brightstaff's CPU per request, for each body size and connection count.",
        epilog="example: .venv/bin/python benchmarks/extproc_overhead.py            (full run, ~2 minutes)\n"
        "         .venv/bin/python benchmarks/extproc_overhead.py --quick --bodies 1k   (smoke run)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--duration", type=float, default=8.0, help="seconds measured per cell (default 8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each cell (default 2)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1 s per cell, no warm-up or quiet wait (numbers indicative only)",
    )
    parser.add_argument(
        "--bodies", type=_csv(str, tuple(BODY_SIZES)), default=list(BODY_SIZES), help="body sizes (default 1k,50k)"
    )
    parser.add_argument("--connections", type=_csv(int), default=[1, 16], help="connection counts (default 1,16)")
    parser.add_argument(
        "--paths",
        type=_csv(str, ("direct", "brightstaff", "redis")),
        default=None,
        help="paths to measure: direct, brightstaff (memory pin store), redis (Redis pin store); "
        "default all three, redis only when redis-server is installed",
    )
    parser.add_argument(
        "--loadgen",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="auto: wrk, installed with apt-get if missing, else the Python fallback (default auto)",
    )
    parser.add_argument(
        "--brightstaff-log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="brightstaff's --log-level; info (the default) logs one line per decision, as in production",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=15.0,
        help="before each cell, wait up to this many seconds for other work on the machine to settle (default 15)",
    )
    parser.add_argument(
        "--server",
        type=_csv(str, SERVERS),
        default=["native"],
        help="brightstaff ext_proc transports to measure, each its own `brightstaff serve` with "
        "brightstaff.transport set: native (the default transport), grpcio; e.g. native,grpcio",
    )
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("--keep-workdir", action="store_true", help="keep configs and logs (printed path)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.quiet_wait = 1.0, 0.0, 0.0
    if args.duration <= 0 or args.duration > 600:
        raise SystemExit("--duration must be in (0, 600] seconds")
    if args.paths is None:
        args.paths = ["direct", "brightstaff"]
        if shutil.which("redis-server"):
            args.paths.append("redis")
        else:
            print("note: redis-server is not installed: the Redis pin store path is left out", flush=True)
    info, cells = asyncio.run(run(args))
    if args.json:
        document = {
            "argv": sys.argv,
            "machine": info,
            "cells": [{**dataclasses.asdict(c), "rps": c.result.rps} for c in cells],
        }
        Path(args.json).write_text(json.dumps(document, indent=2))
    errors = sum(c.result.non_2xx + c.result.socket_errors + c.result.unpinned for c in cells)
    if errors:
        print(f"FAILED: {errors} non-2xx, socket errors or unpinned responses", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
