"""The embedded router on the independent evaluation sets, zero-shot and few-shot, on both splits.

Prints Markdown tables with Wilson 95% intervals (the README's "Routing quality" and
benchmarks/routing_eval/RESULTS.md): per set, pooled, per language group and language, per kind, default vs
routed asks. Zero-shot drops the routes' few-shot `examples` (descriptions only, as a Plano config has);
few-shot keeps them. Run under the shared lock:
`flock /tmp/brightstaff-heavy.lock .venv/bin/python benchmarks/routing_eval/accuracy.py`.
(The baseline of the router this one replaced is in brightstaff/routing/data/eval/BASELINE.md.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from brightstaff.config import RoutingSettings
from brightstaff.routing.evaluate import Example, LabelledSet, load_eval_sets, wilson_interval
from brightstaff.routing.report import routing_report

SPLITS = ("dev", "test")
MODES = ("zero-shot", "few-shot")
Outcome = list[tuple[str, str, Example, bool]]  # (mode, set, example, right)


def _cell(results: Iterable[bool]) -> str:
    values = list(results)
    if not values:
        return "–"
    right = sum(values)
    low, high = wilson_interval(right, len(values))
    return f"{right / len(values):.1%} ({right}/{len(values)}) [{low:.0%}–{high:.0%}]"


def _row(outcome: Outcome, keep: Callable[[str, Example], bool]) -> list[str]:
    return [
        _cell(ok for m, name, e, ok in outcome if m == mode and e.split == split and keep(name, e))
        for mode in MODES
        for split in SPLITS
    ]


def main() -> None:
    sets = load_eval_sets()
    outcome: Outcome = []
    latency: dict[str, tuple[float, float]] = {}
    for mode in MODES:
        measured: list[LabelledSet] = [s.zero_shot() for s in sets] if mode == "zero-shot" else sets
        runs = asyncio.run(routing_report(None, measured, repeat=1))
        for labelled, run in zip(measured, runs, strict=True):
            missed = {m.name for m in run.report.misses}
            outcome += [(mode, labelled.name, e, e.name not in missed) for e in labelled.examples]
            if mode == "few-shot":
                latency[labelled.name] = (run.report.latency_p50_us / 1000, run.report.latency_p99_us / 1000)
    threshold = RoutingSettings.min_match_score
    print(f"Embedded router, min_match_score {threshold} (the default). Brackets: Wilson 95% intervals.")
    print()
    header = "| {} | zero-shot dev | zero-shot test | few-shot dev | few-shot test |"
    print(header.format("set") + " p50 / p99 (cold) |")
    print("|---|---|---|---|---|---|")
    for labelled in sets:
        cells = _row(outcome, lambda name, e, wanted=labelled.name: name == wanted)
        p50, p99 = latency[labelled.name]
        print(f"| {labelled.name} | {' | '.join(cells)} | {p50:.1f} / {p99:.1f} ms |")
    print(f"| **pooled** | {' | '.join(_row(outcome, lambda name, e: True))} | |")
    print()
    print(header.format("language"))
    print("|---|---|---|---|---|")
    print(f"| English | {' | '.join(_row(outcome, lambda name, e: e.lang == 'en'))} |")
    print(f"| non-English | {' | '.join(_row(outcome, lambda name, e: e.lang != 'en'))} |")
    for lang in sorted({e.lang for _, _, e, _ in outcome} - {"en"}):
        print(f"| {lang} | {' | '.join(_row(outcome, lambda name, e, lang=lang: e.lang == lang))} |")
    print()
    print(header.format("kind"))
    print("|---|---|---|---|---|")
    for kind in sorted({e.kind for _, _, e, _ in outcome}):
        print(f"| {kind} | {' | '.join(_row(outcome, lambda name, e, kind=kind: e.kind == kind))} |")
    print()
    print(header.format("expected label"))
    print("|---|---|---|---|---|")
    print(f"| default | {' | '.join(_row(outcome, lambda name, e: e.label == 'default'))} |")
    print(f"| a route | {' | '.join(_row(outcome, lambda name, e: e.label != 'default'))} |")


if __name__ == "__main__":
    main()
