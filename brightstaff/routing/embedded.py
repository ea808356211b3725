"""The embedded router: offline, deterministic matching of the conversation against routing preferences.

How a request is scored
    1. Read the conversation newest first, within a budget (`MAX_MESSAGES` messages, per-role character
       caps, `MAX_CHARS` in all), so a 50 KB agent transcript costs about what a 10 KB one does. The last
       user message weighs 1.0 (a little less once tool steps pile up after it); the assistant tool calls
       (function names and JSON arguments) and tool results after it weigh by role and recency; older
       turns weigh `OLDER_TURN` and fade; a system prompt weighs `SYSTEM`.
    2. Tokenize, fold phrases, stem (`routing.text`). Each word is evidence for a preference when its
       stem occurs in the preference's description (lexical match, weighted by an IDF over the
       configured descriptions, and only `GENERIC_WEIGHT` for words like "write" or "create"), or when
       the word and the description share a concept of the built-in lexicon (`routing.lexicon`: "regex"
       and "boilerplate" both mean code). A word counts once per preference, by the larger of the two.
       Code, SQL, arithmetic and non-Latin script also count through a few shape patterns.
    3. Repeats of one stem saturate (`_saturate`), so a long tool result does not win by volume alone.

What the score means
    `score = 1 - exp(-E / TAU)`, E being the evidence in "cue units": one specific cue word in the
    latest user message, matching its preference at full strength, is one unit. So one such cue scores
    0.39, two 0.63, three 0.78; a lone generic overlap ("write") scores 0.14; a cue that only sits in an
    older turn scores about 0.14 as well. Older turns plus the system prompt, and generic words, are each
    capped at 0.4 units (0.18), so neither routes on its own. The config default `min_match_score: 0.2`
    therefore means "at least about half a specific cue in the current turn": below it the router
    answers the default provider (reason "default", route None). On the tuned splits of
    brightstaff/routing/data/labelled_prompts.yaml, thresholds 0.2-0.25 score best (234-235 of 237); 0.15 and 0.3
    lose examples (too eager / too shy). The tests guard the accuracy; see `brightstaff.routing.evaluate`
    and tests/routing/bench_embedded_router.py for the report and the latency.

Invariants: no I/O, no randomness, no iteration over sets or hash-ordered containers of strings (dicts
are walked in insertion order, which follows the text), ties go to the preference listed first in the
config. Same config and request, same choice, in any process.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from brightstaff.config import Provider
from brightstaff.core.conversation import Conversation, Turn
from brightstaff.core.decision import RouteChoice
from brightstaff.routing import lexicon
from brightstaff.routing.text import stem, tokens

# Reading budget. A typical agent turn fits entirely; long transcripts are cut, newest kept.
MAX_MESSAGES = 12
MAX_CHARS = 6_000
# Per-role caps on the characters read from one message; long ones keep head and tail, where the
# instruction usually sits ("Summarize the following: ..." / "... what does this mean?").
ROLE_CHARS = {"user": 3000, "assistant": 1200, "tool": 1200, "system": 600}
HEAD_SHARE = 0.4

ROLE_WEIGHT = {"user": 1.0, "assistant": 0.7, "tool": 0.6}
RECENCY_DECAY = 0.75  # per message, walking back from the newest
LAST_USER_FLOOR = 0.6  # the request itself never fades below this, however many tool steps follow
OLDER_TURN = 0.3  # messages before the last user message
SYSTEM = 0.2  # system and developer messages, wherever they sit
MIN_WEIGHT = 0.05  # lighter messages cannot move a score by more than noise: not worth reading
LAST_USER_LOOKBACK = 200  # how far behind the window to look for the last user message
# Older turns and the system prompt can tip a vague current turn but never route on their own:
# "thanks, that works!" after a coding exchange is small talk. 0.4 units score 0.18.
CONTEXT_CAP = 0.4
# Likewise generic words ("write", "new", "create") add up to at most this much: "write a welcome message
# for new members" shares two words with "generating new code, writing functions" and means neither.
GENERIC_CAP = 0.4
TOOL_CALL_CHARS = 600

GENERIC_WEIGHT = 0.3
TAU = 2.0
TIE_EPSILON = 1e-9
_CACHE_LIMIT = 50_000

# Shape cues, for text whose words alone say little ("for (let i = 0; i < n; i--)"). Patterns start
# with a literal character so the regex engine skips ahead; keyword lines are matched with str methods.
_CODE_SYMBOLS = re.compile(
    r"```|;[ \t]*$|\)\s*\{|\)\s*:[ \t]*$|=>|===|!==|\.[A-Za-z_]\w*\(|</?[A-Za-z][\w-]*(?:\s[^<>\n]*)?/?>",
    re.MULTILINE,
)
_CODE_LINE_STARTS = (
    "def ", "class ", "import ", "from ", "function ", "const ", "let ", "var ", "public ", "private ",
    "fn ", "func ", "package ", "#include", "return ", "if (", "for (", "while (", "print(",
)  # fmt: skip
_MATH_GATE = re.compile(r"[\^*/=∫√π∑≤≥]")
_MATH_SHAPE = re.compile(r"\d\s*[\^*/=]\s*\(?[\dxyn]|\b[xyn]\s*[\^=]|\d[xy]\b|[∫√π∑≤≥]")
_FOREIGN = re.compile(r"[¿¡\u0400-\u04ff\u0600-\u06ff\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]")
CODE_SHAPE_EVIDENCE, CODE_SHAPE_MOST = 0.5, 4
MATH_SHAPE_EVIDENCE, MATH_SHAPE_MOST = 0.6, 3
FOREIGN_EVIDENCE = 0.6
CHOICE_EVIDENCE = 0.8
SQL_EVIDENCE = 1.0
# A choice put to the model ("should we use X or Y", "which one is better") asks it to weigh options.
_CHOICE_TRIGGERS = frozenset({"should", "shall", "would", "do", "which", "better", "whether"})
_CHOICE_WHO = frozenset({"i", "we", "you"})
_WHICH_NEXT = frozenset({"one", "option", "is", "of", "should", "would"})
# "into French", "in German", "the Spanish version": a language named as the target, not the topic.
_LANGUAGES = frozenset(lexicon.LANGUAGES)
_BEFORE_LANGUAGE = frozenset({"into", "in", "to", "from"})
_AFTER_LANGUAGE = frozenset({"version", "translation", "equivalent", "speakers"})
# Several numbers in a request hint at a calculation; one or two (a year, a count) do not.
NUMBERS_FREE = 2
NUMBER_EVIDENCE = 0.1
NUMBERS_MOST = 6


def _code_shape_hits(text: str) -> int:
    hits = sum(1 for _ in itertools.islice(_CODE_SYMBOLS.finditer(text), CODE_SHAPE_MOST))
    if hits < CODE_SHAPE_MOST and "\n" in text:
        hits += sum(1 for line in text.splitlines() if line.lstrip().startswith(_CODE_LINE_STARTS))
    return min(hits, CODE_SHAPE_MOST)


def _is_choice(words: list[str]) -> bool:
    n = len(words)
    for i, w in enumerate(words):
        if w not in _CHOICE_TRIGGERS:
            continue
        if w == "which":
            if i + 1 < n and words[i + 1] in _WHICH_NEXT:
                return True
        elif w == "better":
            if "or" in words[i + 1 : i + 8]:
                return True
        elif w == "whether":
            if "or" in words[i + 1 : i + 20]:
                return True
        elif i + 1 < n and words[i + 1] in _CHOICE_WHO and "or" in words[i + 2 : i + 16]:
            return True
    return False


def _is_sql(words: list[str]) -> bool:
    if "select" in words:
        i = words.index("select")
        return "from" in words[i + 1 : i + 60]
    return "insert" in words and "into" in words


def _names_target_language(words: list[str]) -> bool:
    last = len(words) - 1
    for i, w in enumerate(words):
        if w in _LANGUAGES and (
            (i > 0 and words[i - 1] in _BEFORE_LANGUAGE) or (i < last and words[i + 1] in _AFTER_LANGUAGE)
        ):
            return True
    return False


_SHAPE_CONCEPTS: dict[str, dict[str, float]] = {
    "@codeshape": {lexicon.CODE: 1.0},
    "@mathshape": {lexicon.MATH: 1.0},
    "@sqlshape": {lexicon.DATA: 1.0, lexicon.CODE: 0.6},
    "@foreign": {lexicon.TRANSLATE: 0.6},
    "@langtarget": {lexicon.TRANSLATE: 1.0},
    "@choice": {lexicon.REASONING: 1.0},
    "@numbers": {lexicon.MATH: 1.0},
}


def _build_concepts() -> dict[str, dict[str, float]]:
    """stem -> {concept: weight}, merging spellings that share a stem by their strongest weight."""
    out: dict[str, dict[str, float]] = {}
    for concept, words in lexicon.CONCEPT_WORDS.items():
        for word, weight in words.items():
            for tok in tokens(word):
                slot = out.setdefault(stem(tok), {})
                slot[concept] = max(weight, slot.get(concept, 0.0))
    out.update(_SHAPE_CONCEPTS)
    return out


STEM_CONCEPTS = _build_concepts()
_STOP_STEMS = frozenset(stem(w) for w in lexicon.STOPWORDS)
_GENERIC_STEMS = frozenset(stem(w) for w in lexicon.GENERIC)
# Generic stems that no concept claims: their evidence is capped together (GENERIC_CAP).
_GENERIC_ONLY = frozenset(s for s in _GENERIC_STEMS if s not in STEM_CONCEPTS)
# A description names a concept only through words that are really about it: "writing SQL queries"
# makes a data preference, not a code one, although "sql" alone hints at code in a request.
DESCRIPTION_CONCEPT_MIN = 0.7


@dataclass(frozen=True, slots=True)
class _Preference:
    route: str
    provider: str
    lexical: dict[str, float]  # description stem -> weight (IDF x specificity)
    concepts: dict[str, float]  # concept -> weight (description strength x IDF)


def _description_features(text: str) -> tuple[dict[str, float], dict[str, float]]:
    lexical: dict[str, float] = {}
    concepts: dict[str, float] = {}
    for tok in tokens(text):
        s = stem(tok)
        if tok in lexicon.STOPWORDS or s in _STOP_STEMS:
            continue
        lexical[s] = GENERIC_WEIGHT if s in _GENERIC_STEMS or tok in lexicon.GENERIC else 1.0
        for concept, weight in STEM_CONCEPTS.get(s, {}).items():
            if weight >= DESCRIPTION_CONCEPT_MIN:
                concepts[concept] = max(weight, concepts.get(concept, 0.0))
    return lexical, concepts


def _idf(df: int, n: int) -> float:
    # 1.0 for a feature only one description has, less for one they share (nothing left to tell apart).
    return math.log(1 + n / df) / math.log(1 + n)


def _saturate(x: float) -> float:
    return x if x <= 1.0 else min(2.0, 1.0 + 0.5 * math.log(x))


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = int(limit * HEAD_SHARE)
    return text[:head] + "\n" + text[len(text) - (limit - head) :]


def _tool_calls_text(turn: Turn) -> str:
    parts: list[str] = []
    for call in turn.tool_calls:
        parts.append(call.name)
        parts.append(call.arguments[:TOOL_CALL_CHARS])
    return "\n".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    weight: float
    current: bool  # part of the current turn: the last user message or anything after it


def segments(conversation: Conversation) -> Iterator[Segment]:
    """The pieces of a conversation the router reads, the last user message first, then newest first."""
    turns = conversation.turns
    total = len(turns)
    first = max(0, total - MAX_MESSAGES)
    # The request itself stays in view even when a long tool loop has pushed it out of the window.
    floor = max(0, total - MAX_MESSAGES - LAST_USER_LOOKBACK)
    last_user = next((i for i in range(total - 1, floor - 1, -1) if turns[i].role == "user"), -1)
    order = [i for i in range(total - 1, first - 1, -1) if i != last_user]
    if last_user >= 0:
        order.insert(0, last_user)
    budget = MAX_CHARS
    for i in order:
        turn = turns[i]
        role = turn.role
        current = i >= last_user and role != "system"
        if role == "system":
            weight = SYSTEM
        elif i == last_user:
            weight = max(LAST_USER_FLOOR, RECENCY_DECAY ** (total - 1 - i))
        elif current:
            weight = ROLE_WEIGHT[role] * RECENCY_DECAY ** (total - 1 - i)
        else:
            weight = ROLE_WEIGHT[role] * OLDER_TURN * RECENCY_DECAY ** (last_user - 1 - i)
        if weight < MIN_WEIGHT:
            continue
        limit = min(ROLE_CHARS[role], budget)
        text = _clip(turn.text, limit)
        calls = _tool_calls_text(turn)
        if calls:
            text = f"{text}\n{calls}" if text else calls
        if not text:
            continue
        budget -= len(text)
        yield Segment(text, weight, current)
        if budget <= 0:
            return


class EmbeddedRouter:
    """Routes by concept and word overlap between the current turn and each preference description."""

    name = "embedded"

    def __init__(self, providers: tuple[Provider, ...], min_score: float) -> None:
        self._default = next((p.name for p in providers if p.default), providers[0].name if providers else "")
        self._min_score = min_score
        described = [
            (pref.name, p.name, *_description_features(f"{pref.name.replace('_', ' ')} {pref.description}"))
            for p in providers
            for pref in p.routing_preferences
        ]
        n = len(described)
        lex_df: dict[str, int] = {}
        concept_df: dict[str, int] = {}
        for _, _, lexical, concepts in described:
            for s in lexical:
                lex_df[s] = lex_df.get(s, 0) + 1
            for c in concepts:
                concept_df[c] = concept_df.get(c, 0) + 1
        self._prefs = tuple(
            _Preference(
                route=route,
                provider=provider,
                lexical={s: w * _idf(lex_df[s], n) for s, w in lexical.items()},
                concepts={c: w * _idf(concept_df[c], n) for c, w in concepts.items()},
            )
            for route, provider, lexical, concepts in described
        )
        # word -> (stem, evidence per preference) or None; a pure function of the word, so caching it
        # cannot change any answer. Cleared when full rather than evicted: simpler, still bounded.
        self._cache: dict[str, tuple[str, tuple[float, ...]] | None] = {}
        self._shape_vectors: dict[str, tuple[float, ...]] = {}
        for pseudo in _SHAPE_CONCEPTS:
            hit = self._stem_evidence(pseudo)
            if hit is not None:
                self._shape_vectors[pseudo] = hit[1]

    async def route(self, conversation: Conversation) -> RouteChoice:
        return self.classify(conversation)

    def classify(self, conversation: Conversation) -> RouteChoice:
        scores = self.scores(conversation)
        best = -1
        for j, score in enumerate(scores):
            if best < 0 or score > scores[best] + TIE_EPSILON:
                best = j
        # No evidence at all is never a match, even with min_match_score 0.
        if best < 0 or scores[best] <= 0.0 or scores[best] < self._min_score:
            return RouteChoice(self._default, None, "default", scores[best] if best >= 0 else 0.0)
        pref = self._prefs[best]
        return RouteChoice(pref.provider, pref.route, "preference", scores[best])

    def scores(self, conversation: Conversation) -> list[float]:
        """The score in [0, 1) of every routing preference, in config order."""
        if not self._prefs:
            return []
        evidence = self._evidence(conversation)
        return [1.0 - math.exp(-e / TAU) for e in evidence]

    def _evidence(self, conversation: Conversation) -> list[float]:
        # stem -> summed weight, one map for the current turn and one for older context; dicts keep
        # the order of first appearance, so the sums below run in text order in every process.
        current: dict[str, float] = {}
        context: dict[str, float] = {}
        vectors: dict[str, tuple[float, ...]] = {}
        cache = self._cache
        for segment in segments(conversation):
            seen = current if segment.current else context
            weight = segment.weight
            text = segment.text
            words = tokens(text)
            # Counter keeps first-appearance order, so the sums stay in text order.
            for word, count in Counter(words).items():
                if word in cache:
                    hit = cache[word]
                else:
                    if len(cache) >= _CACHE_LIMIT:
                        cache.clear()
                    hit = cache[word] = self._word_evidence(word)
                if hit is None:
                    continue
                key, vector = hit
                seen[key] = seen.get(key, 0.0) + weight * count
                vectors[key] = vector
            if segment.current:
                # Shapes only in the current turn: older turns are capped context anyway.
                self._shapes(text, words, weight, current, vectors)
        now = self._totals(current, vectors)
        before = self._totals(context, vectors)
        return [a + min(b, CONTEXT_CAP) for a, b in zip(now, before, strict=True)]

    def _shapes(
        self, text: str, words: list[str], weight: float, seen: dict[str, float], vectors: dict[str, tuple[float, ...]]
    ) -> None:
        found: list[tuple[str, float]] = []
        code = _code_shape_hits(text)
        if code:
            found.append(("@codeshape", CODE_SHAPE_EVIDENCE * code))
        if _MATH_GATE.search(text):
            math_hits = sum(1 for _ in itertools.islice(_MATH_SHAPE.finditer(text), MATH_SHAPE_MOST))
            if math_hits:
                found.append(("@mathshape", MATH_SHAPE_EVIDENCE * math_hits))
        if _FOREIGN.search(text):
            found.append(("@foreign", FOREIGN_EVIDENCE))
        if _is_sql(words):
            found.append(("@sqlshape", SQL_EVIDENCE))
        if not _CHOICE_TRIGGERS.isdisjoint(words) and _is_choice(words):
            found.append(("@choice", CHOICE_EVIDENCE))
        numbers = sum(map(str.isdigit, words))
        if numbers > NUMBERS_FREE:
            found.append(("@numbers", NUMBER_EVIDENCE * min(numbers - NUMBERS_FREE, NUMBERS_MOST)))
        if not _LANGUAGES.isdisjoint(words) and _names_target_language(words):
            found.append(("@langtarget", 1.0))
        for pseudo, amount in found:
            vector = self._shape_vectors.get(pseudo)
            if vector is not None:
                seen[pseudo] = seen.get(pseudo, 0.0) + weight * amount
                vectors[pseudo] = vector

    def _totals(self, seen: dict[str, float], vectors: dict[str, tuple[float, ...]]) -> list[float]:
        totals = [0.0] * len(self._prefs)
        generic = [0.0] * len(self._prefs)
        for key, amount in seen.items():
            strength = _saturate(amount)
            into = generic if key in _GENERIC_ONLY else totals
            for j, value in enumerate(vectors[key]):
                into[j] += strength * value
        return [t + min(g, GENERIC_CAP) for t, g in zip(totals, generic, strict=True)]

    def _word_evidence(self, word: str) -> tuple[str, tuple[float, ...]] | None:
        if word in lexicon.STOPWORDS or len(word) > 40:
            return None
        s = stem(word)
        if s in _STOP_STEMS:
            return None
        return self._stem_evidence(s)

    def _stem_evidence(self, s: str) -> tuple[str, tuple[float, ...]] | None:
        concepts = STEM_CONCEPTS.get(s, {})
        vector = tuple(
            max(
                pref.lexical.get(s, 0.0),
                max((w * pref.concepts.get(c, 0.0) for c, w in concepts.items()), default=0.0),
            )
            for pref in self._prefs
        )
        return (s, vector) if any(vector) else None
