"""The demo's scripted model, whatever API it is asked through: an `Ask` in, a `Plan` out, as a pure function.

Nothing here knows a wire format, does I/O or reads a clock. Each API's module reads its request into an
`Ask` (chat_wire.py for chat completions, anthropic_wire.py for Anthropic Messages, responses_wire.py for
OpenAI Responses) and renders the `Plan` in its own shapes, so one conversation gets the same answer, tool
calls and call ids through every API. The model honours the request: tool-call arguments are valid for
the tool's JSON schema, the tool choice and parallel tool calls are obeyed, an answer format gets JSON
of that shape, and a token budget cuts the answer (see `plan`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from brightstaff.demo.schema_instance import instance

# The demo agent's tools, in the order a careful analyst would use them; see `plan`.
DEMO_TOOLS = frozenset({"get_db_benchmarks", "get_case_studies", "check_feature_support"})
GENERIC_TOOL_ROUNDS = 3

# How a streamed text is cut: a few words per delta, as providers stream it.
STREAM_PIECE = re.compile(r"(?:\S+\s*){1,3}")
# How streamed tool arguments are cut: pieces this long, wherever they fall in the JSON.
ARGUMENT_PIECE = 12


def tokens(text: str) -> int:
    """The fakes' token count: about 4 characters a token, deterministic, in the ballpark clients expect."""
    return max(1, len(text) // 4)


def text_of(content: Any) -> str:
    """A message's text as all three APIs write content: a string, or the `text` of each part, one per line."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def stream_pieces(text: str) -> list[str]:
    """`text` as the deltas of a stream: a few words each, joined back exactly."""
    return STREAM_PIECE.findall(text)


def with_answer_deltas(plan: Plan, deltas: int) -> Plan:
    """`plan` with its text answer replaced by one that streams in exactly `deltas` deltas (benchmarks size
    their streams with it); a plan of tool calls is kept as it is."""
    if plan.content is None or plan.tool_calls:
        return plan
    words = [f"w{i % 1000:03d}" for i in range(3 * max(deltas, 1))]  # three words a delta (STREAM_PIECE)
    return replace(plan, content=" ".join(words))


def argument_pieces(arguments: str) -> list[str]:
    return [arguments[i : i + ARGUMENT_PIECE] for i in range(0, len(arguments), ARGUMENT_PIECE)]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    parameters: dict[str, Any]  # the JSON schema of its arguments (always an object schema)


def object_schema(schema: Any) -> dict[str, Any]:
    """A tool's argument schema as the model uses it: arguments are always a JSON object."""
    schema = schema if isinstance(schema, dict) else {}
    return schema if "type" in schema else {"type": "object", **schema}


@dataclass(frozen=True, slots=True)
class ToolChoice:
    mode: Literal["none", "auto", "required"] = "auto"
    only: frozenset[str] | None = None  # the names the model may call; None: every tool


@dataclass(frozen=True, slots=True)
class AnswerFormat:
    """What shape the text answer must have: JSON valid for `schema`, or (schema None) any JSON object."""

    schema: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Ask:
    """A request as the scripted model reads it, whatever API it came through."""

    model: str
    conversation_key: str  # the first user text: what makes the call ids of one conversation its own
    last_user_text: str
    message_count: int  # as the API counts its messages (or input items)
    rounds: int  # tool-calling rounds since the latest user message
    tool_results: int  # tool results anywhere in the conversation
    tools: tuple[Tool, ...] = ()
    choice: ToolChoice = ToolChoice()
    parallel: bool = True
    answer_format: AnswerFormat | None = None
    think: bool = False  # the request enabled thinking/reasoning: the plan carries its reasoning
    max_output_tokens: int | None = None  # None: no budget


@dataclass(frozen=True, slots=True)
class ToolCall:
    key: str  # 24 hex digits, the same for the same conversation, round, call and arguments
    name: str
    arguments: str  # JSON text, as the APIs send it

    @property
    def id(self) -> str:
        """The call id chat completions and Responses use (`call_...`)."""
        return f"call_{self.key}"

    def input(self) -> dict[str, Any]:
        value = json.loads(self.arguments)
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True)
class Plan:
    """What the fake model answers: text, or tool calls (then `content` is None), and its reasoning if asked.

    `truncated` is true when the token budget cut the answer: the text is cut short and the tool calls
    that did not fit are left out."""

    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str | None = None
    truncated: bool = False

    @property
    def finish_reason(self) -> str:
        """The chat completions finish reason."""
        return "tool_calls" if self.tool_calls else "stop"


def output_tokens(plan: Plan) -> int:
    text = (plan.reasoning or "") + (plan.content or "") + "".join(c.name + c.arguments for c in plan.tool_calls)
    return tokens(text)


def arguments_for(tool: Tool, wanted: dict[str, Any] | None = None) -> dict[str, Any]:
    """Arguments the tool's schema accepts: `wanted` where the schema allows it, the schema's own otherwise."""
    value = instance(tool.parameters) if wanted is None else instance(tool.parameters, wanted)
    return value if isinstance(value, dict) else {}


def _call(conversation_key: str, round_number: int, index: int, name: str, arguments: dict[str, Any]) -> ToolCall:
    args = json.dumps(arguments, separators=(",", ":"))
    # Deterministic ids: the same conversation gets the same calls, so recorded runs compare equal.
    digest = hashlib.sha256(f"{conversation_key}|{round_number}|{index}|{name}|{args}".encode()).hexdigest()
    return ToolCall(key=digest[:24], name=name, arguments=args)


