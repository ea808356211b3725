"""How a long-running brightstaff process sets Python's garbage collector, once it has started.

Guarantees:
- `settle_collector()` is called once by `serve` and `up` after the app has started (config parsed, router
  and its vectors built, transport listening), never by library code or tests that build apps in-process.
- Everything alive at that moment is moved out of the collector's reach (`gc.freeze`): the modules,
  config, router tables and protobuf classes are never freed while the process runs, so scanning them on
  every full collection is pure cost.
- The youngest generation is collected after `YOUNG_THRESHOLD` new container objects instead of Python's
  default (700 up to 3.12, 2,000 on 3.13): one translated 50 KB request builds thousands of dicts and
  lists, which at 700 meant several young collections per request. Reference counting still frees
  acyclic garbage at once; only cycles wait longer, and their number is bounded by the threshold.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("brightstaff")

YOUNG_THRESHOLD = 50_000
OLDER_THRESHOLDS = (20, 20)


def settle_collector() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    log.debug("gc: %d objects frozen, thresholds %s", gc.get_freeze_count(), gc.get_threshold())
