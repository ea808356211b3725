"""Measure a router against labelled conversations: accuracy, confusion counts and per-call latency.

Used by the tests (which guard the embedded router's accuracy floors) and by `brightstaff routing-report`:
`load_labelled(path)` reads a labelled file (format: brightstaff/routing/data/eval/README.md),
`load_eval_sets()` the independent evaluation sets shipped in `data/eval/`, `evaluate()` runs a router over
the examples, `format_report()` renders the result as plain text. A set's config may give its routing
preferences few-shot `examples` (a brightstaff extension the config parser reads); `LabelledSet.zero_shot()`
drops them, to measure on descriptions alone.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from brightstaff.config import Provider, parse_config
from brightstaff.core.chat import ChatRequest
from brightstaff.core.conversation import Conversation
from brightstaff.core.decision import RouteChoice
from brightstaff.routing.eval_sets import EVAL_DIR, set_files

DEFAULT_LABEL = "default"  # the label of examples that no routing preference should take


class Classifier(Protocol):
    def classify(self, conversation: Conversation) -> RouteChoice: ...


@dataclass(frozen=True, slots=True)
class Example:
    request: ChatRequest
    label: str  # a routing preference name, or DEFAULT_LABEL
    name: str = ""  # where the example came from, for reports
    split: str = "dev"  # how the example was used: "dev" was tuned against, holdouts were not
    lang: str = ""  # language of the ask (ISO 639-1), when the set says
    kind: str = ""  # single, multi_turn, agent, indirect, smalltalk, long..., when the set says

    def tag(self, key: str) -> str:
        """The value of a tag a report can filter on: split, lang or kind ("" for another key)."""
        return {"split": self.split, "lang": self.lang, "kind": self.kind}.get(key, "")


@dataclass(frozen=True, slots=True)
class Miss:
    name: str
    expected: str
    got: str
    score: float


@dataclass(frozen=True)
class Report:
    total: int
    correct: int
    confusion: dict[tuple[str, str], int]  # (expected, got) -> count, labels as in Example.label
    latency_p50_us: float
    latency_p99_us: float
    misses: tuple[Miss, ...] = ()
    labels: tuple[str, ...] = field(default=())  # every label seen, expected first-seen order

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def per_label(self) -> dict[str, tuple[int, int]]:
        """label -> (correct, total) over the examples expecting that label."""
        out: dict[str, tuple[int, int]] = {}
        for (expected, got), count in self.confusion.items():
            right, total = out.get(expected, (0, 0))
            out[expected] = (right + (count if expected == got else 0), total + count)
        return out


def wilson_interval(correct: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of an accuracy (95% for the default z); (0, 1) when there is nothing to measure."""
    if total <= 0:
        return 0.0, 1.0
    p = correct / total
    centre = p + z * z / (2 * total)
    spread = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    scale = 1 + z * z / total
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


def _label(choice: RouteChoice) -> str:
    return choice.route if choice.reason == "preference" and choice.route else DEFAULT_LABEL


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def evaluate(router: Classifier, examples: Iterable[Example], *, repeat: int = 3) -> Report:
    """Classify every example; latency is timed per call over `repeat` passes after one warm-up pass."""
    items = list(examples)
    confusion: dict[tuple[str, str], int] = {}
    labels: dict[str, None] = {}
    misses: list[Miss] = []
    correct = 0
    for example in items:
        choice = router.classify(example.request.conversation)
        got = _label(choice)
        labels.setdefault(example.label)
        labels.setdefault(got)
        confusion[(example.label, got)] = confusion.get((example.label, got), 0) + 1
        if got == example.label:
            correct += 1
        else:
            misses.append(Miss(example.name, example.label, got, choice.score))
    timings: list[float] = []
    for _ in range(max(0, repeat)):
        for example in items:
            start = time.perf_counter_ns()
            router.classify(example.request.conversation)
            timings.append((time.perf_counter_ns() - start) / 1000)
    timings.sort()
    return Report(
        total=len(items),
        correct=correct,
        confusion=confusion,
        latency_p50_us=_percentile(timings, 0.50),
        latency_p99_us=_percentile(timings, 0.99),
        misses=tuple(misses),
        labels=tuple(labels),
    )


