"""The run's report: a line per cell as it finishes, Markdown tables (the README's), every target with its
verdict, and the same as a JSON document (`--json`) for tools and the smoke test.

Targets (each judged on cells of the same run):
- serial added p50 over direct at most 0.6 ms (1 KB) and 0.9 ms (50 KB); at least 1,800 req/s through one
  brightstaff at 16 connections; the Redis store adds at most 0.3 ms serial p50 over the memory store;
- a same-dialect API cell's brightstaff CPU per request within 5% of chat completions' (`chat → OpenAI`,
  same upstream Envoy, body and connections);
- a translated stream adds at most 1 ms of time-to-first-byte p50 (one connection) over the same stream
  untranslated, and costs at most 40 µs of brightstaff CPU per upstream SSE event.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from benchmarks.cells import API_BY_KEY, Cell, direct_case

P50_TARGET_MS = {"1k": 0.6, "50k": 0.9}
RPS_TARGET = 1800
REDIS_ADDED_P50_TARGET_MS = 0.3
SAME_DIALECT_CPU_RATIO = 1.05
TTFB_ADDED_TARGET_MS = 1.0
CPU_PER_EVENT_TARGET_US = 40.0


@dataclass(frozen=True, slots=True)
class Verdict:
    target: str  # what is judged
    cell: str  # which cell, as the tables name it
    measured: float
    limit: float
    unit: str
    met: bool
    higher_is_better: bool = False

    def line(self) -> str:
        sign = ">=" if self.higher_is_better else "<="
        return (
            f"target {self.target} [{self.cell}]: {self.measured:,.3f} {self.unit} {sign} {self.limit:,.3f} "
            f"{self.unit}: {'met' if self.met else 'MISSED'}"
        )


def _size(body: str) -> str:
    return body.upper().replace("K", " KB")


def _find(cells: Iterable[Cell], **want: Any) -> Cell | None:
    return next((c for c in cells if all(getattr(c, k) == v for k, v in want.items())), None)


def direct_of(cell: Cell, cells: list[Cell]) -> Cell | None:
    """The cell without brightstaff that `cell` is held against: Envoy straight to the same upstream (chat
    cells), or the same client request straight to a fake that speaks its API (API cells); None for a
    direct cell itself."""
    if cell.path in ("brightstaff", "redis"):
        return _find(cells, path="direct", body=cell.body, connections=cell.connections)
    case = cell.case
    if cell.path == "api" and case is not None:
        key = direct_case(case).key
        return _find(cells, path="api-direct", api=key, body=cell.body, connections=cell.connections)
    return None


@dataclass(frozen=True, slots=True)
class VsDirect:
    """A brightstaff cell against its direct cell: latency and throughput ratios, and the p50 added."""

    direct: str  # the direct cell's label
    p50_ratio: float
    p99_ratio: float
    rps_ratio: float
    added_p50_ms: float


def vs_direct(cell: Cell, cells: list[Cell]) -> VsDirect | None:
    direct = direct_of(cell, cells)
    if direct is None:
        return None
    r, d = cell.result, direct.result

    def ratio(a: float, b: float) -> float:
        return a / b if b else 0.0

    return VsDirect(
        label(direct), ratio(r.p50_ms, d.p50_ms), ratio(r.p99_ms, d.p99_ms), ratio(r.rps, d.rps), r.p50_ms - d.p50_ms
    )


def cpu_vs_baseline(cell: Cell, cells: list[Cell]) -> float | None:
    """brightstaff CPU per request over its baseline case's (same body and connections), for API cells."""
    base = baseline_of(cell, cells)
    if base is None or not base.brightstaff_cpu_us:
        return None
    return cell.brightstaff_cpu_us / base.brightstaff_cpu_us


def memory_of(cell: Cell, cells: list[Cell]) -> Cell | None:
    """The memory-store cell a redis cell is compared with (same body, connections and server)."""
    return _find(cells, path="brightstaff", body=cell.body, connections=cell.connections, server=cell.server)


def baseline_of(cell: Cell, cells: list[Cell]) -> Cell | None:
    case = cell.case
    if case is None or case.baseline is None:
        return None
    return _find(cells, path="api", api=case.baseline, body=cell.body, connections=cell.connections)


def label(cell: Cell) -> str:
    case = cell.case
    name = case.label if case else (f"{cell.path}[{cell.server}]" if cell.path == "brightstaff" else cell.path)
    return f"{name} {_size(cell.body)} x{cell.connections}"


