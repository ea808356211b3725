"""The processes under test, started through the shared harness (harness/): an upstream Envoy, the fake
providers, redis-server, and one Envoy + brightstaff stack per ext_proc transport (plus one on the Redis pin
store), all on loopback, all stopped by PID when the `Processes` block ends.

- The *upstream* Envoy answers every request with a fixed answer in the dialect of its path (a Messages
  message under /v1/messages, a Response under /v1/responses, else a chat.completion; `direct_response`
  behind a buffer filter, so it reads the whole request first, like a real provider): no Python in the
  path of the chat cells and of every JSON API cell, so the upstream is never their bottleneck and cells
  of different APIs run at comparable rates.
- The *fakes* (brightstaff/demo/fake_provider.py and fake_anthropic.py, each its own process so its CPU is
  its own) serve the streamed API cells: Anthropic Messages, OpenAI Responses, and chat completions for a
  backend without the Responses API. Their events are `event_gap` seconds apart, so each event reaches
  Envoy, and brightstaff, as its own chunk, as a model's tokens do.
- Each *stack* is `brightstaff serve` behind a front Envoy rendered by `render_envoy` for a config whose
  providers live on the upstream and the fakes (`BACKENDS`); the first also carries "direct" listeners
  straight to the upstream's and the fakes' clusters, so direct and brightstaff paths share one Envoy and
  differ only by brightstaff.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from benchmarks.bodies import ANSWERS
from brightstaff.config.providers import cluster_name
from brightstaff.proxy.envoy_process import EnvoyProcess
from harness.fake_process import FakeProcess
from harness.free_port import free_port
from harness.redis_server import RedisServer
from harness.stack import Stack

BENCH_KEYS = {"OPENAI_API_KEY": "sk-bench-openai-0000", "ANTHROPIC_API_KEY": "sk-bench-anthropic-0000"}
SERVERS = ("grpcio", "native")  # brightstaff.transport values
_HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
_BODY_LIMIT = 16 * 1024 * 1024
DEFAULT_PROVIDER = "openai/gpt-4o-mini"  # on the upstream Envoy: today's chat cells
_FAKE_RECORDS = 64  # the fakes keep only their newest requests: a run sends hundreds of thousands

Host = Literal["upstream", "openai", "anthropic"]  # the upstream Envoy, or a fake process


@dataclass(frozen=True, slots=True)
class Backend:
    """A provider of the API cells, where it lives, and the routing preference (and a prompt that matches it)
    that pins an affinity id to it: the cells run on the pin-hit path, so the pin decides, not the body."""

    model: str
    host: Host
    preference: str
    description: str
    prompt: str


# JSON cells on the upstream Envoy; streamed cells on the fakes (keys: cells.ApiCase.backend).
BACKENDS = {
    "anthropic": Backend(
        "anthropic/claude-sonnet-4-20250514",
        "upstream",
        "code_generation",
        "generating new code, writing functions, or creating boilerplate",
        "Write a Python class with boilerplate methods for a linked list: push, pop and reverse.",
    ),
    "openai": Backend(
        "openai/gpt-4o",
        "upstream",
        "complex_reasoning",
        "complex reasoning tasks, multi-step analysis, or detailed explanations",
        "Explain step by step, with a detailed multi-step analysis, why the sky is blue.",
    ),
    "chat_only": Backend(
        "mistral/mistral-large-latest",
        "upstream",
        "translation",
        "translating text from one language to another",
        "Translate this sentence into French: the database is ready.",
    ),
    "anthropic_sse": Backend(
        "anthropic/claude-3-5-haiku-20241022",
        "anthropic",
        "summarization",
        "summarizing a long document or meeting notes into a few bullet points",
        "Summarize these meeting notes into three short bullet points.",
    ),
    "openai_sse": Backend(
        "openai/gpt-4.1",
        "openai",
        "data_extraction",
        "extracting structured fields such as names, dates and amounts from text",
        "Extract the customer name, invoice date and total amount from this invoice text.",
    ),
    "chat_only_sse": Backend(
        "deepseek/deepseek-chat",
        "openai",
        "poetry",
        "writing poems, song lyrics or rhyming verse",
        "Write a short rhyming poem about autumn leaves.",
    ),
}


def _listener(name: str, port: int, hcm: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "per_connection_buffer_limit_bytes": _BODY_LIMIT,
        "filter_chains": [
            {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}
        ],
    }


def _answer_route(prefix: str, answer: str) -> dict[str, Any]:
    return {
        "match": {"prefix": prefix},
        "direct_response": {"status": 200, "body": {"inline_string": answer}},
        "response_headers_to_add": [
            {
                "header": {"key": "content-type", "value": "application/json"},
                "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
            }
        ],
    }


def upstream_bootstrap(port: int) -> dict[str, Any]:
    """An Envoy that reads the whole request (buffer filter), then answers `ANSWERS[path]` as JSON (the last,
    "/", for any other path)."""
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
                    "routes": [_answer_route(prefix, answer) for prefix, answer in ANSWERS.items()],
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


def direct_listener(name: str, port: int, cluster: str) -> dict[str, Any]:
    """A direct path: a listener on the front Envoy that routes straight to a provider's cluster."""
    hcm = {
        "@type": _HCM,
        "stat_prefix": name,
        "codec_type": "AUTO",
        "route_config": {
            "name": name,
            "virtual_hosts": [
                {
                    "name": name,
                    "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "route": {"cluster": cluster, "timeout": "60s"}}],
                }
            ],
        },
        "http_filters": [
            {"name": "envoy.filters.http.router", "typed_config": {"@type": _ROUTER, "suppress_envoy_headers": True}}
        ],
    }
    return _listener(name, port, hcm)


