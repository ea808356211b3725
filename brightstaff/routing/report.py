"""The routing report behind `brightstaff routing-report`: each configured router over a labelled set.

The embedded router always runs; the LLM router runs when the config sets `routing.router.type: llm`.
Each labelled set brings its own `model_providers` (the routes the labels name); the config supplies the
router settings (`routing.router`, `routing.min_match_score`), so one config measures its router on every
set. Accuracy and confusion come from `brightstaff.routing.evaluate`. The embedded router is timed cold (no cache) by
`evaluate()` (microseconds, after a warm-up pass); the LLM router is called once per example and each
call is timed end to end (milliseconds, the network included). A router failure is labelled "fallback"
in the confusion matrix: what was served is the default model, but it never counts as a correct answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from brightstaff.config import Config, LlmRouterSettings, RoutingSettings
from brightstaff.metrics import LLM_ROUTER_FAILURE_KINDS, Metrics
from brightstaff.routing.embedded import EmbeddedRouter
from brightstaff.routing.evaluate import (
    DEFAULT_LABEL,
    Example,
    LabelledSet,
    Miss,
    Report,
    evaluate,
    format_report,
    wilson_interval,
)
from brightstaff.routing.sentence_encoder import SentenceEncoder

FALLBACK_LABEL = "fallback"


@dataclass(frozen=True)
class RouterRun:
    set_name: str
    router: str  # "embedded" | "llm"
    report: Report
    failures: dict[str, int] = field(default_factory=dict)  # llm: failure kind -> count
    call_ms: tuple[float, ...] = ()  # llm: every call's latency, sorted

    @property
    def failed(self) -> int:
        return sum(self.failures.values())


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values), max(1, math.ceil(q * len(sorted_values))))
    return sorted_values[rank - 1]


@functools.cache
def _uncached_encoder() -> SentenceEncoder:
    # The report times decisions cold: a serving router's cache would answer every timed pass after the first.
    return SentenceEncoder(cache_size=0)


def run_embedded(labelled: LabelledSet, min_match_score: float, *, repeat: int) -> RouterRun:
    router = EmbeddedRouter(labelled.providers, min_match_score, encoder=_uncached_encoder())
    return RouterRun(labelled.name, "embedded", evaluate(router, labelled.examples, repeat=repeat))


async def run_llm(labelled: LabelledSet, settings: LlmRouterSettings, *, concurrency: int = 1) -> RouterRun:
    """Every example through an LLM router built on this set's routes, `concurrency` calls in flight."""
    from brightstaff.routing.llm import LlmRouter  # httpx only when an LLM router is measured

    metrics = Metrics()
    router = LlmRouter(labelled.providers, settings, metrics=metrics)
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(example: Example) -> tuple[str, float, float]:
        async with gate:
            started = time.perf_counter()
            choice = await router.route(example.request.conversation)
            elapsed_ms = (time.perf_counter() - started) * 1000
        if choice.reason == "fallback":
            return FALLBACK_LABEL, choice.score, elapsed_ms
        got = choice.route if choice.reason == "preference" and choice.route else DEFAULT_LABEL
        return got, choice.score, elapsed_ms

    try:
        results = await asyncio.gather(*(one(e) for e in labelled.examples))
    finally:
        await router.close()
    confusion: dict[tuple[str, str], int] = {}
    labels: dict[str, None] = {}
    misses: list[Miss] = []
    for example, (got, score, _) in zip(labelled.examples, results, strict=True):
        labels.setdefault(example.label)
        labels.setdefault(got)
        confusion[(example.label, got)] = confusion.get((example.label, got), 0) + 1
        if got != example.label:
            misses.append(Miss(example.name, example.label, got, score))
    timings = sorted(ms for _, _, ms in results)
    report = Report(
        total=len(results),
        correct=len(results) - len(misses),
        confusion=confusion,
        latency_p50_us=percentile(timings, 0.50) * 1000,
        latency_p99_us=percentile(timings, 0.99) * 1000,
        misses=tuple(misses),
        labels=tuple(labels),
    )
    failures = {
        kind: int(count)
        for kind in LLM_ROUTER_FAILURE_KINDS
        if (count := metrics.get("brightstaff_router_failures_total", router="llm", kind=kind))
    }
    return RouterRun(labelled.name, "llm", report, failures, tuple(timings))


