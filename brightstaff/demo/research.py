"""The agent-server demo's research: three tasks, each its own tool loop, with one affinity id for all.

The tasks are the seed's (generate a comparison table with the tools, analyse the trade-offs, write the
SQL schema), asked in plain words as a person would. Nothing here names a route or a model: without
affinity each task's requests are routed on their own text, so a router that reads a table request, a
request for analysis and a request for SQL differently sends them to different models; with an
affinity id every request of every task carries it, so the first task's decision serves them all.

Each task runs the demo agent's loop (`agent.run_agent`: the same tools, the same turn records) and is a
conversation of its own, as in the seed. What the earlier tasks found goes into its system message, not
into the ask: the user message stays the task itself, which is what a router should classify. The trace
crosses HTTP between the agent server and the demo as JSON (`trace_json` / `trace_from_json`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from brightstaff.demo.agent import AgentRun, Row, Turn, count_switches, format_block, model_summary, run_agent

SYSTEM_PROMPT = (
    "You are a database selection analyst for an e-commerce platform. Use the tools when you need data. "
    "Keep each answer compact: a table, a code block or a few sentences."
)


@dataclass(frozen=True, slots=True)
class Task:
    name: str
    prompt: str


TASKS: tuple[Task, ...] = (
    Task(
        "generate_comparison",
        "Use the tools to get benchmark numbers for PostgreSQL and MongoDB under a mixed workload. Then "
        "generate a compact Markdown table comparing them, with the columns metric, PostgreSQL and MongoDB "
        "and rows for read throughput, write throughput, p99 latency, ACID support and horizontal scaling.",
    ),
    Task(
        "analyse_tradeoffs",
        "Analyse this in depth. Our e-commerce platform needs ACID guarantees for order processing but "
        "flexible schemas for product attributes. Reason carefully through the long-term architectural "
        "trade-offs of each database and evaluate the consistency guarantees, the operational complexity "
        "and the risks as we scale.",
    ),
    Task(
        "write_schema",
        "Write the SQL schema for the database you recommend: CREATE TABLE statements for users, products, "
        "orders and order_items, with primary keys, foreign keys and indexes.",
    ),
)


@dataclass(frozen=True, slots=True)
class TaskRun:
    """One task's tool loop: its name and the agent run (every turn, who served it, the answer)."""

    name: str
    run: AgentRun

    @property
    def model(self) -> str | None:
        """The model of the task's first request: how the router classified the task itself."""
        return self.run.turns[0].model if self.run.turns else None


def research(
    base_url: str,
    *,
    affinity_id: str | None,
    timeout: float = 60.0,
    on_task: Callable[[TaskRun], None] | None = None,
    on_turn: Callable[[Turn], None] | None = None,
) -> list[TaskRun]:
    """Run the tasks in order through the chat completions API at `base_url`; stop after a failed one.

    `affinity_id`, when set, goes with every request of every task (X-Model-Affinity). `on_turn` sees
    every call as it completes, `on_task` every task; what they raise ends the research.
    """
    done: list[TaskRun] = []
    findings = ""
    for task in TASKS:
        system_prompt = SYSTEM_PROMPT + (f"\n\nWhat the earlier tasks found:{findings}" if findings else "")
        run = run_agent(
            base_url,
            affinity_id=affinity_id,
            prompt=task.prompt,
            system_prompt=system_prompt,
            timeout=timeout,
            on_turn=on_turn,
        )
        done.append(TaskRun(task.name, run))
        if on_task is not None:
            on_task(done[-1])
        if not run.completed:
            break
        findings += f"\n\n### {task.name}\n{run.answer}"
    return done


def calls(tasks: Sequence[TaskRun]) -> list[str]:
    """The model of every call of every task, in order."""
    return [model for t in tasks for model in t.run.models]


def task_row(number: int, task: TaskRun) -> Row:
    """`task 1 [model of its first call] name: N calls`, with the split when its calls had several models."""
    models = task.run.models
    what = f"{task.name}: {len(models)} call{'s' if len(models) != 1 else ''}"
    if len(set(models)) > 1:
        what += " (" + ", ".join(f"{models.count(m)} on {m}" for m in dict.fromkeys(models)) + ")"
    return Row("task", number, task.model or "-", what)


def format_research(tasks: Sequence[TaskRun], title: str, *, affinity: bool, error: str | None = None) -> str:
    """One research run as the demo prints it: a line per task, then the ✓/✗ line over every call.

    `error` says why the research stopped early when no task's own error does.
    """
    rows = [task_row(n, t) for n, t in enumerate(tasks, 1) if t.run.turns]
    summary = model_summary(calls(tasks), affinity=affinity, count=len(rows), unit="task")
    failed = next((f"{t.name}: {t.run.error}" for t in tasks if t.run.error is not None), None)
    return format_block(title, rows, summary, failed or error)


def contrast_line(without: Sequence[TaskRun], pinned: Sequence[TaskRun]) -> str:
    """The closing comparison of the two runs."""
    first_models = list(dict.fromkeys(t.model for t in without if t.model))
    a, b = calls(without), calls(pinned)
    return (
        f"without affinity: {len(first_models)} model(s) across {len(without)} tasks, "
        f"{count_switches(a)} switch(es) in {len(a)} calls; "
        f"with affinity: {len(set(b))} model(s) in {len(b)} calls"
    )


def trace_json(tasks: Sequence[TaskRun]) -> list[dict[str, Any]]:
    """The research as JSON: per task its name, first model, every turn and the answer (or the error)."""
    return [
        {
            "task": t.name,
            "model": t.model,
            "affinity_id": t.run.affinity_id,
            "turns": [dataclasses.asdict(turn) for turn in t.run.turns],
            "answer": t.run.answer,
            "error": t.run.error,
        }
        for t in tasks
    ]


def trace_from_json(trace: Sequence[Mapping[str, Any]]) -> list[TaskRun]:
    """Read back what `trace_json` wrote (a KeyError or TypeError when it is not that)."""
    tasks = []
    for item in trace:
        turns = tuple(Turn(**{**turn, "tool_calls": tuple(turn["tool_calls"])}) for turn in item["turns"])
        run = AgentRun(item["affinity_id"], turns, item["answer"], item["error"])
        tasks.append(TaskRun(str(item["task"]), run))
    return tasks
