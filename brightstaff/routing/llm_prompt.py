"""Router-model prompts and answers: the bounded conversation, the Arch-Router / Orchestrator prompt text,
and the parser of what the router model says. Pure data and functions, no I/O.

Formats (`routing.router.format`)
    arch_router      katanemo/Arch-Router-1.5B. The routes are one compact JSON array of
                     {"name", "description"}; the conversation one compact JSON array of {"role", "content"};
                     the model answers {"route": "<name>"} or {"route": "other"}.
    orchestrator_v1  katanemo/Plano-Orchestrator. One JSON object per line per route
                     ({"name", "description", "parameters"} with an empty parameters schema), the
                     conversation as JSON indented by four spaces; the model answers
                     {"route": ["<name>", ...]}, an empty list meaning no route fits.
    Both are sent as a single user message. The instruction wording is the models' trained input, so it
    is kept as the models expect it, grammar included; the one deliberate difference from Plano's
    orchestrator prompt is its response example, which Plano sends with doubled braces ({{...}}) and
    this module sends as the plain JSON the model is asked to produce.

Prefix caching
    Routes are listed in config order (`routes_of`: providers in file order, each provider's routes in order),
    rendered once per router. Everything before the conversation is therefore byte-identical for every
    request in every process, so a vLLM or SGLang prefix cache serves it. (The reference builds the list
    from a hash map, whose order changes between processes.)

What the router reads of a conversation (`bound_conversation`)
    - Only user and assistant turns with text. System and developer messages are dropped: they are the
      agent's standing instructions, long and the same on every turn, and the router models were trained
      to route on the user's latest intent. Tool results (role tool/function) are dropped too: they are
      data the agent fetched, often large, not what the user asked for. An assistant message that only
      calls tools has no text and is dropped; one with text keeps its text. A side effect worth having:
      every step of one tool loop shows the router the same conversation, so un-pinned requests of one
      agent run keep routing alike.
    - The most recent `max_messages` such turns; the latest user message is always among them.
    - A character budget: `max_context_tokens` x 4 (tokens estimated as characters / 4, as the reference
      does), minus the instructions and the routes. The latest user message is placed first and may
      take the whole budget; the other turns, newest first, are each cut to a quarter of the budget at
      most and added while they fit. A message longer than its share is trimmed in the middle: 60 % of
      the room from its head (where the task is usually framed), 40 % from its tail (where the question
      after a long paste usually sits), joined by "…".

Answers (`parse_answer`)
    Lenient about packaging, strict about meaning: surrounding whitespace, <think> blocks, Markdown code
    fences, prose around the JSON object and single-quoted pseudo-JSON are tolerated; either shape
    ("route" as a string or a list) is read in both formats; route names match exactly, or ignoring case
    when that is unambiguous. "other", null, an empty string or an empty list mean "no route fits"
    (returned as None: the default model, not a failure). Anything else raises `AnswerError`: "malformed"
    (no JSON object with a "route" string or list) or "unknown_route" (names no configured route).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from brightstaff.config import LlmRouterSettings, Provider, RouterFormat, routes_of
from brightstaff.core.conversation import Conversation, Turn

Format = RouterFormat

CHARS_PER_TOKEN = 4
TRIM_MARKER = "…"
HEAD_SHARE = 0.6
# Per-turn JSON framing ({"role":"assistant","content":""}), counted against the budget; RouterPrompt
# measures its own format's framing (indentation costs the orchestrator format more).
TURN_OVERHEAD = 40
# The conversation always gets at least this much room, however long the route list is.
MIN_CONVERSATION_CHARS = 1000
# A context turn is not worth adding when less than this much of it would fit.
MIN_TURN_CHARS = 80
# How far behind the turn window to look for the latest user message (bounds the scan of a long transcript).
USER_LOOKBACK = 200
# An answer longer than this is not a route choice; it is not parsed at all.
MAX_ANSWER_CHARS = 4096
NO_ROUTE = "other"


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    description: str
    provider: str


def routes_in_config_order(providers: Sequence[Provider]) -> tuple[Route, ...]:
    return tuple(Route(r.name, r.description, r.provider) for r in routes_of(providers))


@dataclass(frozen=True, slots=True)
class ShownTurn:
    """A turn as the router model is shown it."""

    role: str  # "user" | "assistant"
    content: str


def trim_middle(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters: head and tail kept, the middle replaced by "…"."""
    if len(text) <= limit:
        return text
    if limit <= len(TRIM_MARKER):
        return text[: max(0, limit)]
    room = limit - len(TRIM_MARKER)
    head = int(room * HEAD_SHARE)
    return text[:head] + TRIM_MARKER + text[len(text) - (room - head) :]


