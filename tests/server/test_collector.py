"""The garbage collector settings of a long-running process: set by `serve` once it has started, never by
importing brightstaff (the checks run in fresh interpreters, so this test process keeps its own settings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from seed_data import SEED_ENV, seed_config_data

from brightstaff.server.collector import OLDER_THRESHOLDS, YOUNG_THRESHOLD
from harness import brightstaff_process
from harness.free_port import free_port

SETTLE = """
import gc, json
default = gc.get_threshold()
import brightstaff.server.app  # what serve has loaded by then
before = gc.get_threshold()
from brightstaff.server.collector import settle_collector
settle_collector()
frozen = gc.get_freeze_count()
class Node:
    pass
a, b = Node(), Node()
a.other, b.other = b, a  # a cycle made after the freeze is still the collector's to free
del a, b
seen = {"default": default, "before": before, "after": gc.get_threshold(), "frozen": frozen}
print(json.dumps({**seen, "freed": gc.collect()}))
"""


def test_settling_freezes_what_is_alive_and_raises_the_young_threshold() -> None:
    out = subprocess.run([sys.executable, "-c", SETTLE], capture_output=True, text=True, check=True).stdout
    seen = json.loads(out)
    assert seen["before"] == seen["default"], "importing brightstaff must leave the collector alone"
    assert seen["after"] == [YOUNG_THRESHOLD, *OLDER_THRESHOLDS]
    assert seen["frozen"] > 10_000, "the loaded modules and classes were not frozen"
    assert seen["freed"] >= 2, "a cycle made after the freeze was not collected"


def test_serve_settles_the_collector_once_it_is_ready(tmp_path: Path) -> None:
    grpc_port, admin_port = free_port(), free_port()
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(seed_config_data(grpc_port=grpc_port, admin_port=admin_port)))
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = brightstaff_process.start_serve(
            config, admin_port, log, log_path, {**os.environ, **SEED_ENV}, log_level="debug"
        )
        assert brightstaff_process.stop(process) == 0
    settled = [line for line in log_path.read_text().splitlines() if "gc:" in line]
    assert len(settled) == 1, log_path.read_text()[-3000:]
    assert f"thresholds ({YOUNG_THRESHOLD}, {OLDER_THRESHOLDS[0]}, {OLDER_THRESHOLDS[1]})" in settled[0]
