"""Append the long cases (20-50 KB agent transcripts) to the evaluation sets, once, before the freeze.

The bulk of each long case (logs, a source file, an order history, a transcript) is generated here from a
fixed seed, because typing 30 KB of log lines by hand adds nothing; the asks around it were written by hand,
without looking at the router, like every other case. Run once: it refuses to add a case id that exists.
"""

# The hand-written asks stay one per line, as written, so the long lines are wanted here.
# ruff: noqa: E501

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import yaml

EVAL_DIR = Path(__file__).resolve().parents[2] / "brightstaff" / "routing" / "data" / "eval"


def _service_log(rng: random.Random, lines: int) -> str:
    paths = ["/v1/orders", "/v1/orders/{id}", "/v1/cart", "/v1/users/me", "/healthz", "/v1/payments"]
    out = []
    for i in range(lines):
        ms = rng.randint(3, 420)
        status = rng.choices([200, 201, 204, 400, 404, 499, 502], [70, 8, 5, 5, 6, 2, 1])[0]
        path = rng.choice(paths).replace("{id}", str(rng.randint(1000, 99999)))
        out.append(
            f"2024-06-11T03:{(i // 60) % 60:02d}:{i % 60:02d}.{rng.randint(0, 999):03d}Z INFO  api "
            f"req_id={rng.getrandbits(48):012x} method={rng.choice(['GET', 'POST', 'PUT'])} path={path} "
            f"status={status} duration_ms={ms} upstream=orders-{rng.randint(0, 5)}"
        )
        if rng.random() < 0.03:
            out.append(
                f"2024-06-11T03:{(i // 60) % 60:02d}:{i % 60:02d}.{rng.randint(0, 999):03d}Z WARN  pool "
                f"connection pool saturated (in_use=50/50, waiters={rng.randint(1, 30)})"
            )
    return "\n".join(out)


def _python_module(rng: random.Random, functions: int) -> str:
    parts = ['"""Report exporters for the billing service."""', "", "import csv", "import io", "import json", ""]
    fields = ["invoice_id", "customer_id", "amount_cents", "currency", "issued_at", "status", "region"]
    for i in range(functions):
        chosen = rng.sample(fields, 4)
        name = f"export_{rng.choice(['monthly', 'weekly', 'daily', 'regional', 'overdue'])}_{i}"
        parts += [
            f"def {name}(rows, *, delimiter=','):",
            f'    """Write {", ".join(chosen)} of each row as CSV text."""',
            "    buf = io.StringIO()",
            f"    writer = csv.DictWriter(buf, fieldnames={chosen!r}, delimiter=delimiter)",
            "    writer.writeheader()",
            "    for row in rows:",
            f"        if row.get('status') == {rng.choice(['paid', 'void', 'open'])!r}:",
            "            continue",
            f"        writer.writerow({{k: row.get(k, '') for k in {chosen!r}}})",
            "    return buf.getvalue()",
            "",
        ]
    return "\n".join(parts)


def _pytest_output(rng: random.Random, tests: int) -> str:
    lines = [
        "============================= test session starts ==============================",
        "platform linux -- Python 3.12.3, pytest-8.2.1, pluggy-1.5.0",
        f"collected {tests} items",
        "",
    ]
    modules = ["test_cart", "test_checkout", "test_inventory", "test_pricing", "test_search", "test_users"]
    for i in range(tests):
        lines.append(f"tests/{rng.choice(modules)}.py::test_case_{i:04d} PASSED{'':>20}[{100 * i // tests:3d}%]")
    lines.append(f"tests/test_pricing.py::test_bulk_discount_rounding FAILED{'':>10}[100%]")
    lines += [
        "",
        "=================================== FAILURES ===================================",
        "________________________ test_bulk_discount_rounding _________________________",
        "    def test_bulk_discount_rounding():",
        "        cart = Cart([Item('pen', 199, qty=12)])",
        ">       assert cart.total_cents() == 2149",
        "E       assert 2150 == 2149",
        "E        +  where 2150 = <Cart 1 item>.total_cents()",
        "tests/test_pricing.py:88: AssertionError",
        f"========================= 1 failed, {tests} passed in 41.27s =========================",
    ]
    return "\n".join(lines)


def _order_history(rng: random.Random, orders: int) -> str:
    items = ["desk lamp", "usb-c cable", "office chair", "monitor arm", "notebook set", "standing mat", "webcam"]
    history = []
    for i in range(orders):
        history.append(
            {
                "order_id": f"A-{40211 + i}",
                "placed_at": f"2024-0{1 + i % 6}-{1 + i % 27:02d}",
                "status": rng.choice(["delivered", "delivered", "delivered", "returned", "in_transit"]),
                "items": [
                    {
                        "sku": f"SKU-{rng.randint(1000, 9999)}",
                        "name": rng.choice(items),
                        "qty": rng.randint(1, 3),
                        "price": round(rng.uniform(5, 250), 2),
                    }
                    for _ in range(rng.randint(1, 4))
                ],
                "shipping": {"carrier": rng.choice(["DHL", "UPS", "GLS"]), "tracking": f"{rng.getrandbits(40):010x}"},
            }
        )
    return json.dumps({"customer_id": 88123, "orders": history}, indent=1)