def verdicts(cells: list[Cell]) -> list[Verdict]:
    found: list[Verdict] = []
    for cell in cells:
        r = cell.result
        if cell.path == "redis" and cell.connections == 1:
            memory = memory_of(cell, cells)
            if memory is not None:
                added = r.p50_ms - memory.result.p50_ms
                limit = REDIS_ADDED_P50_TARGET_MS
                found.append(Verdict("Redis store added p50", label(cell), added, limit, "ms", added <= limit))
        if cell.path == "brightstaff":
            direct = direct_of(cell, cells)
            if cell.connections == 1 and direct is not None and cell.body in P50_TARGET_MS:
                added = r.p50_ms - direct.result.p50_ms
                limit = P50_TARGET_MS[cell.body]
                found.append(Verdict("serial added p50", label(cell), added, limit, "ms", added <= limit))
            if cell.connections == 16:
                found.append(
                    Verdict(
                        "req/s at 16 connections", label(cell), r.rps, RPS_TARGET, "req/s", r.rps >= RPS_TARGET, True
                    )
                )
        case, base = cell.case, baseline_of(cell, cells)
        if case is None or base is None:
            continue
        if case.target == "same_dialect" and base.brightstaff_cpu_us:
            ratio = cell.brightstaff_cpu_us / base.brightstaff_cpu_us
            found.append(
                Verdict(
                    "CPU/req vs chat completions",
                    label(cell),
                    ratio,
                    SAME_DIALECT_CPU_RATIO,
                    "x",
                    ratio <= SAME_DIALECT_CPU_RATIO,
                )
            )
        if case.target == "translated_stream":
            per_event = cell.cpu_us_per_event or 0.0
            found.append(
                Verdict(
                    "brightstaff CPU per SSE event",
                    label(cell),
                    per_event,
                    CPU_PER_EVENT_TARGET_US,
                    "µs",
                    per_event <= CPU_PER_EVENT_TARGET_US,
                )
            )
            if cell.ttfb is not None and base.ttfb is not None:
                added = (cell.ttfb.ttfb_p50_ms or 0.0) - (base.ttfb.ttfb_p50_ms or 0.0)
                found.append(
                    Verdict(
                        "added TTFB p50 over the untranslated stream",
                        label(cell),
                        added,
                        TTFB_ADDED_TARGET_MS,
                        "ms",
                        added <= TTFB_ADDED_TARGET_MS,
                    )
                )
    return found


def cell_line(cell: Cell, cells: list[Cell]) -> str:
    r = cell.result
    line = (
        f"{label(cell):<44} p50 {r.p50_ms:7.3f} ms  p99 {r.p99_ms:7.3f} ms  {r.rps:8.0f} req/s  ({r.requests} req)"
        f"  non-2xx {r.non_2xx}  socket errors {r.socket_errors}"
    )
    if cell.path not in ("direct", "api-direct"):
        line += f"  not pinned {r.unpinned}  brightstaff CPU {cell.brightstaff_cpu_us:.0f} µs/req"
    compared = vs_direct(cell, cells)
    if compared is not None:
        line += f"  x{compared.rps_ratio:.2f} req/s of direct  {compared.added_p50_ms:+.3f} ms p50"
    if cell.path == "redis":
        memory = memory_of(cell, cells)
        if memory is not None:
            line += f"  {r.p50_ms - memory.result.p50_ms:+.3f} ms p50 over the memory store"
        line += f"  redis-server CPU {cell.redis_cpu_us:.0f} µs/req"
    if cell.cpu_us_per_event is not None and cell.path == "api":
        line += f"  {cell.cpu_us_per_event:.1f} µs/event"
    if cell.ttfb is not None:
        t = cell.ttfb
        line += f"  TTFB p50 {t.ttfb_p50_ms:.3f} ms ({t.requests} req, broken {t.broken_streams}, errors {t.errors})"
    line += f"  envoy CPU {cell.envoy_cpu_us:.0f} µs/req  other load {cell.other_load:.2f} cores"
    return line


# --------------------------------------------------------------------------------------------------
# Markdown


