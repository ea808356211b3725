"""The embedded router on the independent evaluation sets, zero-shot and few-shot, on both splits.

Prints Markdown tables with Wilson 95% intervals (the README's "Routing quality" and
benchmarks/routing_eval/RESULTS.md): per set, pooled, per language group and language, per kind, default vs
routed asks. Zero-shot drops the routes' few-shot `examples` (descriptions only, as a Plano config has);
few-shot keeps them. With `--holdout` (`--holdout2`, `--holdout3`), the same tables for the first (second,
third) holdout, `data/eval/holdout/` (`holdout2/`, `holdout3/`): four configs each, written after the tuning
ended, every case held out.
Run under the shared lock:
`flock /tmp/brightstaff-heavy.lock .venv/bin/python benchmarks/routing_eval/accuracy.py [--holdoutN]`.
(The baseline of the router this one replaced is in brightstaff/routing/data/eval/BASELINE.md.)
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterable

from brightstaff.config import RoutingSettings
from brightstaff.routing.eval_sets import EVAL_DIR, HOLDOUT2_DIR, HOLDOUT3_DIR, HOLDOUT_DIR
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


def _row(outcome: Outcome, splits: tuple[str, ...], keep: Callable[[str, Example], bool]) -> list[str]:
    return [
        _cell(ok for m, name, e, ok in outcome if m == mode and e.split == split and keep(name, e))
        for mode in MODES
        for split in splits
    ]


def main(argv: list[str]) -> None:
    directories = {"--holdout": HOLDOUT_DIR, "--holdout2": HOLDOUT2_DIR, "--holdout3": HOLDOUT3_DIR}
    if argv and (len(argv) > 1 or argv[0] not in directories):
        raise SystemExit("usage: accuracy.py [--holdout | --holdout2 | --holdout3]")
    holdout = bool(argv)
    sets = load_eval_sets(directories[argv[0]] if holdout else EVAL_DIR)
    splits, names = (("test",), (argv[0].lstrip("-"),)) if holdout else (SPLITS, SPLITS)
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
    columns = [f"{mode} {name}" for mode in MODES for name in names]
    rule = "|---" * (len(columns) + 1) + "|"
    header = "| {} | " + " | ".join(columns) + " |"

    def line(label: str, keep: Callable[[str, Example], bool], extra: str = "") -> None:
        print(f"| {label} | {' | '.join(_row(outcome, splits, keep))} |{extra}")

    print(header.format("set") + " p50 / p99 (cold) |")
    print(rule + "---|")
    for labelled in sets:
        p50, p99 = latency[labelled.name]
        line(labelled.name, lambda name, e, wanted=labelled.name: name == wanted, f" {p50:.1f} / {p99:.1f} ms |")
    line("**pooled**", lambda name, e: True, " |")
    print()
    print(header.format("language"))
    print(rule)
    line("English", lambda name, e: e.lang == "en")
    line("non-English", lambda name, e: e.lang != "en")
    for lang in sorted({e.lang for _, _, e, _ in outcome} - {"en"}):
        line(lang, lambda name, e, lang=lang: e.lang == lang)
    print()
    print(header.format("kind"))
    print(rule)
    for kind in sorted({e.kind for _, _, e, _ in outcome}):
        line(kind, lambda name, e, kind=kind: e.kind == kind)
    print()
    print(header.format("expected label"))
    print(rule)
    line("default", lambda name, e: e.label == "default")
    line("a route", lambda name, e: e.label != "default")


if __name__ == "__main__":
    main(sys.argv[1:])
