"""`python -m benchmarks` (and `./dev bench`): the options, the run, the report, the exit status.

The exit status is 1 when any response was non-2xx, a socket error, not pinned, or a broken stream, or
when Envoy counted an ext_proc error, failure or timeout; the targets' verdicts are reported, not enforced
(a shared machine's numbers are not a test).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from benchmarks import load, report
from benchmarks.bodies import BODY_SIZES
from benchmarks.cells import API_CASES
from benchmarks.processes import SERVERS
from benchmarks.run import machine_info, run

PATHS = ("direct", "brightstaff", "redis", "api")


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
        prog="python -m benchmarks",
        description="Envoy direct vs Envoy + brightstaff (ext_proc, pin-hit path) on loopback, and brightstaff "
        "between client APIs and backends (same dialect and translated, JSON and SSE): p50/p99 latency, "
        "throughput, TTFB, and brightstaff's CPU per request and per SSE event, for each body size and "
        "connection count, side by side in one run.",
        epilog="example: ./dev bench                                   (full run, ~15 minutes)\n"
        "         .venv/bin/python -m benchmarks --quick --bodies 1k   (smoke run)",
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
        type=_csv(str, PATHS),
        default=None,
        help="paths to measure: direct, brightstaff (memory pin store), redis (Redis pin store), api (client APIs "
        "to Anthropic, OpenAI and chat-only backends: JSON on the upstream Envoy, streams on the fake providers); "
        "default all four, redis only when redis-server is installed",
    )
    parser.add_argument(
        "--cases",
        type=_csv(str, tuple(c.key for c in API_CASES)),
        default=None,
        help="API cells to run (default all; a case's baseline runs with it): " + ", ".join(c.key for c in API_CASES),
    )
    parser.add_argument(
        "--event-gap",
        type=float,
        default=0.001,
        help="seconds between a fake's streamed events (default 0.001: each event its own chunk, as tokens come)",
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
    if not 0 <= args.event_gap <= 0.1:
        raise SystemExit("--event-gap must be in [0, 0.1] seconds")
    if args.paths is None:
        args.paths = ["direct", "brightstaff", "api"]
        if shutil.which("redis-server"):
            args.paths.insert(2, "redis")
        else:
            print("note: redis-server is not installed: the Redis pin store path is left out", flush=True)
    # A case is judged against its baseline (same body and connections), so a chosen case brings its own.
    chosen = {c.key for c in API_CASES} if args.cases is None else set(args.cases)
    chosen |= {c.baseline for c in API_CASES if c.key in chosen and c.baseline}
    args.cases = tuple(c for c in API_CASES if c.key in chosen)
    use_wrk = args.loadgen == "wrk" or (args.loadgen == "auto" and load.install_wrk())
    if args.loadgen == "wrk" and not load.install_wrk():
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
    args.ext_proc_errors = {}
    cells = run(args, use_wrk)
    command = " ".join(["python -m benchmarks", *(sys.argv[1:] if argv is None else argv)])
    settings = {
        "duration": args.duration,
        "warmup": args.warmup,
        "bodies": args.bodies,
        "connections": args.connections,
        "paths": args.paths,
        "servers": args.server,
        "event_gap": args.event_gap,
    }
    print()
    print(report.markdown(cells, info, loadgen, command, settings))
    errors = sum(c.result.errors + (c.ttfb.errors if c.ttfb is not None else 0) for c in cells)
    if args.json:
        extra = {"ext_proc_errors": args.ext_proc_errors, "errors": errors}
        document = report.json_document(cells, info, loadgen, command, settings, extra)
        Path(args.json).write_text(json.dumps(document, indent=2))
    if errors or args.ext_proc_errors:
        print(f"FAILED: {errors} non-2xx, socket errors, unpinned or broken responses", file=sys.stderr)
        return 1
    return 0