def server_table(cells: list[Cell], server: str) -> list[str]:
    rows = [
        "| body | conns | direct p50 / p99 ms | direct req/s | brightstaff p50 / p99 ms | brightstaff req/s "
        "| req/s vs direct | added p50 ms | brightstaff CPU µs/req | non-2xx | not pinned |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cell in cells:
        if cell.path != "brightstaff" or cell.server != server:
            continue
        r = cell.result
        direct = direct_of(cell, cells)
        d = d_rps = ratio = added = "-"
        non_2xx = r.non_2xx + r.socket_errors
        if direct is not None:
            dr = direct.result
            d, d_rps = f"{dr.p50_ms:.2f} / {dr.p99_ms:.2f}", f"{dr.rps:,.0f}"
            ratio = f"{r.rps / dr.rps:.2f}" if dr.rps else "-"
            added = f"+{r.p50_ms - dr.p50_ms:.2f}"
            non_2xx += dr.non_2xx + dr.socket_errors
        rows.append(
            f"| {_size(cell.body)} | {cell.connections} | {d} | {d_rps} | {r.p50_ms:.2f} / {r.p99_ms:.2f} "
            f"| {r.rps:,.0f} | {ratio} | {added} | {cell.brightstaff_cpu_us:.0f} | {non_2xx} | {r.unpinned} |"
        )
    return rows


def side_by_side_table(cells: list[Cell], servers: list[str]) -> list[str]:
    names = " | ".join(f"{s} req/s | {s} p50 / p99 ms | {s} CPU µs/req" for s in servers)
    rows = [f"| body | conns | direct req/s | {names} |", "|---|---|---|" + "---|" * (3 * len(servers))]
    keys = dict.fromkeys((c.body, c.connections) for c in cells if c.path == "brightstaff")
    for body, conns in keys:
        parts = []
        for server in servers:
            cell = _find(cells, path="brightstaff", body=body, connections=conns, server=server)
            if cell is None:
                parts.append("- | - | -")
                continue
            r = cell.result
            parts.append(f"{r.rps:,.0f} | {r.p50_ms:.2f} / {r.p99_ms:.2f} | {cell.brightstaff_cpu_us:.0f}")
        direct = _find(cells, path="direct", body=body, connections=conns)
        direct_rps = f"{direct.result.rps:,.0f}" if direct is not None else "-"
        rows.append(f"| {_size(body)} | {conns} | {direct_rps} | {' | '.join(parts)} |")
    return rows


def store_table(cells: list[Cell]) -> list[str]:
    rows = [
        "| body / conns | memory p50 / p99 ms | redis p50 / p99 ms | added p50 ms | memory req/s | redis req/s "
        "| brightstaff CPU µs/req memory / redis | redis-server CPU µs/req | non-2xx | not pinned |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cell in cells:
        if cell.path != "redis":
            continue
        memory = memory_of(cell, cells)
        r, m = cell.result, (memory.result if memory is not None else None)
        rows.append(
            f"| {_size(cell.body)} / {cell.connections} "
            f"| {f'{m.p50_ms:.2f} / {m.p99_ms:.2f}' if m else '-'} | {r.p50_ms:.2f} / {r.p99_ms:.2f} "
            f"| {f'{r.p50_ms - m.p50_ms:+.2f}' if m else '-'} | {f'{m.rps:,.0f}' if m else '-'} | {r.rps:,.0f} "
            f"| {f'{memory.brightstaff_cpu_us:.0f}' if memory else '-'} / {cell.brightstaff_cpu_us:.0f} "
            f"| {cell.redis_cpu_us:.0f} | {r.non_2xx + r.socket_errors} | {r.unpinned} |"
        )
    return rows


def api_table(cells: list[Cell], found: list[Verdict]) -> list[str]:
    rows = [
        "| client → backend | body | conns | req/s | p50 / p99 ms | p50 × direct | brightstaff CPU µs/req "
        "| CPU × base | µs/SSE event | TTFB p50 ms | target | verdict | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cell in cells:
        case = cell.case
        if case is None:
            continue
        r = cell.result
        compared, cpu_ratio = vs_direct(cell, cells), cpu_vs_baseline(cell, cells)
        p50_ratio = f"{compared.p50_ratio:.2f}" if compared is not None else "-"
        cpu = f"{cell.brightstaff_cpu_us:.0f}" if cell.path == "api" else "-"
        cpu_x = f"{cpu_ratio:.2f}" if cpu_ratio is not None else "-"
        mine = [v for v in found if v.cell == label(cell)]
        targets = "; ".join(_target_text(v) for v in mine) or "-"
        verdict = ("met" if all(v.met for v in mine) else "**MISSED**") if mine else "-"
        per_event = f"{cell.cpu_us_per_event:.1f}" if cell.cpu_us_per_event is not None and cpu != "-" else "-"
        ttfb = f"{cell.ttfb.ttfb_p50_ms:.2f}" if cell.ttfb is not None and cell.ttfb.ttfb_p50_ms is not None else "-"
        errors = r.errors + (cell.ttfb.errors if cell.ttfb is not None else 0)
        rows.append(
            f"| {case.label} | {_size(cell.body)} | {cell.connections} | {r.rps:,.0f} "
            f"| {r.p50_ms:.2f} / {r.p99_ms:.2f} | {p50_ratio} "
            f"| {cpu} | {cpu_x} | {per_event} | {ttfb} | {targets} | {verdict} | {errors} |"
        )
    return rows


def _target_text(v: Verdict) -> str:
    if v.unit == "x":
        return f"CPU {v.measured - 1:+.1%} vs chat → OpenAI (≤ +{v.limit - 1:.0%})"
    if v.target.startswith("added TTFB"):
        return f"TTFB {v.measured:+.2f} ms vs untranslated (≤ +{v.limit:g})"
    if v.unit == "µs":
        return f"{v.measured:.1f} µs/event (≤ {v.limit:g})"
    return v.line()


def verdict_table(found: list[Verdict]) -> list[str]:
    rows = ["| target | cell | measured | limit | verdict |", "|---|---|---|---|---|"]
    for v in found:
        sign = "≥" if v.higher_is_better else "≤"
        measured = f"{v.measured:,.3f} {v.unit}" if v.unit != "x" else f"{v.measured:.3f}x"
        limit = f"{sign} {v.limit:,.3f} {v.unit}" if v.unit != "x" else f"{sign} {v.limit:.2f}x"
        rows.append(f"| {v.target} | {v.cell} | {measured} | {limit} | {'met' if v.met else '**MISSED**'} |")
    return rows


def markdown(cells: list[Cell], info: dict[str, str], loadgen: str, command: str, settings: dict[str, Any]) -> str:
    servers: list[str] = settings["servers"]
    found = verdicts(cells)
    out = [
        f"`{command}`  ",
        f"{info['nproc']} cores ({info['cpu']}), Python {info['python']}, Envoy {info['envoy']}, "
        f"grpcio {info['grpcio']}, protobuf {info['protobuf']}; load: {loadgen}, "
        f"{settings['duration']:g} s per cell after {settings['warmup']:g} s warm-up; PIN-HIT path.",
        "",
    ]
    for server in servers:
        if any(c.path == "brightstaff" and c.server == server for c in cells):
            out += [
                f"brightstaff server: {server} (brightstaff.transport: {server})",
                "",
                *server_table(cells, server),
                "",
            ]
    if len(servers) > 1:
        out += ["Transports side by side (brightstaff path, same run, cells back to back).", ""]
        out += [*side_by_side_table(cells, servers), ""]
    if any(c.path == "redis" for c in cells):
        out += ["Pin store: memory (in process) vs Redis (redis-server on loopback, one GETEX per pin hit).", ""]
        out += [*store_table(cells), ""]
    if any(c.path == "api" for c in cells):
        out += [
            f"Client APIs and backends ({servers[0]} transport, memory store; JSON against the upstream Envoy, "
            f"streams of 50 SSE events {settings['event_gap'] * 1000:g} ms apart against the fake providers; "
            "TTFB: first body byte, one connection; direct: the same request through Envoy without brightstaff, to "
            "the upstream Envoy (JSON) or to a fake that speaks its API (SSE); CPU × base: brightstaff CPU per "
            "request over the baseline's, chat → OpenAI for JSON, the untranslated stream for SSE).",
            "",
            *api_table(cells, found),
            "",
        ]
    worst = max((c.other_load for c in cells), default=0.0)
    out += [f"Other processes on the machine used up to {worst:.2f} cores during the cells (0 = undisturbed).", ""]
    out += ["Targets:", "", *verdict_table(found), ""]
    return "\n".join(out)


def json_document(
    cells: list[Cell], info: dict[str, str], loadgen: str, command: str, settings: dict[str, Any], extra: dict[str, Any]
) -> dict[str, Any]:
    def cell_json(cell: Cell) -> dict[str, Any]:
        value = dataclasses.asdict(cell)
        compared = vs_direct(cell, cells)
        value.update(
            label=label(cell),
            vs_direct=dataclasses.asdict(compared) if compared is not None else None,
            cpu_vs_baseline=cpu_vs_baseline(cell, cells),
            rps=cell.result.rps,
            errors=cell.result.errors + (cell.ttfb.errors if cell.ttfb is not None else 0),
            brightstaff_cpu_us=cell.brightstaff_cpu_us,
            envoy_cpu_us=cell.envoy_cpu_us,
            cpu_us_per_event=cell.cpu_us_per_event,
            client=cell.case.client if cell.case else None,
            backend=cell.case.backend if cell.case else None,
            stream=cell.case.stream if cell.case else False,
            translated=cell.case.translated if cell.case else False,
        )
        return value

    return {
        "command": command,
        "machine": info,
        "load_generator": loadgen,
        "settings": settings,
        "cells": [cell_json(c) for c in cells],
        "targets": [dataclasses.asdict(v) for v in verdicts(cells)],
        **extra,
    }


__all__ = ["API_BY_KEY", "Verdict", "cell_line", "json_document", "markdown", "verdicts"]
