"""The independent evaluation sets: the frozen test split cannot change quietly, and the sets keep their shape."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from brightstaff.routing.eval_sets import (
    DEV_SHARE,
    EVAL_DIR,
    FROZEN_DIRS,
    MANIFEST_NAME,
    assign_splits,
    drift,
    freeze,
    read_sets,
    set_files,
    write_splits,
)


def _all_cases(directory: Path = EVAL_DIR) -> list[tuple[str, dict[str, Any]]]:
    return [
        (str(name), case)
        for path in set_files(directory)
        for name, body in read_sets(path).items()
        for case in body.get("examples") or []
    ]


def test_frozen_test_split_and_configs_are_unchanged() -> None:
    # If this fails you edited a frozen test case or a set's config after the freeze: revert it. Tuning
    # reads the dev split only; new cases go in as dev (or as new test cases frozen with `eval_sets freeze`).
    assert drift() == []


def test_manifest_covers_every_set_and_every_test_case() -> None:
    manifest = json.loads((EVAL_DIR / MANIFEST_NAME).read_text(encoding="utf-8"))
    cases = _all_cases()
    assert set(manifest["sets"]) == {name for name, _ in cases}
    frozen = {case_id for entry in manifest["sets"].values() for case_id in entry["test"]}
    assert frozen == {c["id"] for _, c in cases if c["split"] == "test"}


def test_drift_names_an_edited_case_a_removed_case_and_an_edited_config(tmp_path: Path) -> None:
    copy = tmp_path / "eval"
    shutil.copytree(EVAL_DIR, copy)
    assert drift(copy) == []
    path = copy / "seed.yaml"
    sets = read_sets(path)
    test_ids = [c["id"] for c in sets["seed"]["examples"] if c["split"] == "test"]
    text = path.read_text(encoding="utf-8")
    # Relabel the first test case, move the second to dev, and reword a route description.
    first, second = test_ids[0], test_ids[1]
    start = text.index(f"- id: {first}\n")
    text = text[:start] + text[start:].replace("label: code_generation", "label: default", 1)
    text = text.replace(f"- id: {second}\n        split: test", f"- id: {second}\n        split: dev")
    text = text.replace("or creating boilerplate", "or creating scaffolding")
    path.write_text(text, encoding="utf-8")
    problems = drift(copy)
    assert f"seed: frozen test case {first} changed" in problems
    assert f"seed: frozen test case {second} is gone or no longer in the test split" in problems
    assert "seed: the config (routes, descriptions or examples) changed" in problems
    with pytest.raises(ValueError, match="refusing to freeze"):
        freeze(copy)


def test_freeze_adds_new_test_cases_and_keeps_the_old_digests(tmp_path: Path) -> None:
    copy = tmp_path / "eval"
    shutil.copytree(EVAL_DIR, copy)
    before = json.loads((copy / MANIFEST_NAME).read_text(encoding="utf-8"))
    path = copy / "tutoring.yaml"
    text = path.read_text(encoding="utf-8").rstrip("\n")
    text += "\n      - id: tu-999\n        split: test\n        label: default\n        lang: en\n"
    text += "        kind: smalltalk\n        prompt: see you next week\n"
    path.write_text(text, encoding="utf-8")
    assert freeze(copy) == 1
    after = json.loads((copy / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert "tu-999" in after["sets"]["tutoring"]["test"]
    del after["sets"]["tutoring"]["test"]["tu-999"]
    assert after == before


def test_splits_are_the_seeded_stratified_assignment() -> None:
    for path in set_files():
        for name, body in read_sets(path).items():
            cases = body["examples"]
            expected = assign_splits(str(name), cases)
            assert {c["id"]: c["split"] for c in cases} == expected
            for label in {c["label"] for c in cases}:
                stratum = [c for c in cases if c["label"] == label]
                dev = sum(1 for c in stratum if c["split"] == "dev")
                assert dev == round(DEV_SHARE * len(stratum)), (name, label)


def test_split_assignment_ignores_case_order_and_write_splits_is_idempotent() -> None:
    cases = [{"id": f"x-{i:02d}", "label": "a" if i % 3 else "b"} for i in range(20)]
    assert assign_splits("s", cases) == assign_splits("s", list(reversed(cases)))
    assert assign_splits("s", cases) != assign_splits("t", cases)  # the seed includes the set name
    text = "    - id: x-01\n      label: a\n    - id: x-02\n      split: test\n      label: a\n"
    once = write_splits(text, {"x-01": "dev", "x-02": "dev"})
    want = "    - id: x-01\n      split: dev\n      label: a\n    - id: x-02\n      split: dev\n      label: a\n"
    assert once == want
    assert write_splits(once, {"x-01": "dev", "x-02": "dev"}) == once


def test_the_sets_have_the_coverage_issue_11_asks_for() -> None:
    cases = _all_cases()
    assert len({name for name, _ in cases}) >= 6
    assert len(cases) >= 400
    langs = Counter(c["lang"] for _, c in cases if c["lang"] != "en")
    assert sum(langs.values()) >= 60
    assert len(langs) >= 5
    kinds = Counter(c["kind"] for _, c in cases)
    for kind in ("single", "multi_turn", "agent", "indirect", "smalltalk", "long"):
        assert kinds[kind] > 0, kind
    assert len({c["id"] for _, c in cases}) == len(cases)


def test_few_shot_examples_are_distinct_from_every_case() -> None:
    asks = set()
    for _, case in _all_cases():
        if "prompt" in case:
            asks.add(case["prompt"].strip().lower())
        for message in case.get("messages", []):
            if isinstance(message.get("content"), str):
                asks.add(message["content"].strip().lower())
    for path in set_files():
        for body in read_sets(path).values():
            for provider in body["config"]["model_providers"]:
                for pref in provider.get("routing_preferences", []):
                    assert 3 <= len(pref["examples"]) <= 5, pref["name"]
                    for example in pref["examples"]:
                        assert example.strip().lower() not in asks, example


@pytest.mark.parametrize("directory", FROZEN_DIRS[1:], ids=lambda d: d.name)
def test_holdout_sets_are_frozen_whole_and_apart_from_the_other_sets(directory: Path) -> None:
    # A holdout is written after tuning ended and read once: all of it is frozen, none of it is dev.
    assert drift(directory) == []
    manifest = json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
    cases = _all_cases(directory)
    assert len(cases) >= 150 and {c["split"] for _, c in cases} == {"test"}
    assert {cid for entry in manifest["sets"].values() for cid in entry["test"]} == {c["id"] for _, c in cases}
    others = [d for d in FROZEN_DIRS if d != directory]
    assert not {name for name, _ in cases} & {name for d in others for name, _ in _all_cases(d)}


# `key: value` or `- value` on one line, the value plain (not quoted, not a block scalar).
_PLAIN_SCALAR = re.compile(r"^\s*(?:- )?(?:[A-Za-z_]+:\s+|- )(?P<value>[^\"'|>\s#].*)$")


@pytest.mark.parametrize("path", [p for d in FROZEN_DIRS for p in set_files(d)], ids=lambda p: p.name)
def test_no_case_text_is_cut_by_a_yaml_comment(path: Path) -> None:
    # In a plain YAML scalar " #" starts a comment: `prompt: Order #A-55 is late` parses as "Order".
    cut = [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if (match := _PLAIN_SCALAR.match(line)) and " #" in match["value"]
    ]
    assert cut == []