def parse_where(condition: str) -> Callable[[Example], bool]:
    """`KEY=V1,V2` keeps examples whose tag KEY (split, lang, kind) is one of the values; `KEY!=...` the others."""
    negate = "!=" in condition
    key, sep, values = condition.partition("!=" if negate else "=")
    if not sep or key not in ("split", "lang", "kind") or not values:
        raise ValueError(f"--where {condition!r}: expected KEY=V1[,V2] or KEY!=V with KEY split, lang or kind")
    wanted = set(values.split(","))
    return lambda example: (example.tag(key) in wanted) != negate


def select(
    sets: Sequence[LabelledSet], *, names: Sequence[str] = (), split: str | None = None, where: Sequence[str] = ()
) -> list[LabelledSet]:
    """The sets named (all when none), narrowed to one split and to the `where` conditions; ValueError on unknowns."""
    known = [s.name for s in sets]
    for name in names:
        if name not in known:
            raise ValueError(f"no labelled set {name!r} (sets: {', '.join(known)})")
    chosen = [s for s in sets if not names or s.name in names]
    keep = [parse_where(f"split={split}")] if split is not None else []
    keep += [parse_where(condition) for condition in where]
    if not keep:
        return chosen
    narrowed = [
        dataclasses.replace(s, examples=tuple(e for e in s.examples if all(k(e) for k in keep))) for s in chosen
    ]
    if not any(s.examples for s in narrowed):
        what = [f"split {split!r}"] if split is not None else []
        raise ValueError(f"no examples in {' and '.join([*what, *where])}")
    return [s for s in narrowed if s.examples]


async def routing_report(
    config: Config | None,
    sets: Sequence[LabelledSet],
    *,
    repeat: int = 3,
    concurrency: int = 1,
) -> list[RouterRun]:
    """The embedded router over every set, then the LLM router when `config` configures one."""
    min_score = (config.routing if config is not None else RoutingSettings).min_match_score
    runs = [run_embedded(s, min_score, repeat=repeat) for s in sets]
    router = config.routing.router if config is not None else None
    if isinstance(router, LlmRouterSettings):
        for labelled in sets:
            runs.append(await run_llm(labelled, router, concurrency=concurrency))
    return runs


def format_run(run: RouterRun, *, misses: bool = True) -> str:
    title = f"== {run.set_name} / {run.router} router"
    report = run.report if misses else dataclasses.replace(run.report, misses=())
    text = format_report(report, title)
    if run.router != "llm":
        return text
    p = run.call_ms
    lines = [
        text,
        f"router calls: p50 {percentile(p, 0.5):.1f} ms, p90 {percentile(p, 0.9):.1f} ms, "
        f"p99 {percentile(p, 0.99):.1f} ms, max {p[-1] if p else 0.0:.1f} ms",
    ]
    if run.failures:
        kinds = ", ".join(f"{kind} {count}" for kind, count in run.failures.items())
        lines.append(f"router failures (served by the default model): {run.failed} ({kinds})")
    else:
        lines.append("router failures: 0")
    return "\n".join(lines)


def format_summary(runs: Sequence[RouterRun]) -> str:
    width = max([len(r.set_name) for r in runs] + [3])
    lines = [f"{'set'.ljust(width)}  router    accuracy            95% CI            p50        p99  failures"]
    for run in runs:
        r = run.report
        low, high = wilson_interval(r.correct, r.total)
        accuracy = f"{r.accuracy:6.1%} ({r.correct}/{r.total})"
        accuracy = f"{accuracy:<18}  {low:5.1%}-{high:5.1%}"
        if run.router == "llm":
            p50, p99 = f"{r.latency_p50_us / 1000:.1f} ms", f"{r.latency_p99_us / 1000:.1f} ms"
            failed = str(run.failed)
        else:
            p50, p99, failed = f"{r.latency_p50_us:.0f} us", f"{r.latency_p99_us:.0f} us", "-"
        lines.append(f"{run.set_name.ljust(width)}  {run.router:<8}  {accuracy:<32}  {p50:>9}  {p99:>9}  {failed:>8}")
    return "\n".join(lines)
