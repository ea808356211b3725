"""Few-shot ideas that leave zero-shot decisions as they are, on the DEV split only (test never read here).

Each row changes how a route with `examples` is scored; a route without examples is untouched, so the
zero-shot column must equal the shipped router's (it is printed as a check). Families:
- the route's name, templated, added to a route with examples (zero-shot it cost dev cases: the name alone
  is ambiguous, next to examples it is not);
- nearest example: a route's score blends its centroid's cosine with the best single example's (centred
  like the routes), so one example close to the ask counts even when the others are spread out. Share 0.25,
  the middle of the dev plateau (0.2-0.35), ships as `embedded.NEAREST_EXAMPLE_SHARE`.
Run under the shared lock:
`flock /tmp/brightstaff-heavy.lock .venv/bin/python benchmarks/routing_eval/few_shot_tries.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from zero_shot_tries import _templated, dev_table  # type: ignore[import-not-found]

from brightstaff.config import RoutingPreference
from brightstaff.routing import embedded
from brightstaff.routing.sentence_encoder import SentenceEncoder

Vector = NDArray[np.float64]
Router = embedded.EmbeddedRouter
_init = Router.__init__
_preference_vector = embedded.preference_vector


def name_with_examples(weight: float) -> Callable[[SentenceEncoder, RoutingPreference], Vector]:
    def vector(encoder: SentenceEncoder, pref: RoutingPreference) -> Vector:
        base = _preference_vector(encoder, pref)
        if not pref.examples:
            return base
        name = pref.name.replace("_", " ").replace("-", " ")
        return embedded._unit(base + weight * _templated(encoder, name))

    return vector


E = embedded
TRIES: list[tuple[str, list[tuple[Any, str, Any]]]] = [
    ("before: centroid only (nearest example share 0)", [(E, "NEAREST_EXAMPLE_SHARE", 0.0)]),
    *[(f"+ route name with examples, weight {w}", [(E, "NEAREST_EXAMPLE_SHARE", 0.0),
                                                   (E, "preference_vector", name_with_examples(w))])
      for w in (0.1, 0.2, 0.3)],
    *[(f"nearest example, share {s}", [(E, "NEAREST_EXAMPLE_SHARE", s)]) for s in (0.1, 0.2, 0.25, 0.35, 0.5)],
    *[(f"nearest example, share {s}, + route name with examples, weight 0.2",
       [(E, "NEAREST_EXAMPLE_SHARE", s), (E, "preference_vector", name_with_examples(0.2))]) for s in (0.2, 0.35)],
]  # fmt: skip


def main() -> None:
    dev_table(TRIES, "few-shot")


if __name__ == "__main__":
    main()
