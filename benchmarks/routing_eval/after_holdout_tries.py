"""After the holdout's one read: is there a knob that moves all the data at once? (No: every row but one is
within +-4 cases of the shipped router on 595 cases.)

Once the holdout (`data/eval/holdout/`) had been read, the three groups of cases already seen (the dev split,
the four-times-read test split, the holdout) were pooled as development data, 595 cases, to look for a change
that helps everywhere rather than on one split. Each row changes one thing of the shipped router (by
patching, as `zero_shot_tries.py` does) and prints zero-shot / few-shot right answers per group and pooled.
The second holdout (`data/eval/holdout2/`) is not read here unless asked: `--holdout2` runs the same rows on
it alone, which was done only after its own one read (`accuracy.py --holdout2`). Run under the shared lock:
`flock /tmp/brightstaff-heavy.lock .venv/bin/python benchmarks/routing_eval/after_holdout_tries.py [--holdout2]`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from ablations import count, read_groups  # type: ignore[import-not-found]
from ask_reading_tries import quotes, same  # type: ignore[import-not-found]
from numpy.typing import NDArray
from zero_shot_tries import patched, smalltalk_scaled, with_hub_penalty  # type: ignore[import-not-found]

from brightstaff.routing import embedded, smalltalk
from brightstaff.routing.eval_sets import HOLDOUT2_DIR, HOLDOUT_DIR
from brightstaff.routing.evaluate import LabelledSet, load_eval_sets
from brightstaff.routing.sentence_encoder import SentenceEncoder

E, R = embedded, embedded.EmbeddedRouter
_init = R.__init__
_TRIVIA = {"What's the capital of Canada?", "Who wrote Pride and Prejudice?", "How tall is Mount Everest?"}
_NO_TRIVIA = tuple(p for p in smalltalk.PROTOTYPES if p not in _TRIVIA)


def centrality_penalty(beta: float) -> Callable[..., None]:
    """A route close to all the others (a hub in the description space) loses `beta` of its mean cosine to
    them, relative to the routes' average."""

    def init(self: R, providers: Any, min_score: float, *, encoder: SentenceEncoder | None = None) -> None:
        _init(self, providers, min_score, encoder=encoder)
        if len(self._routes) < 2:
            return
        matrix = self._matrix
        similar = matrix @ matrix.T
        np.fill_diagonal(similar, np.nan)
        centrality = np.nanmean(similar, axis=1)
        penalty = beta * (centrality - centrality.mean())

        class Penalised:
            shape = matrix.shape

            def __matmul__(self, v: NDArray[np.float64]) -> NDArray[np.float64]:
                return np.asarray(matrix @ v - penalty)

        self._matrix = Penalised()  # type: ignore[assignment]

    return init


TRIES: list[tuple[str, list[tuple[Any, str, Any]], float]] = [
    ("as shipped", [], 0.1),
    # The holdout's verdict on this round's changes, chosen on dev before it was read:
    ("no quote rule", [(E, "without_quoted", same)], 0.1),
    ("no lead-in rule", [(E, "without_lead_ins", same)], 0.1),
    ("neither rule", [(E, "without_quoted", same), (E, "without_lead_ins", same)], 0.1),
    ("no nearest example (centroid only)", [(E, "NEAREST_EXAMPLE_SHARE", 0.0)], 0.1),
    # One change at a time, looking for one that helps everywhere:
    ("quotes: first 3 words kept", [(E, "without_quoted", quotes(20, None, 3))], 0.1),
    ("quotes of 40+ letters", [(E, "without_quoted", quotes(40, None))], 0.1),
    ("small-talk score x0.9", [(R, "_smalltalk_score", smalltalk_scaled(0.9))], 0.1),
    ("small-talk score x0.95", [(R, "_smalltalk_score", smalltalk_scaled(0.95))], 0.1),
    ("no trivia prototypes", [(smalltalk, "PROTOTYPES", _NO_TRIVIA)], 0.1),
    ("4 nearest small-talk prototypes", [(E, "SMALLTALK_NEAREST", 4)], 0.1),
    ("centering 0.4", [(E, "CENTERING", 0.4)], 0.1),
    ("centering 0.6", [(E, "CENTERING", 0.6)], 0.1),
    ("examples share 0.5", [(E, "EXAMPLES_SHARE", 0.5)], 0.1),
    ("nearest example share 0.35", [(E, "NEAREST_EXAMPLE_SHARE", 0.35)], 0.1),
    ("hub penalty: 26 small-talk prototypes, beta 0.25", [(R, "__init__", with_hub_penalty(0.25, 26))], 0.1),
    *[(f"route centrality penalty {b}", [(R, "__init__", centrality_penalty(b))], 0.1) for b in (0.1, 0.25)],
    ("ask capped at 64 tokens", [(E, "ASK_TOKENS", 64)], 0.1),
    ("min_match_score 0.05", [], 0.05),
]  # fmt: skip


def right(sets: list[LabelledSet], threshold: float) -> int:
    return int(count(sets, threshold).split("/")[0])


def grid_header(groups: dict[str, list[LabelledSet]]) -> None:
    columns = [f"{name} ({sum(len(s.examples) for s in sets)})" for name, sets in groups.items()]
    print(f"| tried (zero-shot / few-shot right) | {' | '.join(columns)} | pooled |")
    print("|---" * (len(columns) + 2) + "|")


def grid_row(
    name: str, changes: list[tuple[Any, str, Any]], threshold: float, groups: dict[str, list[LabelledSet]]
) -> None:
    """One row: zero-shot / few-shot right answers per group, then pooled, with `changes` patched in."""
    cells, zero, few = [], 0, 0
    with patched(changes):
        for chosen in groups.values():
            z, f = right([s.zero_shot() for s in chosen], threshold), right(chosen, threshold)
            zero, few = zero + z, few + f
            cells.append(f"{z} / {f}")
    print(f"| {name} | {' | '.join(cells)} | {zero} / {few} |", flush=True)


def main(argv: list[str]) -> None:
    alone = argv == ["--holdout2"]
    groups = {"holdout2": load_eval_sets(HOLDOUT2_DIR)} if alone else read_groups(HOLDOUT_DIR)
    grid_header(groups)
    for name, changes, threshold in TRIES:
        grid_row(name, changes, threshold, groups)


if __name__ == "__main__":
    main(sys.argv[1:])