def _meeting_transcript(rng: random.Random, turns: int) -> str:
    people = ["Priya", "Tom", "Ana", "Kenji", "Marcus"]
    topics = [
        "the move to the new office on Harbour Street is still planned for the first week of September",
        "the landlord wants the deposit transferred before the keys are handed over",
        "IT needs two days without staff on site to install the network and the badge readers",
        "the furniture vendor can deliver only on a Tuesday or a Thursday",
        "parking will be limited to twenty spaces, so we should encourage people to take the tram",
        "the kitchen will not be ready until mid-September, so we need a catering plan for two weeks",
        "we still do not know whether the archive room needs fire-rated doors",
        "the budget is about eight percent over because of the extra meeting rooms",
    ]
    reactions = [
        "I agree",
        "I'm not sure that works",
        "Can we confirm that by Friday",
        "Let's take that offline",
        "That is what I heard as well",
        "We should write that down as a risk",
    ]
    out = []
    for i in range(turns):
        minute = i // 3
        out.append(
            f"[{minute // 60:02d}:{minute % 60:02d}] {rng.choice(people)}: {rng.choice(reactions)}. "
            f"Just to recap, {rng.choice(topics)}, and {rng.choice(topics)}."
        )
    return "\n".join(out)


def _query_rows(rng: random.Random, rows: int) -> str:
    return json.dumps(
        [
            {
                "order_id": 700000 + i,
                "delivery_hours": round(rng.lognormvariate(3.3, 0.5), 1),
                "carrier": rng.choice(["DHL", "UPS", "GLS", "DPD"]),
                "region": rng.choice(["north", "south", "east", "west"]),
            }
            for i in range(rows)
        ]
    )


def _tutoring_session(rng: random.Random, rounds: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a friendly math tutor for a first-year university calculus course."}
    ]
    for i in range(rounds):
        a, b = rng.randint(2, 9), rng.randint(2, 9)
        messages.append(
            {"role": "user", "content": f"next one: differentiate f(x) = {a}x^{b} + sin({a}x). exercise {i + 1}"}
        )
        messages.append(
            {
                "role": "assistant",
                "content": (
                    f"Use the power rule on the first term: d/dx {a}x^{b} = {a * b}x^{b - 1}. For the second term use the "
                    f"chain rule: the derivative of sin(u) is cos(u)·u', and u = {a}x so u' = {a}. Together: "
                    f"f'(x) = {a * b}x^{b - 1} + {a}cos({a}x). Check: the exponent drops by one and the inner "
                    "derivative multiplies the outer one. Want to try the next exercise on your own first?"
                ),
            }
        )
    return messages


