"""What each part of the embedded router is worth, on the DEV split only (the test split is never read here).

Each row switches one part off (or moves one constant) by patching `brightstaff.routing.embedded` and runs
the router zero-shot (descriptions only) and few-shot (with the routes' examples) over the 164 dev cases.
Prints a Markdown table (in benchmarks/routing_eval/RESULTS.md). Run under the shared lock:
`flock /tmp/brightstaff-heavy.lock .venv/bin/python benchmarks/routing_eval/ablations.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from brightstaff.routing import embedded
from brightstaff.routing.evaluate import LabelledSet, load_eval_sets
from brightstaff.routing.report import select


@contextmanager
def patched(**constants: Any) -> Iterator[None]:
    saved = {name: getattr(embedded, name) for name in constants}
    for name, value in constants.items():
        setattr(embedded, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(embedded, name, value)


def count(sets: list[LabelledSet], min_score: float, keep: Callable[[str], bool] = lambda lang: True) -> str:
    right = total = 0
    for labelled in sets:
        router = embedded.EmbeddedRouter(labelled.providers, min_score)
        for example in labelled.examples:
            if not keep(example.lang):
                continue
            choice = router.classify(example.request.conversation)
            got = choice.route if choice.reason == "preference" and choice.route else "default"
            right += got == example.label
            total += 1
    return f"{right}/{total} ({right / total:.1%})"


def read_groups(*holdouts: Path) -> dict[str, list[LabelledSet]]:
    """The cases read so far, by group: the dev split, the test split, then each holdout directory given."""
    sets = load_eval_sets()
    groups = {"dev": select(sets, split="dev"), "test": select(sets, split="test")}
    groups.update((directory.name, load_eval_sets(directory)) for directory in holdouts)
    return groups


VARIANTS: list[tuple[str, dict[str, Any], float]] = [
    ("the router as shipped", {}, 0.1),
    ("description embedded as written (no request templates)", {"TEMPLATES": ("{}",)}, 0.1),
    ("no centering", {"CENTERING": 0.0}, 0.1),
    ("no small-talk prototypes (threshold 0.1 only)", {"SMALLTALK_DROP": -2.0}, 0.1),
    ("no small-talk prototypes, threshold 0.15", {"SMALLTALK_DROP": -2.0}, 0.15),
    ("no tool-step rule", {"STEP_ASK_FLOOR": 99.0}, 0.1),
    ("ask clipped to 150 characters", {"ASK_CHARS": 150}, 0.1),
    ("ask clipped to 2,000 characters", {"ASK_CHARS": 2000}, 0.1),
    ("examples share 0.5", {"EXAMPLES_SHARE": 0.5}, 0.1),
    ("examples share 0.8", {"EXAMPLES_SHARE": 0.8}, 0.1),
    ("min_match_score 0", {}, 0.0),
    ("min_match_score 0.15", {}, 0.15),
    ("min_match_score 0.2", {}, 0.2),
]


def main() -> None:
    dev = select(load_eval_sets(), split="dev")
    zero = [s.zero_shot() for s in dev]
    print("| variant (dev split, 164 cases) | zero-shot | few-shot | zero-shot en / non-en |")
    print("|---|---|---|---|")
    for name, constants, min_score in VARIANTS:
        with patched(**constants):
            cells = [
                count(zero, min_score),
                count(dev, min_score),
                count(zero, min_score, lambda lang: lang == "en")
                + " / "
                + count(zero, min_score, lambda lang: lang != "en"),
            ]
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
