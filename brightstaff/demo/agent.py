"""The demo's database selection agent: a real tool-calling loop over an official SDK (chat completions by
default; Anthropic Messages or OpenAI Responses, see agent_apis.py), and its printout."""

from __future__ import annotations

import argparse
import itertools
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openai.types.chat import ChatCompletionToolParam

from brightstaff.demo.agent_apis import API_ERRORS, open_conversation
from brightstaff.demo.scenario import AGENT_APIS, ASKED_MODELS, AgentApi

AFFINITY_HEADER = "X-Model-Affinity"
RULE = "━" * 56
MODEL_COLUMN = 25

SYSTEM_PROMPT = (
    "You are a database selection agent for an e-commerce engineering team. Gather evidence with the "
    "tools before you answer, and keep the final answer short."
)

# Each turn of the loop is routed on its own, by what the conversation is doing at that point (the
# latest user message and the tool traffic after it). The task asks for code, so the opening turn reads
# as code generation; the tool results then alternate between data that needs weighing and reference
# implementations to build on, as a real investigation does. Nothing here names a model: whatever the
# router makes of each turn is what the printout shows.
USER_PROMPT = (
    "We are building a high-traffic e-commerce platform and must pick PostgreSQL or MongoDB for it. "
    "Research both with the tools, then write the code for the one you pick: the schema for orders and "
    "products, and the functions that place an order."
)

_DATABASES = ["postgresql", "mongodb"]

