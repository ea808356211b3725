"""Ideas tried for zero-shot accuracy after the test split came in under target, on the DEV split only.

None of them ships: none raised dev zero-shot without losing dev few-shot or non-English asks (the table is
in benchmarks/routing_eval/RESULTS.md, "What was tried"). Each row changes one thing by patching
`brightstaff.routing.embedded` (as `ablations.py` does) and runs the router over the 164 dev cases; the test
split is never read. Run under the shared lock:
`flock /tmp/brightstaff-heavy.lock .venv/bin/python benchmarks/routing_eval/zero_shot_tries.py`.

The families, each a general method (no word from the evaluation sets):
- route side: the route's name as a second templated text; the items a description lists ("A, B or C")
  embedded one by one, then blended (max or mean) into the route; more request templates; centering moved;
- ask side: the ask's last sentence or the mean of its sentences blended into its vector (the request often
  ends a message that opens with context); the ask framed as a request like the descriptions are;
- hubness: a route that is near every ask (the sets' `documentation`, `copywriting`, `data_cleaning` take
  half the sibling misses) penalised by its mean cosine to a neutral pool (the small-talk prototypes, or
  content-free requests as in "calibrate before use"), the ask centred on that pool's mean, or each route
  centred on its nearest siblings as well as on all routes;
- the small-talk score scaled against the routes' (the default decision's calibration).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import numpy as np
from ablations import count  # type: ignore[import-not-found]
from numpy.typing import NDArray

from brightstaff.config import RoutingPreference
from brightstaff.routing import embedded, smalltalk
from brightstaff.routing.evaluate import load_eval_sets
from brightstaff.routing.report import select
from brightstaff.routing.sentence_encoder import SentenceEncoder

Vector = NDArray[np.float64]
Router = embedded.EmbeddedRouter
_preference_vector = embedded.preference_vector
_vector = Router._vector
_smalltalk_score = Router._smalltalk_score
_init = Router.__init__
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


@contextmanager
def patched(changes: list[tuple[Any, str, Any]]) -> Iterator[None]:
    with ExitStack() as stack:
        for owner, name, value in changes:
            stack.callback(setattr, owner, name, getattr(owner, name))
            setattr(owner, name, value)
        yield


def _templated(encoder: SentenceEncoder, text: str) -> Vector:
    return embedded._mean_direction(encoder.embed([t.format(embedded._as_request(text)) for t in embedded.TEMPLATES]))


def _listed_items(description: str) -> list[str]:
    """ "writing or updating docstrings, READMEs and API documentation" -> its two comma-separated items."""
    items = [re.sub(r"^(or|and) ", "", p.strip()) for p in re.split(r"[,:]", description) if p.strip()]
    return items if len(items) > 1 else []


def with_name(weight: float) -> Callable[[SentenceEncoder, RoutingPreference], Vector]:
    def vector(encoder: SentenceEncoder, pref: RoutingPreference) -> Vector:
        name = pref.name.replace("_", " ").replace("-", " ")
        return embedded._unit(_preference_vector(encoder, pref) + weight * _templated(encoder, name))

    return vector


def with_items_mean(weight: float) -> Callable[[SentenceEncoder, RoutingPreference], Vector]:
    def vector(encoder: SentenceEncoder, pref: RoutingPreference) -> Vector:
        base = _preference_vector(encoder, pref)
        items = _listed_items(pref.description)
        if not items:
            return base
        mean = embedded._unit(np.mean([_templated(encoder, item) for item in items], axis=0))
        return embedded._unit(base + weight * mean)

    return vector


def with_items_max(weight: float) -> Callable[..., None]:
    """A route scores the best of (itself, its best listed item blended in at `weight`)."""

    def init(self: Router, providers: Any, min_score: float, *, encoder: SentenceEncoder | None = None) -> None:
        _init(self, providers, min_score, encoder=encoder)
        if not self._routes:
            return
        prefs = [r.preference for r in embedded.routes_of(providers)]
        raw = np.stack([_preference_vector(self._encoder, p) for p in prefs])
        mean = raw.mean(axis=0, keepdims=True)
        listed = [_listed_items(p.description) for p in prefs]
        shift = embedded.CENTERING * mean
        items = [
            embedded._unit(np.stack([_templated(self._encoder, i) for i in ls]) - shift) if ls else None
            for ls in listed
        ]
        matrix = self._matrix

        class Scored:
            shape = matrix.shape

            def __matmul__(self, v: Vector) -> Vector:
                scores = matrix @ v
                for i, rows in enumerate(items):
                    if rows is not None:
                        scores[i] = max(scores[i], (1 - weight) * scores[i] + weight * float((rows @ v).max()))
                return np.asarray(scores)

        self._matrix = Scored()  # type: ignore[assignment]

    return init


# Requests that name no topic: "calibrate before use" (Zhao et al., 2021) measures each label's bias on such
# content-free inputs and takes it out.
CONTENT_FREE = (
    "Can you help me with this?",
    "Help me with something.",
    "I have a question.",
    "Please do this for me.",
    "What do you think?",
    "N/A",
)


def with_hub_penalty(
    beta: float, nearest: int, pool_texts: tuple[str, ...] = smalltalk.PROTOTYPES
) -> Callable[..., None]:
    def init(self: Router, providers: Any, min_score: float, *, encoder: SentenceEncoder | None = None) -> None:
        _init(self, providers, min_score, encoder=encoder)
        if not self._routes:
            return
        pool = self._encoder.embed(pool_texts).astype(np.float64)
        hub = np.sort(pool @ self._matrix.T, axis=0)[-nearest:].mean(axis=0)
        penalty, matrix = beta * (hub - hub.mean()), self._matrix

        class Penalised:
            shape = matrix.shape

            def __matmul__(self, v: Vector) -> Vector:
                return np.asarray(matrix @ v - penalty)

        self._matrix = Penalised()  # type: ignore[assignment]

    return init


def with_sibling_centering(share: float, nearest: int) -> Callable[..., None]:
    """Each route also loses `share` of its `nearest` most similar siblings' mean: what it shares with the
    routes it is confused with ("writing ..." in several descriptions) counts less."""

    def init(self: Router, providers: Any, min_score: float, *, encoder: SentenceEncoder | None = None) -> None:
        _init(self, providers, min_score, encoder=encoder)
        if len(self._routes) < 2:
            return
        raw = np.stack([_preference_vector(self._encoder, r.preference) for r in embedded.routes_of(providers)])
        similar = raw @ raw.T
        np.fill_diagonal(similar, -np.inf)
        siblings = np.argsort(-similar, axis=1, kind="stable")[:, :nearest]
        local = raw[siblings].mean(axis=1)
        self._matrix = embedded._unit(raw - embedded.CENTERING * raw.mean(axis=0, keepdims=True) - share * local)

    return init


def ask_centred(share: float) -> Callable[[Router, str], Vector]:
    def vector(self: Router, text: str) -> Vector:
        v = _vector(self, text)
        mean = self._encoder.embed(smalltalk.PROTOTYPES).astype(np.float64).mean(axis=0)
        return v if not v.any() else embedded._unit(v - share * mean)

    return vector


def with_sentences(weight: float, last_only: bool) -> Callable[[Router, str], Vector]:
    def vector(self: Router, text: str) -> Vector:
        v = _vector(self, text)
        parts = [p for p in _SENTENCE_END.split(text.strip()) if p.strip()]
        if len(parts) < 2 or not v.any():
            return v
        extra = _vector(self, parts[-1]) if last_only else embedded._unit(np.mean([_vector(self, p) for p in parts], 0))
        return embedded._unit(v + weight * extra)

    return vector


def framed(template: str) -> Callable[[Router, str], Vector]:
    def vector(self: Router, text: str) -> Vector:
        return _vector(self, template.format(text) if text.strip() else text)

    return vector


def smalltalk_scaled(factor: float) -> Callable[[Router, Vector], float]:
    def score(self: Router, v: Vector) -> float:
        s = _smalltalk_score(self, v)
        return s * factor if s > -1.0 else s

    return score


E, R, T = embedded, Router, embedded.TEMPLATES
TRIES: list[tuple[str, list[tuple[Any, str, Any]]]] = [
    ("the router as shipped", []),
    *[(f"+ route name, templated, weight {w}", [(E, "preference_vector", with_name(w))]) for w in (0.2, 0.35, 0.5)],
    *[(f"+ mean of the description's listed items, weight {w}", [(E, "preference_vector", with_items_mean(w))])
      for w in (0.25, 0.5, 1.0)],
    *[(f"+ best listed item, share {w}", [(R, "__init__", with_items_max(w))]) for w in (0.5, 0.7, 1.0)],
    ("+ template 'I have a question about {}.'", [(E, "TEMPLATES", (*T, "I have a question about {}."))]),
    ("+ template 'I need {}.'", [(E, "TEMPLATES", (*T, "I need {}."))]),
    *[(f"centering {c}", [(E, "CENTERING", c)]) for c in (0.4, 0.6, 0.75)],
    *[(f"sibling centering: minus {c} of the {k} nearest routes' mean", [(R, "__init__", with_sibling_centering(c, k))])
      for k in (1, 2) for c in (0.15, 0.3)],
    *[(f"ask + its last sentence, weight {w}", [(R, "_vector", with_sentences(w, True))]) for w in (0.3, 0.6)],
    *[(f"ask + the mean of its sentences, weight {w}", [(R, "_vector", with_sentences(w, False))]) for w in (0.5, 1.0)],
    ("ask framed 'Can you help me with this? {}'", [(R, "_vector", framed("Can you help me with this? {}"))]),
    *[(f"hub penalty: mean cosine to the {k} nearest small-talk prototypes, beta {b}",
       [(R, "__init__", with_hub_penalty(b, k))]) for k in (3, 8, 26) for b in (0.5, 1.0)],
    *[(f"content-free calibration: penalty = cosine to content-free requests' mean, beta {b}",
       [(R, "__init__", with_hub_penalty(b, len(CONTENT_FREE), CONTENT_FREE))]) for b in (0.25, 0.5, 1.0)],
    *[(f"ask centred on the small-talk prototypes' mean, share {c}", [(R, "_vector", ask_centred(c))])
      for c in (0.3, 0.5)],
    *[(f"small-talk score x{f}", [(R, "_smalltalk_score", smalltalk_scaled(f))]) for f in (0.9, 1.05, 1.1)],
]  # fmt: skip


def dev_table(tries: list[tuple[str, list[tuple[Any, str, Any]]]], languages: str = "zero-shot") -> None:
    """One Markdown row per try on the dev split: zero-shot, few-shot, and `languages` mode by English / not."""
    dev = select(load_eval_sets(), split="dev")
    zero = [s.zero_shot() for s in dev]
    split_by = zero if languages == "zero-shot" else dev
    print(f"| tried (dev split, 164 cases) | zero-shot | few-shot | {languages} en / non-en |")
    print("|---|---|---|---|")
    for name, changes in tries:
        with patched(changes):
            english = count(split_by, 0.1, lambda lang: lang == "en")
            other = count(split_by, 0.1, lambda lang: lang != "en")
            print(f"| {name} | {count(zero, 0.1)} | {count(dev, 0.1)} | {english} / {other} |", flush=True)


def main() -> None:
    dev_table(TRIES)


if __name__ == "__main__":
    main()
