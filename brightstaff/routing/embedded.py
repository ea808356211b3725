"""The embedded router: the conversation's current ask against the routing preferences, by sentence embedding.

How a request is decided
    1. The current ask is the latest user turn with text, clipped to `ASK_CHARS` (head and tail kept,
       where instructions sit), then to `ASK_TOKENS` tokens the same way: code is dense in tokens, and
       the encoder's cost is per token. System prompts, older turns, assistant text and tool traffic do not
       route: code in a tool result or SQL in a tool argument cannot pull "explain how this request
       flows" to code generation, and "thanks, that works" after a coding exchange stays small talk.
       A quoted passage in the ask (the text to translate, correct or reply to) is read as an ellipsis in
       its quotes, when the words around it say what to do with it: the instruction routes, a word inside
       the quote cannot ("fix the grammar: 'they're going to translate...'" is editing). And a lead-in of
       one or two words ("Thanks.", "Love it!", "Genial.", "谢谢！") is dropped: in a session whose next
       ask changes intent, "Thanks. Now explain why..." is the explanation, not small talk.
    2. It is embedded by USE multilingual v3 (`routing.sentence_encoder`): one vector space for 16
       languages, so a Chinese ask meets an English description.
    3. Each routing preference is one vector, built at start-up: its description put in `TEMPLATES`
       ("Can you help me with <description>?": descriptions are phrases, asks are requests) and
       averaged; with few-shot `examples` (a brightstaff extension of `routing_preferences`), the mean
       of the examples blended in at `EXAMPLES_SHARE`. Then `CENTERING` of the preferences' mean is
       taken off every one of them, so what all descriptions share (they are all requests to an
       assistant) counts less than what tells them apart.
    4. A preference's score is its cosine with the ask; with examples, `NEAREST_EXAMPLE_SHARE` of it is
       the cosine of its nearest example (centred the same way), so an ask close to one example counts
       even when the route's examples are spread out. The best one wins, unless
         - its score is below `min_match_score` (the config's `routing.min_match_score`), or
         - the ask is more like small talk than like it: the mean cosine of the ask's
           `SMALLTALK_NEAREST` nearest `routing.smalltalk` prototypes (greetings, thanks, trivia...)
           is higher. A prototype as close as `SMALLTALK_DROP` to a preference is not small talk for
           that config.
       Then the default model serves (reason "default", route None).
    5. Tool results inform, never hijack. In an agent loop the results of the latest tool step may
       move the choice to another preference, only when they point to it clearly (score at least
       `STEP_MIN`, `STEP_MARGIN` ahead of the next) and the ask itself leans to it (ask score at least
       `STEP_ASK_FLOOR`): a step chooses between readings of the ask, it cannot add one. They are
       embedded only when two preferences or more pass that floor.

What the numbers mean
    `score` is the chosen preference's score (item 4; the step's, when the step chose), clamped to [0, 1]; on
    a default decision it is the best preference's. On the evaluation sets' dev split
    (brightstaff/routing/data/eval, benchmarks/routing_eval/RESULTS.md) thresholds from 0.0 to 0.10
    score alike, since the small-talk prototypes decide most default cases; 0.15 starts losing asks. So
    `min_match_score` 0.1 (the default) is a safety net, and raising it trades routed asks for the
    default model. `confidence` comes from the margin of the decision over its runner-up (the next
    preference, the small-talk score or the threshold): `high` at `HIGH_MARGIN` or more, `medium` at
    `MEDIUM_MARGIN`, `low` below.

Invariants: no I/O and no randomness after start-up; nothing iterates over a set or a hash-ordered
container; ties go to the preference listed first in the config (numpy's argmax takes the first). Same
config and request, same choice, in any process.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from unicodedata import east_asian_width

import numpy as np
from numpy.typing import NDArray

from brightstaff.config import Provider, RoutingPreference, routes_of
from brightstaff.core.conversation import Conversation, is_ask, without_harness_blocks
from brightstaff.core.decision import Confidence, RouteChoice
from brightstaff.routing import smalltalk
from brightstaff.routing.sentence_encoder import SentenceEncoder, TokenCap, Vectors, shared_encoder

# Reading budget: the encoder costs ~35 us a token, and the head and tail of a long ask carry the
# instruction. 300 and 2,000 characters score alike on the dev split. A 300-character clip of code is ~90
# tokens where prose is 30-58, so the clip is capped in tokens too (benchmarks/routing_eval/RESULTS.md).
ASK_CHARS = 300
ASK_TOKENS = 48
STEP_CHARS = 600
HEAD_SHARE = 0.6

# Quotes in the scripts the encoder reads. A quote of fewer than `QUOTED_MIN` letters or digits is a name or
# a phrase ("Sign in with Google"), part of the ask; `INSTRUCTION_MIN` must stay outside the quotes. A wide
# CJK character counts as `WIDE_WEIGHT` ("翻译成英文" says as much as "translate to English").
QUOTES = (
    ('"', '"'),
    ("\u201c", "\u201d"),
    ("\u201e", "\u201c"),
    ("\u00ab", "\u00bb"),
    ("\u300c", "\u300d"),
    ("\u300e", "\u300f"),
)
QUOTED_MIN = 20
INSTRUCTION_MIN = 12
WIDE_WEIGHT = 3
# A lead-in: at most `LEAD_WORDS` words and `LEAD_LETTERS` letters, ended by a sentence mark (Latin ones
# followed by a space, so "Python 3.12" is not a sentence).
LEAD_WORDS = 2
LEAD_LETTERS = 12
_LEAD = re.compile(r"\s*([^.!?\n\u3002\uff01\uff1f]{1,40}?)(?:[.!?]+\s+|[\u3002\uff01\uff1f]+\s*)")
_QUOTED = re.compile("|".join(f"{re.escape(a)}[^{re.escape(b)}]+{re.escape(b)}" for a, b in QUOTES))

TEMPLATES = (
    "Can you help me with {}?",
    "Help me with {}.",
    "I need help with {}.",
    "Please help with {}.",
    "Could you help me with {}?",
)
EXAMPLES_SHARE = 0.65
NEAREST_EXAMPLE_SHARE = 0.25
CENTERING = 0.5
SMALLTALK_NEAREST = 3
SMALLTALK_DROP = 0.5
STEP_ASK_FLOOR = 0.05
STEP_MIN = 0.10
STEP_MARGIN = 0.10
HIGH_MARGIN = 0.10
MEDIUM_MARGIN = 0.05


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters: its head and its tail, joined by a newline."""
    if len(text) <= limit:
        return text
    head = int(limit * HEAD_SHARE)
    return text[:head] + "\n" + text[len(text) - (limit - head - 1) :]


