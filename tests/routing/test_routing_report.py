"""`brightstaff routing-report`: the embedded router always, the LLM router when configured (against the fake
router model on a background loop), set and split selection, exit codes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_router import FakeRouter, start_fake_router
from loop_thread import LoopThread

from brightstaff.cli import main
from brightstaff.routing.evaluate import load_eval_sets, load_labelled
from brightstaff.routing.report import FALLBACK_LABEL, percentile, select

RULES = [("function", "code_generation"), ("code", "code_generation"), ("explain", "complex_reasoning")]


@pytest.fixture
def fake() -> Iterator[FakeRouter]:
    """A fake router served from a loop on its own thread: the CLI under test runs its own event loop
    (`asyncio.run` inside `main`), so the fake cannot share the test's."""
    loop = LoopThread("fake-router")
    router = loop.run(start_fake_router(rules=RULES), timeout=10)
    try:
        yield router
    finally:
        loop.run(router.close(), timeout=10)
        loop.close()


def write_config(tmp_path: Path, base_url: str, **router: Any) -> str:
    data = {
        "model_providers": [{"model": "openai/gpt-4o-mini", "default": True}],
        "routing": {"router": {"type": "llm", "base_url": base_url, "model": "Arch-Router", **router}},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def test_embedded_report_covers_every_shipped_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routing-report", "--no-misses", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    names = [s.name for s in load_eval_sets()]
    assert len(names) == 6
    for name in names:
        assert f"== {name} / embedded router" in out
    assert "recall" in out and "latency p50" in out
    summary = out.rsplit("\n\n", 1)[1].splitlines()
    assert summary[0].split()[:3] == ["set", "router", "accuracy"]
    assert len(summary) == 7
    assert "llm" not in out


def test_the_llm_router_is_measured_when_configured(
    tmp_path: Path, fake: FakeRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, fake.base_url)
    assert main(["routing-report", config, "--set", "seed", "--split", "test", "--concurrency", "4"]) == 0
    out = capsys.readouterr().out
    assert "== seed / embedded router" in out and "== seed / llm router" in out
    assert "router calls: p50" in out and "router failures: 0" in out
    seed = next(s for s in load_eval_sets() if s.name == "seed")
    holdout = [e for e in seed.examples if e.split == "test"]
    assert len(fake.calls) == len(holdout)
    assert all(call.routes == ["complex_reasoning", "code_generation"] for call in fake.calls)
    assert "accuracy" in out.split("== seed / llm router", 1)[1]


def test_router_failures_show_as_fallbacks_and_a_dead_router_exits_1(
    tmp_path: Path, fake: FakeRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.mode = "500"
    config = write_config(tmp_path, fake.base_url)
    assert main(["routing-report", config, "--set", "seed", "--split", "test", "--no-misses"]) == 1
    out = capsys.readouterr().out
    llm = out.split("== seed / llm router", 1)[1]
    assert "accuracy 0.0%" in llm
    assert FALLBACK_LABEL in llm
    assert "router failures (served by the default model):" in llm and "http_status" in llm


def test_unknown_sets_and_splits_are_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routing-report", "--set", "nope"]) == 2
    assert "no labelled set 'nope'" in capsys.readouterr().err
    assert main(["routing-report", "--split", "nope"]) == 2
    assert "no examples in split 'nope'" in capsys.readouterr().err


def test_select_narrows_sets_and_splits() -> None:
    sets = load_eval_sets()
    (seed,) = select(sets, names=["seed"], split="dev")
    assert seed.examples and {e.split for e in seed.examples} == {"dev"}
    assert [s.name for s in select(sets)] == [s.name for s in sets]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.9), percentile(values, 0.99)) == (50.0, 90.0, 99.0)
    assert percentile([], 0.5) == 0.0
    assert percentile([7.0], 0.99) == 7.0


def test_select_filters_on_tags_with_where() -> None:
    from brightstaff.routing.eval_sets import EVAL_DIR

    sets = load_labelled(EVAL_DIR / "seed.yaml")
    (english_test,) = select(sets, split="test", where=["lang=en"])
    assert english_test.examples and {(e.split, e.lang) for e in english_test.examples} == {("test", "en")}
    (others,) = select(sets, where=["lang!=en", "kind=single,smalltalk"])
    assert {e.kind for e in others.examples} <= {"single", "smalltalk"}
    assert others.examples and "en" not in {e.lang for e in others.examples}
    assert others.providers == sets[0].providers
    with pytest.raises(ValueError, match="expected KEY"):
        select(sets, where=["colour=red"])
    with pytest.raises(ValueError, match="no examples in split 'dev' and lang=xx"):
        select(sets, split="dev", where=["lang=xx"])


def test_routing_report_where_option(capsys: pytest.CaptureFixture[str]) -> None:
    from brightstaff.routing.eval_sets import EVAL_DIR

    labels = str(EVAL_DIR / "tutoring.yaml")
    assert main(["routing-report", "--labels", labels, "--split", "dev", "--where", "lang=de", "--repeat", "0"]) == 0
    out = capsys.readouterr().out
    assert "(split dev, lang=de)" in out.splitlines()[0]
    assert main(["routing-report", "--labels", labels, "--where", "size=big"]) == 2
    assert "expected KEY" in capsys.readouterr().err


def test_routing_report_reads_a_directory_of_labelled_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from brightstaff.routing.eval_sets import EVAL_DIR

    for name in ("tutoring.yaml", "seed.yaml"):
        shutil.copy(EVAL_DIR / name, tmp_path / name)
    assert main(["routing-report", "--labels", str(tmp_path), "--where", "lang=de", "--repeat", "0"]) == 0
    out = capsys.readouterr().out
    assert "seed" in out and "tutoring" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["routing-report", "--labels", str(empty), "--repeat", "0"]) == 2
    assert "no labelled sets" in capsys.readouterr().err


def test_routing_report_zero_shot_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routing-report", "--set", "seed", "--split", "dev", "--zero-shot", "--repeat", "0"]) == 0
    out = capsys.readouterr().out
    assert "(zero-shot, split dev)" in out.splitlines()[0]
    assert "== seed / embedded router" in out
