"""A provider's prompt cache, simulated: which prefixes of a prompt a fake saw before, and the tokens that saves.

What it guarantees (sans-IO, no clock: entries never expire, the oldest go first past `capacity`):
- A prompt is a sequence of blocks (each a canonical text: a tool, a system block, a message part), and
  a prefix is named by a digest chained block by block, so two prompts share a prefix's digest exactly
  when they share those blocks, in that order.
- `use(candidates, write)` reads the longest candidate prefix stored before (and at least `min_tokens`
  long), then stores the `write` prefixes that are long enough, and says how many tokens were read from
  the cache and how many were newly written (the longest written prefix, less what was read).
- Anthropic's explicit caching asks with every prefix as a candidate and writes the prefixes that end on
  a `cache_control` breakpoint; OpenAI's automatic caching reads and writes every prefix. Either way a
  conversation that keeps talking to one fake (what model affinity is for) reads its history from the
  cache, and one that moves to another fake starts cold.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from brightstaff.demo.scripted_model import tokens


@dataclass(frozen=True, slots=True)
class Prefix:
    digest: str
    tokens: int  # of the whole prefix


def prefixes(blocks: Sequence[str], salt: str = "") -> list[Prefix]:
    """Every prefix of `blocks`, in order; `salt` (a model, a cache key) separates otherwise equal prompts."""
    out: list[Prefix] = []
    digest = hashlib.sha256(salt.encode()).hexdigest()
    total = 0
    for block in blocks:
        digest = hashlib.sha256(f"{digest}|{block}".encode()).hexdigest()
        total += tokens(block)
        out.append(Prefix(digest, total))
    return out


@dataclass(frozen=True, slots=True)
class CacheUse:
    read: int = 0  # tokens read from the cache
    written: int = 0  # tokens written to it by this request


@dataclass(eq=False)
class PromptCache:
    min_tokens: int = 1024  # shorter prefixes are not cached (Anthropic's and OpenAI's minimum)
    capacity: int = 4096  # prefixes kept
    _stored: OrderedDict[str, None] = field(default_factory=OrderedDict, repr=False)

    def use(self, candidates: Sequence[Prefix], write: Sequence[Prefix]) -> CacheUse:
        hits = [p.tokens for p in candidates if p.digest in self._stored and p.tokens >= self.min_tokens]
        read = max(hits, default=0)
        written = 0
        for prefix in write:
            if prefix.tokens < self.min_tokens:
                continue
            self._stored[prefix.digest] = None
            self._stored.move_to_end(prefix.digest)
            written = max(written, prefix.tokens - read)
        while len(self._stored) > self.capacity:
            self._stored.popitem(last=False)
        return CacheUse(read, written)

    def clear(self) -> None:
        self._stored.clear()