def what_is_read(ask: str) -> str:
    """The text of the ask the encoder reads: clipped, lead-ins dropped, quoted passages shrunk."""
    return without_quoted(without_lead_ins(clip(ask, ASK_CHARS)))


def without_lead_ins(text: str) -> str:
    """`text` without the short sentences it opens with ("Thanks. Great! Now..." -> "Now..."), as long as
    `INSTRUCTION_MIN` letters are left."""
    while (lead := _LEAD.match(text)) and len(lead[1].split()) <= LEAD_WORDS and _letters(lead[1]) <= LEAD_LETTERS:
        if _letters(text[lead.end() :]) < INSTRUCTION_MIN:
            break
        text = text[lead.end() :]
    return text


def without_quoted(text: str) -> str:
    """`text` with every quoted passage of `QUOTED_MIN` letters or more shrunk to an ellipsis in its quotes,
    when `INSTRUCTION_MIN` letters stay outside them; otherwise `text` itself."""
    shrunk = _QUOTED.sub(_shrink, text)
    return shrunk if shrunk != text and _letters(shrunk) >= INSTRUCTION_MIN else text


def _shrink(quoted: re.Match[str]) -> str:
    whole = quoted[0]
    return whole if _letters(whole) < QUOTED_MIN else whole[0] + "\u2026" + whole[-1]


def _letters(text: str) -> int:
    return sum(WIDE_WEIGHT if east_asian_width(c) in "WF" else 1 for c in text if c.isalnum())


def ask_cap() -> TokenCap:
    """How much of the clipped ask the encoder reads: `ASK_TOKENS` tokens, head and tail as `clip` keeps them."""
    return TokenCap(ASK_TOKENS, HEAD_SHARE)


