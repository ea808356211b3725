"""The ask's token cap (`embedded.ASK_TOKENS`), chosen on the DEV split only (the test split is never read here).

The encoder costs ~35 us a token, and a 300-character clip of code is ~90 tokens where prose is 30-58, so the
clip is also capped in tokens (head and tail kept, like the character clip). Each row runs the router with
one cap over the 164 dev cases, zero-shot (descriptions only) and few-shot (with the routes' examples), and
counts the dev asks the cap shortens and the decisions (route or default) that differ from no cap. Prints a
Markdown table (in benchmarks/routing_eval/RESULTS.md). Run under the shared lock, on one core:
`flock /tmp/brightstaff-heavy.lock env OPENBLAS_NUM_THREADS=1 .venv/bin/python
benchmarks/routing_eval/token_cap_tries.py`.
"""

from __future__ import annotations

from ablations import patched  # type: ignore[import-not-found]

from brightstaff.routing import embedded
from brightstaff.routing.evaluate import LabelledSet, load_eval_sets
from brightstaff.routing.report import select
from brightstaff.routing.sentence_encoder import shared_encoder

NO_CAP = 10**6
CAPS = (NO_CAP, 64, 56, 48, 40, 32)


def decisions(sets: list[LabelledSet]) -> list[tuple[str, str, str]]:
    """(case, expected label, decided label) for every case, in set order."""
    out = []
    for labelled in sets:
        router = embedded.EmbeddedRouter(labelled.providers, 0.1)
        for example in labelled.examples:
            choice = router.classify(example.request.conversation)
            got = choice.route if choice.reason == "preference" and choice.route else "default"
            out.append((example.name, example.label, got))
    return out


def _right(rows: list[tuple[str, str, str]], keep: set[str] | None = None) -> str:
    kept = [(label, got) for name, label, got in rows if keep is None or name in keep]
    right = sum(label == got for label, got in kept)
    return f"{right}/{len(kept)} ({right / len(kept):.1%})"


def main() -> None:
    dev = select(load_eval_sets(), split="dev")
    zero = [s.zero_shot() for s in dev]
    english = {e.name for s in dev for e in s.examples if e.lang == "en"}
    other = {e.name for s in dev for e in s.examples if e.lang != "en"}
    encoder = shared_encoder()
    tokens = [
        encoder.tokens(embedded.clip(embedded.current_ask(e.request.conversation), embedded.ASK_CHARS))
        for s in dev
        for e in s.examples
    ]
    print(
        "| ask's token cap (dev split, 164 cases) | zero-shot | few-shot | zero-shot en / non-en "
        "| few-shot en / non-en | asks capped | decisions changed (zero / few) |"
    )
    print("|---|---|---|---|---|---|---|")
    baseline: tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]] | None = None
    for cap in CAPS:
        with patched(ASK_TOKENS=cap):
            rows = decisions(zero), decisions(dev)
        baseline = baseline or rows
        changed = " / ".join(
            str(sum(a[2] != b[2] for a, b in zip(base, now, strict=True)))
            for base, now in zip(baseline, rows, strict=True)
        )
        cells = [
            _right(rows[0]),
            _right(rows[1]),
            f"{_right(rows[0], english)} / {_right(rows[0], other)}",
            f"{_right(rows[1], english)} / {_right(rows[1], other)}",
            str(sum(n > cap for n in tokens)),
            changed,
        ]
        print(f"| {'none (300 characters only)' if cap == NO_CAP else cap} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
