"""RSS per pin of the memory store: `python tests/pins/bench_pin_memory.py [N]` (README, Affinity semantics).

Keys are made inside the measured region (ULID-shaped, 26 characters), as requests bring them.
"""

import asyncio
import gc
import os
import random
import sys
import time

from brightstaff.core.decision import Pin
from brightstaff.pins.memory import MemoryPinStore


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
rng = random.Random(7)
alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
providers = ["openai/gpt-4o", "anthropic/claude-sonnet-4-20250514", "openai/gpt-4o-mini"]
routes = ["complex_reasoning", "code_generation", None]
store = MemoryPinStore(max_entries=N + 1, ttl_seconds=600)
gc.collect()
before = rss()


async def fill() -> None:
    for i in range(N):
        k = "".join(rng.choice(alphabet) for _ in range(26))  # a ULID-shaped id, as a request brings it
        j = i % 3
        await store.claim(k, Pin(providers[j], routes[j], time.time()))


asyncio.run(fill())
gc.collect()
after = rss()
growth = after - before
print(f"{N} pins: RSS +{growth / 1e6:.1f} MB, {growth / N:.0f} bytes per pin (26-character ids, keys included)")
