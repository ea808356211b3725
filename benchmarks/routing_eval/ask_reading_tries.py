"""What the encoder reads of the ask: quoted passages, lead-ins, closing words. DEV split only.

The shipped reading (`embedded.what_is_read`) shrinks quoted passages to an ellipsis and drops lead-ins of one
or two words; each row here swaps one of those steps for a variant (or for nothing) and runs the router
zero-shot and few-shot over the 164 dev cases, printing how many dev asks the variant reads differently
from the shipped one. The test split is never read. Run under the shared lock:
`flock /tmp/brightstaff-heavy.lock .venv/bin/python benchmarks/routing_eval/ask_reading_tries.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ablations import count  # type: ignore[import-not-found]
from zero_shot_tries import patched  # type: ignore[import-not-found]

from brightstaff.routing import embedded
from brightstaff.routing.evaluate import load_eval_sets
from brightstaff.routing.report import select

E = embedded
_quoted, _lead_ins = E.without_quoted, E.without_lead_ins
_ENDS = ".!?\u3002\uff01\uff1f"


def same(text: str) -> str:
    return text


def quotes(minimum: int, placeholder: str | None, keep_words: int = 0, outside: int = 12) -> Callable[[str], str]:
    """Quoted passages of `minimum` letters shrunk to `placeholder` (None: an ellipsis in the quote's own marks)
    or to their first `keep_words` words, when `outside` letters stay outside."""
    pattern = E._QUOTED

    def shrink(match: re.Match[str]) -> str:
        whole = match[0]
        if E._letters(whole) < minimum:
            return whole
        if keep_words:
            return whole[0] + " ".join(whole[1:-1].split()[:keep_words]) + "\u2026" + whole[-1]
        return placeholder if placeholder is not None else whole[0] + "\u2026" + whole[-1]

    def read(text: str) -> str:
        shrunk = pattern.sub(shrink, text)
        return shrunk if shrunk != text and E._letters(shrunk) >= outside else text

    return read


def lead_ins(words: int, letters: int) -> Callable[[str], str]:
    def read(text: str) -> str:
        with patched([(E, "LEAD_WORDS", words), (E, "LEAD_LETTERS", letters)]):
            return _lead_ins(text)

    return read


_TRAIL = re.compile(rf"(?<=[{_ENDS}])\s*([^{_ENDS}\n]{{1,40}}[{_ENDS}]*)\s*$")


def closing_words(words: int, letters: int) -> Callable[[str], str]:
    """Closing sentences of at most `words` words and `letters` letters dropped too ("... Thanks!")."""

    def read(text: str) -> str:
        text = _quoted(text)
        while (m := _TRAIL.search(text)) and len(m[1].split()) <= words and E._letters(m[1]) <= letters:
            if E._letters(text[: m.start()]) < E.INSTRUCTION_MIN:
                break
            text = text[: m.start(1)].rstrip()
        return text

    return read


TRIES: list[tuple[str, list[tuple[Any, str, Any]]]] = [
    ("as shipped", []),
    ("neither rule", [(E, "without_quoted", same), (E, "without_lead_ins", same)]),
    ("no quote rule", [(E, "without_quoted", same)]),
    ("quotes: a fixed '\"…\"'", [(E, "without_quoted", quotes(20, '"\u2026"'))]),
    ("quotes: '\"the text\"'", [(E, "without_quoted", quotes(20, '"the text"'))]),
    ("quotes: first 3 words kept", [(E, "without_quoted", quotes(20, None, 3))]),
    ("quotes: first 6 words kept", [(E, "without_quoted", quotes(20, None, 6))]),
    *[(f"quotes of {n}+ letters", [(E, "without_quoted", quotes(n, None))]) for n in (10, 30, 40)],
    *[(f"quotes, {n}+ letters outside", [(E, "without_quoted", quotes(20, None, 0, n))]) for n in (1, 30)],
    ("no lead-in rule", [(E, "without_lead_ins", same)]),
    ("lead-ins of up to 3 words, 20 letters", [(E, "without_lead_ins", lead_ins(3, 20))]),
    ("lead-ins of up to 4 words, 24 letters", [(E, "without_lead_ins", lead_ins(4, 24))]),
    ("+ closing sentences of up to 2 words", [(E, "without_quoted", closing_words(2, 12))]),
    ("+ closing sentences of up to 3 words", [(E, "without_quoted", closing_words(3, 20))]),
]


def main() -> None:
    dev = select(load_eval_sets(), split="dev")
    zero = [s.zero_shot() for s in dev]
    asks = [E.clip(E.current_ask(e.request.conversation), E.ASK_CHARS) for s in dev for e in s.examples]
    shipped = [E.without_quoted(E.without_lead_ins(a)) for a in asks]
    print("| tried (dev split, 164 cases) | asks read differently | zero-shot | few-shot | zero-shot en / non-en |")
    print("|---|---|---|---|---|")
    for name, changes in TRIES:
        with patched(changes):
            differ = sum(E.without_quoted(E.without_lead_ins(a)) != b for a, b in zip(asks, shipped, strict=True))
            english = count(zero, 0.1, lambda lang: lang == "en")
            other = count(zero, 0.1, lambda lang: lang != "en")
            print(f"| {name} | {differ} | {count(zero, 0.1)} | {count(dev, 0.1)} | {english} / {other} |", flush=True)


if __name__ == "__main__":
    main()