def brightstaff_config(
    upstream_url: str, fakes: dict[str, str], redis_url: str | None = None, transport: str = "native"
) -> dict[str, Any]:
    """A Plano-style config: the default provider and the JSON cells' on the upstream Envoy, the streamed
    cells' on the fakes (`fakes`: base URL by host), pins in memory or (with `redis_url`) in Redis."""
    routing: dict[str, Any] = {"session_ttl_seconds": 600, "session_max_entries": 10000}
    if redis_url is not None:
        routing = {"session_ttl_seconds": 600, "session_cache": {"type": "redis", "url": redis_url}}
    providers: list[dict[str, Any]] = [
        {"model": DEFAULT_PROVIDER, "access_key": "$OPENAI_API_KEY", "default": True, "base_url": upstream_url}
    ]
    for backend in BACKENDS.values():
        vendor_key = "$ANTHROPIC_API_KEY" if backend.model.startswith("anthropic/") else "$OPENAI_API_KEY"
        providers.append(
            {
                "model": backend.model,
                "access_key": vendor_key,
                # Without fakes the streamed cells do not run; their providers then point at the upstream.
                "base_url": fakes.get(backend.host, upstream_url),
                "routing_preferences": [{"name": backend.preference, "description": backend.description}],
            }
        )
    return {
        "version": "v0.3.0",
        "listeners": [{"type": "model", "name": "model_listener", "port": 12000, "address": "127.0.0.1"}],
        "model_providers": providers,
        "routing": routing,
        "brightstaff": {"message_timeout_ms": 2000, "transport": transport},
    }