def _shown(turn: Turn) -> ShownTurn | None:
    if turn.role not in ("user", "assistant"):
        return None  # system and tool turns: see the module docstring
    text = turn.text.strip()
    return ShownTurn(turn.role, text) if text else None


def _window(turns: Sequence[Turn], max_messages: int) -> list[ShownTurn]:
    """The newest `max_messages` turns in order, with the latest user turn first if it fell outside."""
    newest_first: list[ShownTurn] = []
    has_user = False
    i = len(turns) - 1
    while i >= 0 and len(newest_first) < max_messages:
        turn = _shown(turns[i])
        if turn is not None:
            newest_first.append(turn)
            has_user = has_user or turn.role == "user"
        i -= 1
    if not has_user and newest_first:
        for j in range(i, max(-1, i - USER_LOOKBACK), -1):
            turn = _shown(turns[j])
            if turn is not None and turn.role == "user":
                newest_first[-1] = turn  # the oldest of the window makes room for the request itself
                break
    newest_first.reverse()
    return newest_first


def bound_conversation(
    conversation: Conversation, *, max_messages: int, budget_chars: int, turn_overhead: int = TURN_OVERHEAD
) -> list[ShownTurn]:
    """The turns shown to the router, oldest first, within `max_messages` and `budget_chars`."""
    turns = _window(conversation.turns, max(1, max_messages))
    if not turns:
        return []
    last_user = next((i for i in range(len(turns) - 1, -1, -1) if turns[i].role == "user"), None)
    chosen: dict[int, ShownTurn] = {}
    left = budget_chars
    if last_user is not None:
        text = trim_middle(turns[last_user].content, max(MIN_TURN_CHARS, left - turn_overhead))
        chosen[last_user] = ShownTurn("user", text)
        left -= len(text) + turn_overhead
    share = max(MIN_TURN_CHARS, budget_chars // 4)
    for i in range(len(turns) - 1, -1, -1):
        if i == last_user:
            continue
        room = min(share, left - turn_overhead)
        if room < MIN_TURN_CHARS:
            break  # older turns would be cut to nothing; the conversation stays contiguous
        text = trim_middle(turns[i].content, room)
        chosen[i] = ShownTurn(turns[i].role, text)
        left -= len(text) + turn_overhead
    return [chosen[i] for i in sorted(chosen)]


# --------------------------------------------------------------------------------------------------
# Prompt text

_ARCH_ROUTER_HEAD = (
    "\nYou are a helpful assistant designed to find the best suited route.\n"
    "You are provided with route description within <routes></routes> XML tags:\n"
    "<routes>\n"
)
_ARCH_ROUTER_MIDDLE = "\n</routes>\n\n<conversation>\n"
_ARCH_ROUTER_TAIL = (
    "\n</conversation>\n\n"
    "Your task is to decide which route is best suit with user intent on the conversation in "
    "<conversation></conversation> XML tags.  Follow the instruction:\n"
    '1. If the latest intent from user is irrelevant or user intent is full filled, response with other route {"route": "other"}.\n'  # noqa: E501
    "2. You must analyze the route descriptions and find the best match route for user latest intent.\n"
    "3. You only response the name of the route that best matches the user's request, use the exact name in the "
    "<routes></routes>.\n\n"
    "Based on your analysis, provide your response in the following JSON formats if you decide to match any route:\n"
    '{"route": "route_name"}\n'
)

_ORCHESTRATOR_HEAD = (
    "\nYou are a helpful assistant that selects the most suitable routes based on user intent.\n"
    "You are provided with a list of available routes enclosed within <routes></routes> XML tags:\n"
    "<routes>\n"
)
_ORCHESTRATOR_MIDDLE = (
    "\n</routes>\n\n"
    "You are also given the conversation context enclosed within <conversation></conversation> XML tags:\n"
    "<conversation>\n"
)
_ORCHESTRATOR_TAIL = (
    "\n</conversation>\n\n"
    "## Instructions\n"
    "1. Analyze the latest user intent from the conversation.\n"
    "2. Compare it against the available routes to find which routes can help fulfill the request.\n"
    "3. Respond only with the exact route names from <routes>.\n"
    "4. If no routes can help or the intent is already fulfilled, return an empty list.\n\n"
    "## Response Format\n"
    "Return your answer strictly in JSON as follows:\n"
    '{"route": ["route_name_1", "route_name_2", "..."]}\n'
    "If no routes are needed, return an empty list for `route`.\n"
)
_EMPTY_PARAMETERS = {"type": "object", "properties": {}, "required": []}


class RouterPrompt:
    """Builds the router model's prompt for one set of routes; the route block is rendered once."""

    def __init__(
        self,
        routes: Sequence[Route],
        fmt: Format,
        *,
        max_messages: int = LlmRouterSettings.max_messages,
        max_context_tokens: int = LlmRouterSettings.max_context_tokens,
    ) -> None:
        self.routes = tuple(routes)
        self.format: Format = fmt
        self.max_messages = max_messages
        if fmt == "arch_router":
            listed = [{"name": r.name, "description": r.description} for r in self.routes]
            block = json.dumps(listed, ensure_ascii=False, separators=(",", ":"))
            self.prefix = _ARCH_ROUTER_HEAD + block + _ARCH_ROUTER_MIDDLE
            self.suffix = _ARCH_ROUTER_TAIL
        else:
            block = "\n".join(
                json.dumps(
                    {"name": r.name, "description": r.description, "parameters": _EMPTY_PARAMETERS}, ensure_ascii=False
                )
                for r in self.routes
            )
            self.prefix = _ORCHESTRATOR_HEAD + block + _ORCHESTRATOR_MIDDLE
            self.suffix = _ORCHESTRATOR_TAIL
        fixed = len(self.prefix) + len(self.suffix)
        self.turn_overhead = len(self._conversation_json([ShownTurn("assistant", "")])) + 1  # + the separator
        self.overflows = fixed >= max_context_tokens * CHARS_PER_TOKEN  # the routes alone exceed the budget
        self.budget_chars = max(MIN_CONVERSATION_CHARS, max_context_tokens * CHARS_PER_TOKEN - fixed)

    def conversation(self, conversation: Conversation) -> list[ShownTurn]:
        return bound_conversation(
            conversation,
            max_messages=self.max_messages,
            budget_chars=self.budget_chars,
            turn_overhead=self.turn_overhead,
        )

    def _conversation_json(self, turns: Sequence[ShownTurn]) -> str:
        listed = [{"role": t.role, "content": t.content} for t in turns]
        if self.format == "arch_router":
            return json.dumps(listed, ensure_ascii=False, separators=(",", ":"))
        return json.dumps(listed, ensure_ascii=False, indent=4)

    def render(self, turns: Sequence[ShownTurn]) -> str:
        return self.prefix + self._conversation_json(turns) + self.suffix

    def build(self, conversation: Conversation) -> str | None:
        """The prompt for a conversation, or None when it holds nothing to route on."""
        turns = self.conversation(conversation)
        return self.render(turns) if turns else None


# --------------------------------------------------------------------------------------------------
# Answers


class AnswerError(ValueError):
    """The router model's answer names no usable route."""

    def __init__(self, kind: Literal["malformed", "unknown_route"], detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)```", re.DOTALL)
_BARE_QUOTES = "\"'`.,;: \t\r\n"
_MAX_OBJECT_STARTS = 8


def _json_object(text: str) -> dict[str, Any] | None:
    decoder = json.JSONDecoder()
    for candidate in (text, text.replace("'", '"')):
        start = candidate.find("{")
        for _ in range(_MAX_OBJECT_STARTS):
            if start < 0:
                break
            try:
                value, _end = decoder.raw_decode(candidate, start)
            except json.JSONDecodeError:
                value = None
            if isinstance(value, dict):
                return value
            start = candidate.find("{", start + 1)
    return None


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AnswerError("malformed", f'"route" is neither a string nor a list of strings: {value!r}'[:200])
    return [v.strip() for v in value if v.strip() and v.strip().lower() != NO_ROUTE]


def parse_answer(text: str, routes: Sequence[str]) -> str | None:
    """The route the router model chose, None for "no route fits"; raises AnswerError otherwise."""
    if len(text) > MAX_ANSWER_CHARS:
        raise AnswerError("malformed", f"an answer of {len(text)} characters is not a route choice")
    body = _THINK.sub("", text).strip()
    fenced = _FENCE.search(body)
    if fenced is not None:
        body = fenced.group(1).strip()
    if not body:
        raise AnswerError("malformed", "empty answer")
    exact = {name: name for name in routes}
    folded: dict[str, str | None] = {}
    for name in routes:
        key = name.lower()
        folded[key] = None if key in folded and folded[key] != name else name  # None: ambiguous
    bare = body.strip(_BARE_QUOTES)
    if bare.lower() == NO_ROUTE:
        return None
    obj = _json_object(body)
    if obj is None:
        if bare in exact or folded.get(bare.lower()):
            return exact.get(bare) or folded[bare.lower()]
        raise AnswerError("malformed", f"no JSON object in the answer: {body[:200]!r}")
    if "route" not in obj:
        raise AnswerError("malformed", f'no "route" key in the answer: {body[:200]!r}')
    names = _names(obj["route"])
    if not names:
        return None
    for name in names:
        found = exact.get(name) or folded.get(name.lower())
        if found is not None:
            return found
    raise AnswerError(
        "unknown_route", f"the router chose {', '.join(repr(n) for n in names)[:200]}, not a configured route"
    )
