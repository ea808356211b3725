"""The embedded router on the independent evaluation sets: accuracy per set, split, language group and kind.

Prints a Markdown report with Wilson 95% intervals (the body of brightstaff/routing/data/eval/BASELINE.md).
Run under the shared lock: `flock /tmp/brightstaff-heavy.lock .venv/bin/python benchmarks/routing_eval/baseline.py`.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterable

from brightstaff.routing.eval_sets import set_files
from brightstaff.routing.evaluate import Example, load_labelled, wilson_interval
from brightstaff.routing.report import routing_report

SPLITS = ("dev", "test")


def _cell(results: Iterable[bool]) -> str:
    values = list(results)
    if not values:
        return "–"
    right = sum(values)
    low, high = wilson_interval(right, len(values))
    return f"{right / len(values):.1%} ({right}/{len(values)}) [{low:.0%}–{high:.0%}]"


def main() -> None:
    sets = [labelled for path in set_files() for labelled in load_labelled(path)]
    runs = asyncio.run(routing_report(None, sets, repeat=3))
    outcome: list[tuple[str, Example, bool]] = []
    latency: dict[str, tuple[float, float]] = {}
    for labelled, run in zip(sets, runs, strict=True):
        missed = {m.name for m in run.report.misses}
        outcome += [(labelled.name, e, e.name not in missed) for e in labelled.examples]
        latency[labelled.name] = (run.report.latency_p50_us, run.report.latency_p99_us)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"Embedded router at commit {commit}, min_match_score 0.2 (the default), zero-shot (descriptions only).")
    print()
    print("| set | dev | test | all | p50 / p99 |")
    print("|---|---|---|---|---|")
    for labelled in sets:
        rows = [(e, ok) for name, e, ok in outcome if name == labelled.name]
        cells = [_cell(ok for e, ok in rows if e.split == s) for s in SPLITS] + [_cell(ok for _, ok in rows)]
        p50, p99 = latency[labelled.name]
        print(f"| {labelled.name} | {' | '.join(cells)} | {p50:.0f} / {p99:.0f} µs |")
    pooled = [_cell(ok for _, e, ok in outcome if e.split == s) for s in SPLITS] + [_cell(ok for _, _, ok in outcome)]
    print(f"| **pooled** | {' | '.join(pooled)} | |")
    print()
    print("| language group | dev | test | all |")
    print("|---|---|---|---|")
    groups = {"English": lambda e: e.lang == "en", "non-English": lambda e: e.lang != "en"}
    for group, member in groups.items():
        cells = [_cell(ok for _, e, ok in outcome if member(e) and e.split == s) for s in SPLITS]
        cells.append(_cell(ok for _, e, ok in outcome if member(e)))
        print(f"| {group} | {' | '.join(cells)} |")
    for lang in sorted({e.lang for _, e, _ in outcome} - {"en"}):
        cells = [_cell(ok for _, e, ok in outcome if e.lang == lang and e.split == s) for s in SPLITS]
        cells.append(_cell(ok for _, e, ok in outcome if e.lang == lang))
        print(f"| {lang} | {' | '.join(cells)} |")
    print()
    print("| kind | dev | test | all |")
    print("|---|---|---|---|")
    for kind in sorted({e.kind for _, e, _ in outcome}):
        cells = [_cell(ok for _, e, ok in outcome if e.kind == kind and e.split == s) for s in SPLITS]
        cells.append(_cell(ok for _, e, ok in outcome if e.kind == kind))
        print(f"| {kind} | {' | '.join(cells)} |")
    print()
    print("| expected label | dev | test | all |")
    print("|---|---|---|---|")
    defaults = [(e, ok) for _, e, ok in outcome if e.label == "default"]
    routes = [(e, ok) for _, e, ok in outcome if e.label != "default"]
    for name, rows in (("default", defaults), ("a route", routes)):
        cells = [_cell(ok for e, ok in rows if e.split == s) for s in SPLITS] + [_cell(ok for _, ok in rows)]
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