@dataclass
class Processes:
    """Everything one run starts; `pids` of each, by role, for the CPU meter."""

    workdir: Path
    upstream: EnvoyProcess
    stacks: dict[str, Stack]  # by transport: the memory pin store
    # The first stack's direct listeners, by what they reach: "upstream" (the Envoy upstream), and with the
    # fakes "openai" and "anthropic" (the fake providers' clusters).
    direct_ports: dict[str, int]
    redis_stack: Stack | None = None
    redis: RedisServer | None = None
    fakes: dict[str, FakeProcess] = field(default_factory=dict)  # "openai", "anthropic"

    def pids(self, stack: Stack) -> dict[str, list[int]]:
        assert stack.brightstaff is not None
        assert stack.envoy.pid is not None
        assert self.upstream.pid is not None
        roles = {"brightstaff": [stack.brightstaff.pid], "envoy": [stack.envoy.pid, self.upstream.pid]}
        if stack is self.redis_stack and self.redis is not None and self.redis.process is not None:
            roles["redis"] = [self.redis.process.pid]
        if self.fakes:
            roles["fakes"] = [fake.pid for fake in self.fakes.values()]
        return roles

    def all_fronts(self) -> list[EnvoyProcess]:
        stacks = [*self.stacks.values(), *([self.redis_stack] if self.redis_stack else [])]
        return [stack.envoy for stack in stacks]


def _start_stack(stack: Stack) -> Stack:
    stack.start_brightstaff()
    stack.envoy.start()  # on this (the main) thread: Envoy's parent-death signal follows it
    asyncio.run(stack.envoy.wait_ready())
    return stack


@contextlib.contextmanager
def started(
    workdir: Path, servers: list[str], use_redis: bool, use_fakes: bool, event_gap: float, log_level: str
) -> Iterator[Processes]:
    """Start every process of a run; stop them all (by PID) when the block ends, however it ends."""
    upstream_port = free_port()
    upstream_url = f"http://127.0.0.1:{upstream_port}/v1"
    upstream = EnvoyProcess(upstream_bootstrap(upstream_port), workdir=workdir / "upstream-envoy")
    clusters = {"upstream": cluster_name(DEFAULT_PROVIDER)}
    if use_fakes:  # a provider on each fake: its cluster reaches that fake
        clusters.update({b.host: cluster_name(b.model) for b in BACKENDS.values() if b.host != "upstream"})
    running = Processes(workdir, upstream, {}, {target: free_port() for target in clusters})
    try:
        upstream.start()
        asyncio.run(upstream.wait_ready())
        fake_urls: dict[str, str] = {}
        if use_fakes:
            common = ["--chunk-delay", f"{event_gap:g}", "--keep-received", str(_FAKE_RECORDS)]
            running.fakes["openai"] = FakeProcess(
                "fake_provider", ["--name", "openai", *common], workdir / "fakes", log=True
            ).start()
            # The Anthropic fake serves only the models it is told (as the real API refuses unknown ones): every
            # anthropic/ model here (the probe in run.py sends the bodies' own).
            models = {b.model.split("/")[1] for b in BACKENDS.values() if b.model.startswith("anthropic/")}
            served = [arg for model in sorted(models) for arg in ("--model", model)]
            running.fakes["anthropic"] = FakeProcess(
                "fake_anthropic", [*common, *served], workdir / "fakes", log=True
            ).start()
            fake_urls = {host: fake.base_url for host, fake in running.fakes.items()}
        for server in servers:
            config = brightstaff_config(upstream_url, fake_urls, transport=server)
            extra = [
                direct_listener(f"direct_{target}", running.direct_ports[target], cluster)
                for target, cluster in clusters.items()
                if not running.stacks
            ]
            stack = Stack(
                workdir / f"stack-{server}", config, log_level=log_level, keys=BENCH_KEYS, extra_listeners=extra
            )
            running.stacks[server] = _start_stack(stack)
        if use_redis:
            running.redis = RedisServer(workdir / "redis").start()
            config = brightstaff_config(upstream_url, fake_urls, running.redis.url, transport=servers[0])
            running.redis_stack = _start_stack(
                Stack(workdir / "stack-redis", config, log_level=log_level, keys=BENCH_KEYS)
            )
        yield running
    finally:
        for stack in [*running.stacks.values(), *([running.redis_stack] if running.redis_stack else [])]:
            stack.stop()
        for fake in running.fakes.values():
            fake.stop()
        if running.redis is not None:
            running.redis.stop()
        asyncio.run(upstream.stop())


def remove_workdir(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
