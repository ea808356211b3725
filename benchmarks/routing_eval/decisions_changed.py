"""How many decisions one change of a router constant moves, per split and mode, as (case, before, after) lists.

`decisions_changed.py NAME=VALUE [NAME=VALUE ...]` runs the router as shipped and with the constants of
`brightstaff.routing.embedded` set as given (`ASK_TOKENS=1000000`: no token cap), zero-shot and few-shot, on
both splits, and prints every case whose decision (route or default) differs, with its label. Reading the
test split is a test read: run it once, for a change already chosen on dev. Run under the shared lock:
`flock /tmp/brightstaff-heavy.lock env OPENBLAS_NUM_THREADS=1 .venv/bin/python
benchmarks/routing_eval/decisions_changed.py ASK_TOKENS=1000000`.
"""

from __future__ import annotations

import ast
import sys

from ablations import patched  # type: ignore[import-not-found]
from token_cap_tries import decisions  # type: ignore[import-not-found]

from brightstaff.routing.evaluate import load_eval_sets
from brightstaff.routing.report import select


def main(argv: list[str]) -> int:
    constants = {name: ast.literal_eval(value) for name, value in (arg.split("=", 1) for arg in argv)}
    sets = load_eval_sets()
    for split in ("dev", "test"):
        chosen = select(sets, split=split)
        for mode, measured in (("zero-shot", [s.zero_shot() for s in chosen]), ("few-shot", chosen)):
            shipped = decisions(measured)
            with patched(**constants):
                changed = decisions(measured)
            moved = [(a, b[2]) for a, b in zip(shipped, changed, strict=True) if a[2] != b[2]]
            right = sum(label == got for _, label, got in shipped), sum(label == got for _, label, got in changed)
            print(
                f"{split} {mode}: {len(moved)} of {len(shipped)} decisions differ; right {right[0]} as shipped,"
                f" {right[1]} with {argv}"
            )
            for (name, label, got), other in moved:
                print(f"  {name}: label {label}, as shipped {got}, changed {other}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
