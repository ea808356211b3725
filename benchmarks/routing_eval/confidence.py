"""How often the embedded router is right at each confidence level (`high`, `medium`, `low`).

For the README's claim about the decision's `confidence` label (metrics and decision log): per group of cases
(the dev split, the test split, each holdout directory), zero-shot and few-shot, the share of right decisions
among those labelled `high`, `medium` and `low`. Run under the shared lock:
`flock /tmp/brightstaff-heavy.lock .venv/bin/python benchmarks/routing_eval/confidence.py`.
"""

from __future__ import annotations

from collections import Counter

from ablations import read_groups  # type: ignore[import-not-found]

from brightstaff.routing.embedded import EmbeddedRouter
from brightstaff.routing.eval_sets import HOLDOUT2_DIR, HOLDOUT3_DIR, HOLDOUT_DIR
from brightstaff.routing.evaluate import LabelledSet

LEVELS = ("high", "medium", "low")


def tally(sets: list[LabelledSet]) -> str:
    seen: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for labelled in sets:
        router = EmbeddedRouter(labelled.providers, 0.1)
        for example in labelled.examples:
            choice = router.classify(example.request.conversation)
            got = choice.route if choice.reason == "preference" and choice.route else "default"
            seen[choice.confidence] += 1
            right[choice.confidence] += got == example.label
    return " | ".join(f"{right[c]}/{seen[c]} ({right[c] / max(seen[c], 1):.0%})" for c in LEVELS)


def main() -> None:
    groups = read_groups(HOLDOUT_DIR, HOLDOUT2_DIR, HOLDOUT3_DIR)
    print("| group, mode | high | medium | low |")
    print("|---|---|---|---|")
    for name, chosen in groups.items():
        print(f"| {name}, zero-shot | {tally([s.zero_shot() for s in chosen])} |")
        print(f"| {name}, few-shot | {tally(chosen)} |")


if __name__ == "__main__":
    main()