TOOLS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "get_db_benchmarks",
            "description": "Fetch performance benchmarks of PostgreSQL and MongoDB under a workload.",
            "parameters": {
                "type": "object",
                "properties": {
                    "workload": {"type": "string", "enum": ["read-heavy", "write-heavy", "mixed"]},
                    "database": {"type": "string", "enum": _DATABASES, "description": "omit for both"},
                },
                "required": ["workload"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_case_studies",
            "description": "Retrieve real-world e-commerce case studies, with their schemas, for a database.",
            "parameters": {
                "type": "object",
                "properties": {"database": {"type": "string", "enum": _DATABASES}},
                "required": ["database"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "check_feature_support",
            "description": "Check whether a database supports a specific feature, and its caveats.",
            "parameters": {
                "type": "object",
                "properties": {
                    "database": {"type": "string", "enum": _DATABASES},
                    "feature": {"type": "string"},
                },
                "required": ["database", "feature"],
            },
        },
    },
]

# --------------------------------------------------------------------------------------------------
# Simulated tools. The numbers are illustrative, not measurements; what matters for the demo is their
# shape: benchmarks come back as conflicting data to analyse, case studies as code to reuse, feature
# checks as caveats to reason through.

_BENCHMARKS: dict[str, dict[str, Any]] = {
    "read-heavy": {
        "workload": "read-heavy: catalogue browsing and search, 95% reads",
        "postgresql": {"reads_per_sec": 41800, "p50_ms": 1.9, "p99_ms": 7.4},
        "mongodb": {"reads_per_sec": 46200, "p50_ms": 1.6, "p99_ms": 9.8},
        "analysis": (
            "Mixed evidence: MongoDB leads on throughput and median latency, PostgreSQL on the p99 tail. "
            "Compare which metric matters before deciding; the tradeoff changes once the working set "
            "outgrows memory."
        ),
    },
    "write-heavy": {
        "workload": "write-heavy: checkout, payments and stock updates, 70% writes",
        "postgresql": {"writes_per_sec": 18900, "p50_ms": 3.1, "p99_ms": 12.0, "aborted_txn_pct": 0.4},
        "mongodb": {"writes_per_sec": 24500, "p50_ms": 2.2, "p99_ms": 31.5, "aborted_txn_pct": 2.7},
        "analysis": (
            "MongoDB is faster without transactions, but with multi-document transactions its p99 and abort "
            "rate degrade. Evaluate the implications for orders step by step: weigh raw write throughput "
            "against consistency under contention, and assess the risk of oversold stock."
        ),
    },
    "mixed": {
        "workload": "mixed: 60% reads, 40% writes",
        "postgresql": {"ops_per_sec": 30400, "p99_ms": 9.1},
        "mongodb": {"ops_per_sec": 33900, "p99_ms": 14.2},
        "analysis": "Close on throughput; the tail latency tradeoff needs careful analysis.",
    },
}

_CASE_STUDIES: dict[str, list[dict[str, Any]]] = {
    "postgresql": [
        {
            "company": "Shopify-scale storefront",
            "summary": "Orders and payments in PostgreSQL; product attributes in a JSONB column.",
            "schema": (
                "CREATE TABLE orders (id BIGSERIAL PRIMARY KEY, customer_id BIGINT NOT NULL, "
                "status TEXT NOT NULL, total_cents BIGINT NOT NULL, created_at TIMESTAMPTZ DEFAULT now());\n"
                "CREATE TABLE products (id BIGSERIAL PRIMARY KEY, sku TEXT UNIQUE, attributes JSONB);"
            ),
            "excerpt": (
                "def place_order(conn, customer_id, items):\n"
                "    with conn.transaction():\n"
                "        order_id = conn.execute(INSERT_ORDER, (customer_id,)).fetchone()[0]\n"
                "        conn.executemany(INSERT_ITEM, [(order_id, i.sku, i.qty) for i in items])\n"
                "    return order_id"
            ),
        },
    ],
    "mongodb": [
        {
            "company": "Marketplace catalogue team",
            "summary": "Product catalogue in MongoDB; carts as documents; orders moved to a SQL store later.",
            "document": '{"_id": "sku-123", "title": "Desk", "attributes": {"color": "oak"}, "stock": 12}',
            "excerpt": (
                "class ProductRepository:\n"
                "    def __init__(self, db):\n"
                "        self.products = db.products\n"
                "    def find_by_sku(self, sku):\n"
                "        return self.products.find_one({'_id': sku})"
            ),
        },
    ],
}

_FEATURES: dict[tuple[str, str], dict[str, Any]] = {
    ("mongodb", "transaction"): {
        "supported": True,
        "since": "4.0 (replica sets), 4.2 (sharded clusters)",
        "caveats": (
            "Supported, with limits: a transaction aborts after 60 seconds by default, holds its changes in "
            "memory, and adds latency on sharded clusters. Whether these caveats matter is a decision that "
            "needs careful reasoning: analyze the checkout path step by step, evaluate the consistency "
            "risks and their implications under contention, and explain the tradeoffs in detail before "
            "recommending it for payments."
        ),
    },
    ("postgresql", "transaction"): {
        "supported": True,
        "since": "always",
        "caveats": "Full ACID with serializable isolation available; long transactions bloat tables.",
    },
}


def run_tool(name: str, arguments: Mapping[str, Any]) -> str:
    """The simulated result of one tool call, as the JSON text a tool message carries."""
    if name == "get_db_benchmarks":
        workload = str(arguments.get("workload", "mixed")).replace("_", "-")
        data = _BENCHMARKS.get(workload)
        if data is None:
            return json.dumps({"error": f"unknown workload {workload!r}; use read-heavy, write-heavy or mixed"})
        database = arguments.get("database")
        if database in _DATABASES:
            data = {k: v for k, v in data.items() if k not in _DATABASES or k == database}
        return json.dumps(data)
    if name == "get_case_studies":
        database = str(arguments.get("database", "")).lower()
        if database not in _CASE_STUDIES:
            return json.dumps({"error": f"no case studies for {database!r}; use postgresql or mongodb"})
        return json.dumps({"database": database, "case_studies": _CASE_STUDIES[database]})
    if name == "check_feature_support":
        database = str(arguments.get("database", "")).lower()
        feature = str(arguments.get("feature", "")).lower()
        for (db, keyword), result in _FEATURES.items():
            if db == database and keyword in feature:
                return json.dumps({"database": database, "feature": feature, **result})
        return json.dumps({"database": database, "feature": feature, "supported": "unknown"})
    return json.dumps({"error": f"unknown tool {name!r}"})


# --------------------------------------------------------------------------------------------------
# The loop


@dataclass(frozen=True, slots=True)
class Turn:
    """One request of the loop and who served it."""

    number: int
    model: str  # the model that served the turn: x-brightstaff-model when present, else the body's model
    response_model: str  # the response body's `model`
    header_model: str | None  # x-brightstaff-model (None when not behind brightstaff)
    provider: str | None  # x-brightstaff-provider
    affinity: str | None  # x-brightstaff-affinity: none, new, pinned, ...
    route: str | None  # x-brightstaff-route: the routing preference, or why none applied
    tool_calls: tuple[str, ...]  # names of the tools the model called, in order
    finish_reason: str | None

    @property
    def final(self) -> bool:
        return not self.tool_calls


def count_switches(models: Sequence[str]) -> int:
    """How often the model changed from one request to the next."""
    return sum(1 for a, b in itertools.pairwise(models) if a != b)


@dataclass(frozen=True, slots=True)
class AgentRun:
    affinity_id: str | None
    turns: tuple[Turn, ...]
    answer: str | None  # the final answer; None when the loop ended without one
    error: str | None = None  # why the loop stopped early (an API error), if it did

    @property
    def models(self) -> list[str]:
        return [t.model for t in self.turns]

    @property
    def switches(self) -> int:
        return count_switches(self.models)

    @property
    def completed(self) -> bool:
        return self.answer is not None and self.error is None


def _arguments(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def run_agent(
    base_url: str,
    *,
    affinity_id: str | None,
    model: str | None = None,
    max_turns: int = 8,
    api_key: str = "EMPTY",
    stream: bool = False,
    timeout: float = 60.0,
    on_turn: Callable[[Turn], None] | None = None,
    prompt: str = USER_PROMPT,
    system_prompt: str = SYSTEM_PROMPT,
    api: AgentApi = "chat",
) -> AgentRun:
    """Run the database selection agent on `prompt` until it answers (or `max_turns`), one request per turn.

    `model` is what the client asks for (default: `scenario.ASKED_MODELS`, gpt-4o-mini on chat
    completions); behind brightstaff the router decides what serves each turn. `api` is the client API
    the agent talks through (agent_apis.py): chat completions, Anthropic Messages or OpenAI Responses,
    each with its official SDK.
    API errors end the run early and are reported in `AgentRun.error` rather than raised, so a demo
    can print the turns that did happen.
    """
    headers = {AFFINITY_HEADER: affinity_id} if affinity_id else {}
    asked = model or ASKED_MODELS[api]
    turns: list[Turn] = []
    conversation = open_conversation(
        api, base_url, api_key=api_key, timeout=timeout, system_prompt=system_prompt, prompt=prompt, tools=TOOLS
    )
    try:
        for number in range(1, max_turns + 1):
            try:
                reply, response_headers = conversation.ask(asked, headers, stream=stream)
            except API_ERRORS as exc:
                return AgentRun(affinity_id, tuple(turns), None, error=f"turn {number}: {exc}")
            header_model = response_headers.get("x-brightstaff-model")
            turn = Turn(
                number=number,
                model=header_model or reply.model,
                response_model=reply.model,
                header_model=header_model,
                provider=response_headers.get("x-brightstaff-provider"),
                affinity=response_headers.get("x-brightstaff-affinity"),
                route=response_headers.get("x-brightstaff-route"),
                tool_calls=tuple(c.name for c in reply.calls),
                finish_reason=reply.finish_reason,
            )
            turns.append(turn)
            if on_turn is not None:
                on_turn(turn)
            if not reply.calls:
                return AgentRun(affinity_id, tuple(turns), (reply.content or "").strip())
            conversation.answer(reply, [run_tool(c.name, _arguments(c.arguments)) for c in reply.calls])
    finally:
        conversation.close()
    return AgentRun(affinity_id, tuple(turns), None, error=f"no final answer after {max_turns} turns")


# --------------------------------------------------------------------------------------------------
# The printout


def run_title(number: int, affinity_id: str | None) -> str:
    """The seed demo's heading for a run, e.g. "Run 2: WITH Model Affinity (X-Model-Affinity: a1b2c3d4…)"."""
    if affinity_id is None:
        return f"Run {number}: WITHOUT Model Affinity"
    return f"Run {number}: WITH Model Affinity ({AFFINITY_HEADER}: {affinity_id[:8]}…)"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a run's block: what it counts ("turn", "task"), its number, the model, what happened."""

    kind: str
    number: int
    model: str
    what: str


def turn_row(turn: Turn) -> Row:
    return Row("turn", turn.number, turn.model, ", ".join(turn.tool_calls) if turn.tool_calls else "final answer")


def format_row(row: Row, previous_model: str | None, width: int = MODEL_COLUMN) -> str:
    switched = "  ← switched" if previous_model is not None and previous_model != row.model else ""
    return f"  {row.kind} {row.number}  [{row.model:<{width}}]  {row.what}{switched}"


def model_summary(models: Sequence[str], *, affinity: bool, count: int, unit: str) -> str:
    """✓ when one model served every request, ✗ when it switched (or nothing was served), from the data.

    `models` is the model of every request in order; `count` and `unit` ("turn", "task") name what the
    ✓ line says they covered.
    """
    label = "With affinity" if affinity else "Without affinity"
    if not models:
        return f"✗ {label}: no {unit} completed"
    distinct = list(dict.fromkeys(models))
    if len(distinct) == 1:
        return f"✓ {label}: {distinct[0]} for all {count} {unit}s"
    return f"✗ {label}: model switched {count_switches(models)} time(s)"


def summary_line(run: AgentRun) -> str:
    """The ✓/✗ line of one agent run (see `model_summary`)."""
    return model_summary(run.models, affinity=run.affinity_id is not None, count=len(run.turns), unit="turn")


def format_block(title: str, rows: Sequence[Row], summary: str, error: str | None = None) -> str:
    """The seed demo's block: title, rule, one line per row (marked where the model changed), the summary."""
    width = max([MODEL_COLUMN, *(len(r.model) + 1 for r in rows)])
    lines = [title, RULE]
    previous: str | None = None
    for row in rows:
        lines.append(format_row(row, previous, width))
        previous = row.model
    lines.append(summary)
    if error is not None:
        lines.append(f"  stopped early: {error}")
    return "\n".join(lines)


def format_run(run: AgentRun, title: str) -> str:
    """The seed demo's block for one run: title, rule, one line per turn, the ✓/✗ summary."""
    return format_block(title, [turn_row(t) for t in run.turns], summary_line(run), run.error)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the agent twice against an already running brightstaff (`brightstaff demo` starts one)."""
    parser = argparse.ArgumentParser(prog="python -m brightstaff.demo.agent", description=main.__doc__)
    parser.add_argument("--base-url", default="http://127.0.0.1:12000/v1")
    parser.add_argument("--stream", action="store_true", help="stream each turn (SSE)")
    parser.add_argument("--api", choices=AGENT_APIS, default="chat", help="the client API the agent talks through")
    args = parser.parse_args(argv)
    without = run_agent(args.base_url, affinity_id=None, stream=args.stream, api=args.api)
    print(format_run(without, run_title(1, without.affinity_id)))
    pinned = run_agent(args.base_url, affinity_id=uuid.uuid4().hex, stream=args.stream, api=args.api)
    print(format_run(pinned, run_title(2, pinned.affinity_id)))
    return 0 if without.completed and pinned.completed and len(set(pinned.models)) == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
