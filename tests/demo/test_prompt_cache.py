"""The simulated prompt cache (brightstaff/demo/prompt_cache.py): prefixes, reads, writes, the minimum, eviction."""

from __future__ import annotations

from brightstaff.demo.prompt_cache import CacheUse, PromptCache, prefixes

BLOCK = "x" * 400  # 100 tokens


def test_prompts_share_the_digests_of_the_blocks_they_share_in_order() -> None:
    one, two = prefixes([BLOCK, "a", "b"]), prefixes([BLOCK, "a", "c"])
    assert [p.digest for p in one[:2]] == [p.digest for p in two[:2]]
    assert one[2].digest != two[2].digest
    assert prefixes(["a", BLOCK])[1].digest != prefixes([BLOCK, "a"])[1].digest
    assert [p.tokens for p in one] == [100, 101, 102]
    assert prefixes([BLOCK], "model-a")[0].digest != prefixes([BLOCK], "model-b")[0].digest


def test_a_later_prompt_reads_the_longest_prefix_written_before() -> None:
    cache = PromptCache(min_tokens=150)
    first = prefixes([BLOCK, BLOCK, "q1"])
    assert cache.use(first, first[1:2]) == CacheUse(read=0, written=200)
    longer = prefixes([BLOCK, BLOCK, BLOCK, "q2"])
    assert cache.use(longer, longer[2:3]) == CacheUse(read=200, written=100)
    assert cache.use(longer, longer[2:3]) == CacheUse(read=300, written=0)


def test_prefixes_below_the_minimum_are_neither_written_nor_read() -> None:
    cache = PromptCache(min_tokens=150)
    short = prefixes([BLOCK, "q"])
    assert cache.use(short, short) == CacheUse()
    assert cache.use(short, short) == CacheUse()


def test_the_oldest_prefixes_go_first_past_the_capacity() -> None:
    cache = PromptCache(min_tokens=1, capacity=2)
    a, b, c = (prefixes([BLOCK, name]) for name in "abc")
    for chain in (a, b, c):
        cache.use(chain, chain)
    assert cache.use(a, []) == CacheUse(read=100)  # a's own last block was evicted; the shared BLOCK was not
    assert cache.use(c, []) == CacheUse(read=101)
    cache.clear()
    assert cache.use(c, []) == CacheUse()