def format_report(report: Report, title: str = "") -> str:
    """A plain-text report: accuracy, per-label recall, a confusion matrix, latency and the misses."""
    lines = [title] if title else []
    lines.append(f"accuracy {report.accuracy:.1%} ({report.correct}/{report.total})")
    lines.append(f"latency p50 {report.latency_p50_us:.0f} us, p99 {report.latency_p99_us:.0f} us")
    per_label = report.per_label()
    width = max([len(label) for label in report.labels] + [8])
    lines.append("")
    lines.append("expected \\ got".ljust(width + 2) + "  ".join(label[:12].rjust(12) for label in report.labels))
    for expected in report.labels:
        if expected not in per_label:
            continue
        right, total = per_label[expected]
        row = "  ".join(str(report.confusion.get((expected, got), 0)).rjust(12) for got in report.labels)
        lines.append(f"{expected.ljust(width + 2)}{row}   recall {right}/{total}")
    if report.misses:
        lines.append("")
        lines.append("misses:")
        lines.extend(f"  {m.name}: expected {m.expected}, got {m.got} (score {m.score:.2f})" for m in report.misses)
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class LabelledSet:
    name: str
    providers: tuple[Provider, ...]  # their routing preferences carry the few-shot `examples`, if any
    examples: tuple[Example, ...]

    def zero_shot(self) -> LabelledSet:
        """The same set with every routing preference's few-shot `examples` removed (descriptions only)."""
        providers = tuple(
            dataclasses.replace(
                p, routing_preferences=tuple(dataclasses.replace(r, examples=()) for r in p.routing_preferences)
            )
            for p in self.providers
        )
        return dataclasses.replace(self, providers=providers)


def _request(raw: Mapping[str, Any], where: str) -> ChatRequest:
    if "messages" in raw:
        messages = raw["messages"]
        if not isinstance(messages, list):
            raise ValueError(f"{where}.messages: expected a list")
    elif isinstance(raw.get("prompt"), str):
        messages = [{"role": "user", "content": raw["prompt"]}]
    else:
        raise ValueError(f"{where}: needs `prompt` (a string) or `messages` (a list)")
    return ChatRequest.from_messages(messages, "router-eval")


def load_labelled(path: str | Path) -> list[LabelledSet]:
    """Read a labelled file: `sets: {name: {config: {model_providers: [...]}, examples: [...]}}`."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    sets = data.get("sets") if isinstance(data, dict) else None
    if not isinstance(sets, dict):
        raise ValueError(f"{path}: expected a top-level `sets` mapping")
    out: list[LabelledSet] = []
    for set_name, body in sets.items():
        if not isinstance(body, dict) or not isinstance(body.get("config"), dict):
            raise ValueError(f"{path}: sets.{set_name} needs a `config` mapping with model_providers")
        config = parse_config(body["config"], env={})
        known = {pref.name for p in config.providers for pref in p.routing_preferences} | {DEFAULT_LABEL}
        examples = []
        for i, raw in enumerate(body.get("examples") or []):
            where = f"sets.{set_name}.examples[{i}]"
            label = raw.get("label")
            if label not in known:
                raise ValueError(f"{where}.label: {label!r} is not a routing preference of this set")
            examples.append(
                Example(
                    request=_request(raw, where),
                    label=str(label),
                    name=str(raw.get("id") or f"{set_name}[{i}]"),
                    split=str(raw.get("split", "dev")),
                    lang=str(raw.get("lang", "")),
                    kind=str(raw.get("kind", "")),
                )
            )
        out.append(LabelledSet(str(set_name), config.providers, tuple(examples)))
    return out


def load_eval_sets(directory: Path = EVAL_DIR) -> list[LabelledSet]:
    """Every independent evaluation set shipped in `data/eval/` (what `brightstaff routing-report` reads), or in
    another directory of such files (`eval_sets.HOLDOUT_DIR`)."""
    return [labelled for path in set_files(directory) for labelled in load_labelled(path)]