def _cases() -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(20240611)
    run = {"type": "function"}
    return {
        "seed": [
            {
                "id": "seed-066",
                "label": "code_generation",
                "lang": "en",
                "kind": "long",
                "messages": [
                    {
                        "role": "system",
                        "content": "You are a coding agent in the billing repository. Tools - read_file, write_file, run.",
                    },
                    {"role": "user", "content": "Look at reports/exporters.py first."},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_l1",
                                **run,
                                "function": {
                                    "name": "read_file",
                                    "arguments": json.dumps({"path": "reports/exporters.py"}),
                                },
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "call_l1", "content": _python_module(rng, 95)},
                    {
                        "role": "user",
                        "content": "Now add a new exporter, export_to_json_lines(rows), following the same conventions as the others, plus a small CLI entry point that reads rows from a JSON file.",
                    },
                ],
            },
            {
                "id": "seed-067",
                "label": "default",
                "lang": "en",
                "kind": "long",
                "messages": [
                    {"role": "system", "content": "You are an operations assistant with a shell tool `sh`."},
                    {"role": "user", "content": "Grab the last hour of API logs."},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_l2",
                                **run,
                                "function": {
                                    "name": "sh",
                                    "arguments": json.dumps({"cmd": "journalctl -u api --since -1h --no-pager"}),
                                },
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "call_l2", "content": _service_log(rng, 190)},
                    {
                        "role": "user",
                        "content": "thanks, that's enough for today. what's the date on Monday next week?",
                    },
                ],
            },
        ],
        "software_agent": [
            {
                "id": "sw-073",
                "label": "debugging",
                "lang": "en",
                "kind": "long",
                "messages": [
                    {
                        "role": "system",
                        "content": "You are a coding agent. Tools - run(cmd), read_file(path), write_file(path, content).",
                    },
                    {"role": "user", "content": "Run the full test suite."},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_l3",
                                **run,
                                "function": {
                                    "name": "run",
                                    "arguments": json.dumps({"cmd": "pytest -p no:cacheprovider tests/"}),
                                },
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "call_l3", "content": _pytest_output(rng, 420)},
                    {
                        "role": "user",
                        "content": "one failure, 12 pens at 1.99 with the bulk discount. why are we off by a cent?",
                    },
                ],
            },
            {
                "id": "sw-074",
                "label": "devops",
                "lang": "de",
                "kind": "long",
                "messages": [
                    {"role": "system", "content": "Du bist ein Infrastruktur-Agent. Werkzeuge - sh(cmd)."},
                    {"role": "user", "content": "Zeig mir die Logs des API-Pods der letzten Stunde."},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_l4",
                                **run,
                                "function": {
                                    "name": "sh",
                                    "arguments": json.dumps({"cmd": "kubectl logs deploy/api -n prod --since=1h"}),
                                },
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "call_l4", "content": _service_log(rng, 170)},
                    {
                        "role": "user",
                        "content": "Der Verbindungspool läuft ständig voll. Stell das Deployment so um, dass wir vier Replikas mit je eigenem Pool haben, und trag die Ressourcenlimits in die Manifeste ein.",
                    },
                ],
            },
        ],
        "business_desk": [
            {
                "id": "biz-083",
                "label": "complaints",
                "lang": "en",
                "kind": "long",
                "messages": [
                    {
                        "role": "system",
                        "content": "You are the support assistant of an office-supplies shop. Tools - get_orders(customer_id).",
                    },
                    {"role": "user", "content": "Hi, I'm customer 88123."},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_l5",
                                **run,
                                "function": {"name": "get_orders", "arguments": json.dumps({"customer_id": 88123})},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "call_l5", "content": _order_history(rng, 80)},
                    {
                        "role": "user",
                        "content": "The desk lamp in my latest order flickers and died after two days. I want my money back, not another lamp.",
                    },
                ],
            },
        ],
        "content_studio": [
            {
                "id": "cs-065",
                "label": "summarization",
                "lang": "en",
                "kind": "long",
                "messages": [
                    {"role": "system", "content": "You are a writing assistant. Tools - get_transcript(meeting_id)."},
                    {"role": "user", "content": "Pull the transcript of yesterday's facilities meeting."},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_l6",
                                **run,
                                "function": {
                                    "name": "get_transcript",
                                    "arguments": json.dumps({"meeting_id": "fac-0611"}),
                                },
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "call_l6", "content": _meeting_transcript(rng, 170)},
                    {
                        "role": "user",
                        "content": "I wasn't there. What was decided and what's still open? Bullet points please.",
                    },
                ],
            },
        ],
        "data_analytics": [
            {
                "id": "da-062",
                "label": "visualization",
                "lang": "es",
                "kind": "long",
                "messages": [
                    {"role": "system", "content": "Eres un asistente de datos. Herramientas - run_sql(sql)."},
                    {"role": "user", "content": "Sácame los tiempos de entrega de los pedidos de junio."},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_l7",
                                **run,
                                "function": {
                                    "name": "run_sql",
                                    "arguments": json.dumps(
                                        {
                                            "sql": "SELECT order_id, delivery_hours, carrier, region FROM deliveries WHERE shipped_at >= '2024-06-01' AND shipped_at < '2024-07-01'"
                                        }
                                    ),
                                },
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "call_l7", "content": _query_rows(rng, 330)},
                    {
                        "role": "user",
                        "content": "Genial. Ahora hazme un gráfico con un histograma por transportista, todos en la misma escala, para ponerlo en la presentación.",
                    },
                ],
            },
        ],
        "tutoring": [
            {
                "id": "tu-064",
                "label": "study_planning",
                "lang": "en",
                "kind": "long",
                "messages": [
                    *_tutoring_session(rng, 46),
                    {
                        "role": "user",
                        "content": "ok I think I get derivatives now. the final is in 12 days and it also covers integrals and series, which I haven't touched. how should I spread my study time over those 12 days?",
                    },
                ],
            },
        ],
    }


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def main() -> int:
    for set_name, cases in _cases().items():
        path = EVAL_DIR / f"{set_name}.yaml"
        text = path.read_text(encoding="utf-8")
        for case in cases:
            if f"- id: {case['id']}\n" in text:
                print(f"{path.name}: {case['id']} exists, skipped", file=sys.stderr)
                continue
            dumped = yaml.dump([case], Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100000)
            text = (
                text.rstrip("\n")
                + "\n"
                + "".join("      " + line if line.strip() else line for line in dumped.splitlines(keepends=True))
            )
            size = len(json.dumps(case["messages"], ensure_ascii=False).encode())
            print(f"{path.name}: added {case['id']} ({size / 1024:.1f} KB)")
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
