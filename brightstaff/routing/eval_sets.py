"""The independent evaluation sets in `data/eval/`: how each case gets its split, and how the test split is frozen.

Guarantees:
- `assign_splits` is a pure function of the case ids and labels: per set and label (the strata), the ids are
  sorted, shuffled by a `random.Random` seeded with `SPLIT_SEED`, the set and the label, and the first
  `round(DEV_SHARE * n)` become `dev`, the rest `test`. Same cases in, same splits out, on every machine.
- `digest` is the SHA-256 of a case's (or a config's) parsed YAML in canonical JSON, so reformatting the file
  changes nothing while any change to a message, label or tag changes the digest.
- `drift` lists every frozen test case or config in `MANIFEST.json` that changed or disappeared; the unit tests
  run it, so the test split cannot be edited quietly after tuning. Dev cases may still be added or edited.

Run `python -m brightstaff.routing.eval_sets split` to (re)write the `split:` line of every case in `data/eval/`,
`freeze` to record the digests of test cases not yet in a manifest (`data/eval/` and each holdout's; it never
rewrites an entry), `check` to list drift in any of them.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

EVAL_DIR = Path(__file__).parent / "data" / "eval"
# Sets written after the tuning of the embedded router ended, on configs it never saw: every case is `test`,
# frozen in the directory's own manifest, and none was read before the freeze.
HOLDOUT_DIR = EVAL_DIR / "holdout"
# A second such holdout, written once the first had been read and pooled into the development data.
HOLDOUT2_DIR = EVAL_DIR / "holdout2"
# And a third, written beside the second's read so the two could be pooled for one estimate.
HOLDOUT3_DIR = EVAL_DIR / "holdout3"
FROZEN_DIRS = (EVAL_DIR, HOLDOUT_DIR, HOLDOUT2_DIR, HOLDOUT3_DIR)
MANIFEST_NAME = "MANIFEST.json"
SPLIT_SEED = "brightstaff-routing-eval-v1"
DEV_SHARE = 0.4
SPLITS = ("dev", "test")

_ID_LINE = re.compile(r"^(?P<indent> *)- id: (?P<id>\S+)\s*$")
_SPLIT_LINE = re.compile(r"^ *split: \S+\s*$")


def set_files(directory: Path = EVAL_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


def read_sets(path: Path) -> dict[str, Any]:
    """The `sets` mapping of one evaluation file, as parsed YAML."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    sets = data.get("sets") if isinstance(data, dict) else None
    if not isinstance(sets, dict):
        raise ValueError(f"{path}: expected a top-level `sets` mapping")
    return sets


def digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def assign_splits(set_name: str, cases: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """case id -> "dev" | "test", stratified by label (see the module docstring)."""
    strata: dict[str, list[str]] = {}
    for case in cases:
        strata.setdefault(str(case["label"]), []).append(str(case["id"]))
    out: dict[str, str] = {}
    for label, ids in sorted(strata.items()):
        order = sorted(ids)
        random.Random(f"{SPLIT_SEED}:{set_name}:{label}").shuffle(order)  # noqa: S311 (a reproducible shuffle)
        n_dev = round(DEV_SHARE * len(order))
        out.update((case_id, "dev" if i < n_dev else "test") for i, case_id in enumerate(order))
    return out


def write_splits(text: str, splits: Mapping[str, str]) -> str:
    """`text` with a `split:` line right after each case's `- id:` line (replaced when there is one)."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        match = _ID_LINE.match(line)
        if match and match["id"] in splits:
            out.append(f"{match['indent']}  split: {splits[match['id']]}")
            if i < len(lines) and _SPLIT_LINE.match(lines[i]):
                i += 1
    return "\n".join(out)


def split_file(path: Path) -> dict[str, str]:
    splits: dict[str, str] = {}
    for set_name, body in read_sets(path).items():
        splits.update(assign_splits(str(set_name), body.get("examples") or []))
    path.write_text(write_splits(path.read_text(encoding="utf-8"), splits), encoding="utf-8")
    return splits


def fingerprints(directory: Path = EVAL_DIR) -> dict[str, dict[str, Any]]:
    """set name -> {file, config digest, test case id -> digest}, from the files as they are now."""
    out: dict[str, dict[str, Any]] = {}
    for path in set_files(directory):
        for set_name, body in read_sets(path).items():
            tests = {str(c["id"]): digest(c) for c in body.get("examples") or [] if c.get("split") == "test"}
            out[str(set_name)] = {"file": path.name, "config": digest(body.get("config")), "test": tests}
    return out


def load_manifest(directory: Path = EVAL_DIR) -> dict[str, Any]:
    path = directory / MANIFEST_NAME
    if not path.exists():
        return {"sets": {}}
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def drift(directory: Path = EVAL_DIR) -> list[str]:
    """What changed since the freeze: one line per changed or missing config or test case."""
    frozen = load_manifest(directory)["sets"]
    now = fingerprints(directory)
    problems: list[str] = []
    for set_name, entry in sorted(frozen.items()):
        current = now.get(set_name)
        if current is None:
            problems.append(f"{set_name}: the set is gone (was in {entry['file']})")
            continue
        if current["config"] != entry["config"]:
            problems.append(f"{set_name}: the config (routes, descriptions or examples) changed")
        for case_id, sha in sorted(entry["test"].items()):
            got = current["test"].get(case_id)
            if got is None:
                problems.append(f"{set_name}: frozen test case {case_id} is gone or no longer in the test split")
            elif got != sha:
                problems.append(f"{set_name}: frozen test case {case_id} changed")
    return problems


def freeze(directory: Path = EVAL_DIR) -> int:
    """Add the sets and test cases not yet frozen to the manifest; returns how many digests were added."""
    problems = drift(directory)
    if problems:
        raise ValueError("the frozen cases changed, refusing to freeze:\n" + "\n".join(problems))
    manifest = load_manifest(directory)
    manifest.setdefault(
        "note",
        "SHA-256 of every test-split case and of each set's config, recorded before any tuning on these sets. "
        "See brightstaff/routing/eval_sets.py; tests/routing/test_eval_sets.py fails when a frozen entry changes.",
    )
    added = 0
    for set_name, current in fingerprints(directory).items():
        new = {"file": current["file"], "config": current["config"], "test": {}}
        entry = manifest["sets"].setdefault(set_name, new)
        for case_id, sha in current["test"].items():
            if case_id not in entry["test"]:
                entry["test"][case_id] = sha
                added += 1
        entry["test"] = dict(sorted(entry["test"].items()))
    manifest["sets"] = dict(sorted(manifest["sets"].items()))
    text = json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
    (directory / MANIFEST_NAME).write_text(text, encoding="utf-8")
    return added


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "split":
        for path in set_files():
            splits = split_file(path)
            dev = sum(1 for s in splits.values() if s == "dev")
            print(f"{path.name}: {dev} dev, {len(splits) - dev} test")
        return 0
    if command == "freeze":
        for directory in FROZEN_DIRS:
            print(f"{directory.name}: froze {freeze(directory)} test case digests")
        return 0
    if command == "check":
        problems = [f"{d.name}/{p}" for d in FROZEN_DIRS for p in drift(d)]
        print("\n".join(problems) if problems else "frozen test cases unchanged")
        return 1 if problems else 0
    print("usage: python -m brightstaff.routing.eval_sets split|freeze|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