# The database investigation: per round, the calls and the arguments the model would like to pass. Each
# agent's own schema has the last word (arguments_for): brightstaff's demo agent takes these as they
# are; an agent whose schema spells the workload `read_heavy`, or requires a database, gets that.
DEMO_SCRIPT: tuple[tuple[tuple[str, dict[str, Any]], ...], ...] = (
    (("get_db_benchmarks", {"workload": "read-heavy"}), ("get_db_benchmarks", {"workload": "write-heavy"})),
    (("get_case_studies", {"database": "postgresql"}), ("get_case_studies", {"database": "mongodb"})),
    (("check_feature_support", {"database": "mongodb", "feature": "multi-document ACID transactions"}),),
)

DEMO_ANSWER = (
    "Recommendation: PostgreSQL.\n"
    "- Orders need multi-row ACID transactions; PostgreSQL gives them with no caveats, MongoDB only "
    "with replica-set transactions and extra latency.\n"
    "- The read-heavy catalogue benchmark is close (PostgreSQL with JSONB indexes is within 10% of "
    "MongoDB), while write-heavy checkout traffic favours PostgreSQL's p99.\n"
    "- Flexible product attributes fit a JSONB column, as the case studies did.\n"
    "Start with the orders/order_items schema and a JSONB attributes column on products."
)


def _script(parallel: bool) -> tuple[tuple[tuple[str, dict[str, Any]], ...], ...]:
    # No parallel tool calls allows one call per answer: the same calls, one round each.
    return DEMO_SCRIPT if parallel else tuple((call,) for calls in DEMO_SCRIPT for call in calls)


def plan(ask: Ask, provider_name: str = "fake") -> Plan:
    """The scripted model: a pure function of the request, so every run of a conversation is the same.

    Every tool call's arguments are valid for that tool's JSON schema (schema_instance.instance).
    With the demo's three tools it follows the database investigation script (benchmarks, case
    studies, a feature check, then the recommendation); with other tools it calls them one per round,
    in order, then answers; without tools it answers with text. The tool choice is obeyed: "none" never
    calls, "required" always calls, `only` narrows the tools it may call (a named tool is "required" of
    one); without parallel tool calls it makes one call per answer. An answer format makes the answer a
    JSON document valid for the schema, or a JSON object. With `think` the plan carries a line of
    reasoning; `max_output_tokens` cuts what does not fit (`truncated`).
    """
    tools = list(ask.tools)
    callable_tools = [t for t in tools if ask.choice.only is None or t.name in ask.choice.only]
    mode = ask.choice.mode
    rounds = ask.rounds
    by_name = {t.name: t for t in callable_tools}
    scripted = DEMO_TOOLS.issubset(t.name for t in tools)

    calls: list[tuple[Tool, dict[str, Any] | None]] = []
    if callable_tools and mode != "none":
        script = _script(ask.parallel)
        if scripted and rounds < len(script):
            calls = [(by_name[name], wanted) for name, wanted in script[rounds] if name in by_name]
        elif not scripted and rounds < min(len(tools), GENERIC_TOOL_ROUNDS):
            calls = [(by_name[tools[rounds].name], None)] if tools[rounds].name in by_name else []
        if not calls and mode == "required":
            calls = [(callable_tools[rounds % len(callable_tools)], None)]
    if calls:
        tool_calls = tuple(
            _call(ask.conversation_key, rounds, i, t.name, arguments_for(t, w)) for i, (t, w) in enumerate(calls)
        )
        names = ", ".join(dict.fromkeys(c.name for c in tool_calls))
        thought = f"I need {names} before I can answer this."
        return _within_budget(ask, Plan(None, tool_calls, thought if ask.think else None))

    if tools and mode != "none":
        text = DEMO_ANSWER if scripted else f"Done: {ask.model} used {ask.tool_results} tool result(s) to answer."
    else:
        snippet = " ".join(ask.last_user_text.split())[:200]
        text = (
            f"This is the fake {provider_name} provider answering as {ask.model}. "
            f"You sent {ask.message_count} message(s); the last user message was: {snippet}"
        )
    answered = "I have what I need to answer." if ask.think else None
    return _within_budget(ask, Plan(_formatted(ask.answer_format, text), reasoning=answered))


def _formatted(answer_format: AnswerFormat | None, text: str) -> str:
    """The answer in the shape asked for: a schema-valid JSON document, a JSON object, or text."""
    if answer_format is None:
        return text
    if answer_format.schema is not None:
        return json.dumps(instance(answer_format.schema))
    return json.dumps({"answer": text})


def _within_budget(ask: Ask, full: Plan) -> Plan:
    """The plan cut to `max_output_tokens`: reasoning first, then the text, then only the calls that fit whole."""
    budget = ask.max_output_tokens
    if budget is None or output_tokens(full) <= budget:
        return full
    chars = budget * 4  # the inverse of `tokens`
    reasoning = full.reasoning[:chars] if full.reasoning is not None else None
    chars -= len(reasoning or "")
    content = full.content[: max(chars, 0)] if full.content is not None else None
    chars -= len(content or "")
    kept: list[ToolCall] = []
    for call in full.tool_calls:
        chars -= len(call.name) + len(call.arguments)
        if chars < 0:
            break
        kept.append(call)
    return Plan(content, tuple(kept), reasoning, truncated=True)