def current_ask(conversation: Conversation) -> str:
    """What the person said in the latest user turn that says anything ("" when none does): the blocks an agent
    harness writes into user turns (Claude Code's `<system-reminder>`) are not read, and a turn of nothing
    else is not an ask."""
    for turn in reversed(conversation.turns):
        if turn.role == "user" and (text := without_harness_blocks(turn.text)).strip():
            return text
    return ""


def clip_joined(parts: Sequence[str], limit: int) -> str:
    """`clip("\\n".join(parts), limit)`, copying at most `limit` characters of the parts, however long they are."""
    if sum(map(len, parts)) + len(parts) - 1 <= limit:
        return "\n".join(parts)
    head = int(limit * HEAD_SHARE)
    return _edge(parts, head, tail=False) + "\n" + _edge(parts, limit - head - 1, tail=True)


def _edge(parts: Sequence[str], count: int, *, tail: bool) -> str:
    """The first (or last) `count` characters of the parts joined by newlines, reading each part only as far
    as needed."""
    taken: list[str] = []
    for i, part in enumerate(reversed(parts) if tail else parts):
        if count <= 0:
            break
        if i:
            taken.append("\n")
            count -= 1
        taken.append((part[len(part) - count :] if count < len(part) else part) if tail else part[:count])
        count -= len(taken[-1])
    return "".join(reversed(taken) if tail else taken)


def latest_tool_results(conversation: Conversation, limit: int = STEP_CHARS) -> str:
    """The tool results that end the conversation after its latest ask, joined and clipped to `limit` ("" when
    none); a harness reminder sent with them does not end them."""
    parts: list[str] = []
    for turn in reversed(conversation.turns):
        if turn.role == "user" and not is_ask(turn):
            continue  # a harness reminder sent with the results (Claude Code) is part of the step
        if turn.role != "tool":
            break
        if turn.text:
            parts.append(turn.text)
    return clip_joined(parts[::-1], limit)


def _as_request(description: str) -> str:
    # "writing new code" -> "writing new code"; "CI/CD pipelines" keeps its capitals.
    if len(description) > 1 and description[0].isupper() and not description[1].isupper():
        return description[0].lower() + description[1:]
    return description


