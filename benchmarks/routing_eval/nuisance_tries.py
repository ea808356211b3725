"""Nuisance whitening: discount the directions in which a request's wording varies without its topic changing.

Tried on the DEV split only (the test split is never read here). Each route's description is put in a
diverse set of request styles; how those rows spread around their route's mean (the within-route scatter)
is wording, not topic. Both the routes and the ask are then mapped through a transform that shrinks those
directions: either whitening by the shrunk within-route covariance ((1 - lam) * S / s + lam * I)^(-1/2), or
projecting out its top-k principal directions. The route vectors themselves are unchanged (the shipped
templates); only the space they are compared in moves. Run under the shared lock:
`flock /tmp/brightstaff-heavy.lock .venv/bin/python benchmarks/routing_eval/nuisance_tries.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from zero_shot_tries import dev_table  # type: ignore[import-not-found]

from brightstaff.routing import embedded
from brightstaff.routing.sentence_encoder import SentenceEncoder

Vector = NDArray[np.float64]
Router = embedded.EmbeddedRouter
_init = Router.__init__
_vector = Router._vector

STYLES = (
    *embedded.TEMPLATES,
    "{}",
    "I have a question about {}.",
    "Quick question regarding {}.",
    "I'm stuck on {}, any ideas?",
    "My task today: {}.",
    "What is the best way to handle {}?",
    "Do this for me: {}.",
)


def scatter(encoder: SentenceEncoder, descriptions: list[str], styles: tuple[str, ...]) -> Vector:
    rows = []
    for d in descriptions:
        x = encoder.embed([s.format(embedded._as_request(d)) for s in styles]).astype(np.float64)
        rows.append(x - x.mean(axis=0, keepdims=True))
    z = np.concatenate(rows)
    return np.asarray(z.T @ z / len(z))


def whiten(lam: float, styles: tuple[str, ...] = STYLES) -> Callable[[Vector], Vector]:
    def make(s: Vector) -> Vector:
        d = s.shape[0]
        sigma = (1 - lam) * s / (np.trace(s) / d) + lam * np.eye(d)
        w, u = np.linalg.eigh(sigma)
        return np.asarray((u / np.sqrt(w)) @ u.T)

    return make


def project(k: int) -> Callable[[Vector], Vector]:
    def make(s: Vector) -> Vector:
        w, u = np.linalg.eigh(s)
        top = u[:, np.argsort(-w)[:k]]
        return np.asarray(np.eye(s.shape[0]) - top @ top.T)

    return make


def with_transform(make: Callable[[Vector], Vector], styles: tuple[str, ...] = STYLES) -> Callable[..., None]:
    def init(self: Router, providers: Any, min_score: float, *, encoder: SentenceEncoder | None = None) -> None:
        _init(self, providers, min_score, encoder=encoder)
        if not self._routes:
            return
        prefs = [r.preference for r in embedded.routes_of(providers)]
        t = make(scatter(self._encoder, [p.description for p in prefs], styles))
        self._t = t  # type: ignore[attr-defined]
        self._matrix = embedded._unit(self._matrix @ t)
        self._smalltalk = embedded._unit(self._smalltalk @ t)

    return init


def vector(self: Router, text: str, cap: Any = None) -> Vector:
    v = _vector(self, text, cap)
    t = getattr(self, "_t", None)
    return v if t is None or not v.any() else embedded._unit(t @ v)


TRIES: list[tuple[str, list[tuple[Any, str, Any]]]] = [
    ("the router as shipped", []),
    *[(f"whitened, shrinkage {lam}", [(Router, "__init__", with_transform(whiten(lam))), (Router, "_vector", vector)])
      for lam in (0.3, 0.6, 0.8, 0.9)],
    *[(f"top {k} wording directions projected out", [(Router, "__init__", with_transform(project(k))),
                                                     (Router, "_vector", vector)]) for k in (2, 4, 8, 16, 32)],
]  # fmt: skip


def main() -> None:
    dev_table(TRIES)


if __name__ == "__main__":
    main()