def _unit(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return np.asarray(matrix / np.maximum(norms, 1e-12), dtype=np.float64)


def _mean_direction(rows: Vectors) -> NDArray[np.float64]:
    return _unit(rows.astype(np.float64).mean(axis=0))


def preference_vector(encoder: SentenceEncoder, pref: RoutingPreference) -> NDArray[np.float64]:
    """The direction of one preference before centering: its templated description, plus its examples."""
    described = _mean_direction(encoder.embed([t.format(_as_request(pref.description)) for t in TEMPLATES]))
    if not pref.examples:
        return described
    shown = _mean_direction(encoder.embed(pref.examples))
    return _unit((1 - EXAMPLES_SHARE) * described + EXAMPLES_SHARE * shown)


def _confidence(margin: float) -> Confidence:
    if margin >= HIGH_MARGIN:
        return "high"
    return "medium" if margin >= MEDIUM_MARGIN else "low"


@dataclass(frozen=True, slots=True)
class _Route:
    name: str
    provider: str


class EmbeddedRouter:
    """Routes the current ask to the routing preference whose description (and examples) it is closest to."""

    name = "embedded"

    def __init__(
        self, providers: tuple[Provider, ...], min_score: float, *, encoder: SentenceEncoder | None = None
    ) -> None:
        self._default = next((p.name for p in providers if p.default), providers[0].name if providers else "")
        self._min_score = min_score
        routes = routes_of(providers)  # both config shapes (v0.3 inline, v0.4 top-level) alike
        self._routes = tuple(_Route(r.name, r.provider) for r in routes)
        self._encoder = encoder or shared_encoder()
        prefs = [r.preference for r in routes]
        # Every example row (centred like the routes), stacked route by route: `_owners[k]` is the route of
        # the k-th group, which starts at row `_starts[k]`; one product scores them all.
        self._examples = np.zeros((0, 1))
        self._owners = np.zeros(0, dtype=np.intp)
        self._starts = np.zeros(0, dtype=np.intp)
        if not prefs:
            self._matrix = np.zeros((0, 1))
            self._smalltalk = np.zeros((0, 1))
            return
        raw = np.stack([preference_vector(self._encoder, pref) for pref in prefs])
        shift = CENTERING * raw.mean(axis=0, keepdims=True)
        self._matrix = _unit(raw - shift)
        shown = [i for i, pref in enumerate(prefs) if pref.examples]
        if shown:
            rows = [self._encoder.embed(prefs[i].examples).astype(np.float64) for i in shown]
            self._examples = _unit(np.concatenate(rows) - shift)
            self._owners = np.array(shown, dtype=np.intp)
            self._starts = np.cumsum([0] + [len(r) for r in rows[:-1]]).astype(np.intp)
        prototypes = self._encoder.embed(smalltalk.PROTOTYPES).astype(np.float64)
        near_a_route = (prototypes @ raw.T).max(axis=1) >= SMALLTALK_DROP
        self._smalltalk = prototypes[~near_a_route]

    async def route(self, conversation: Conversation) -> RouteChoice:
        return self.classify(conversation)

    def scores(self, conversation: Conversation) -> list[float]:
        """The cosine of the current ask with every routing preference, in config order."""
        if not self._routes:
            return []
        return [float(s) for s in self._scores(self._ask_vector(current_ask(conversation)))]

    def _scores(self, vector: NDArray[np.float64]) -> NDArray[np.float64]:
        """Every preference's score for an embedded text: its cosine, blended with its nearest example's."""
        scores = np.array(self._matrix @ vector, dtype=np.float64)
        if len(self._owners):
            nearest = np.maximum.reduceat(self._examples @ vector, self._starts)
            owned = scores[self._owners]
            scores[self._owners] = (1 - NEAREST_EXAMPLE_SHARE) * owned + NEAREST_EXAMPLE_SHARE * nearest
        return scores

    def _ask_vector(self, ask: str) -> NDArray[np.float64]:
        return self._vector(what_is_read(ask), ask_cap())

    def _vector(self, text: str, cap: TokenCap | None = None) -> NDArray[np.float64]:
        return np.asarray(self._encoder.embed([text], cap)[0], dtype=np.float64)

    def _smalltalk_score(self, vector: NDArray[np.float64]) -> float:
        if not len(self._smalltalk):
            return -1.0
        return float(np.sort(self._smalltalk @ vector)[-SMALLTALK_NEAREST:].mean())

    def classify(self, conversation: Conversation) -> RouteChoice:
        ask = current_ask(conversation)
        if not self._routes or not ask:
            return RouteChoice(self._default, None, "default", 0.0, "high" if not self._routes else "low")
        vector = self._ask_vector(ask)
        scores = self._scores(vector)
        order = np.argsort(-scores, kind="stable")
        best = int(order[0])
        top = float(scores[best])
        runner_up = float(scores[order[1]]) if len(order) > 1 else -1.0
        chatter = self._smalltalk_score(vector)
        if top < self._min_score or chatter > top:
            margin = max(self._min_score - top, chatter - top)
            return RouteChoice(self._default, None, "default", _clamp(top), _confidence(margin))
        margin = min(top - runner_up, top - chatter, top - self._min_score)
        moved = self._step_choice(conversation, scores, best)
        if moved is not None:
            return moved
        route = self._routes[best]
        return RouteChoice(route.provider, route.name, "preference", _clamp(top), _confidence(margin))

    def _step_choice(self, conversation: Conversation, scores: NDArray[np.float64], best: int) -> RouteChoice | None:
        """The preference the latest tool results choose among the ask's readings, if they clearly do."""
        if int((scores >= STEP_ASK_FLOOR).sum()) < 2:
            return None
        results = latest_tool_results(conversation, STEP_CHARS)
        if not results.strip():  # also when only the middle of long results has text: it embeds as zero
            return None
        step = self._scores(self._vector(results))
        order = np.argsort(-step, kind="stable")
        chosen = int(order[0])
        lead = float(step[chosen] - step[order[1]])
        if chosen == best or step[chosen] < STEP_MIN or lead < STEP_MARGIN or scores[chosen] < STEP_ASK_FLOOR:
            return None
        route = self._routes[chosen]
        return RouteChoice(route.provider, route.name, "preference", _clamp(float(step[chosen])), _confidence(lead))


def _clamp(score: float) -> float:
    return min(1.0, max(0.0, round(score, 6)))
