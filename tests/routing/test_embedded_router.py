"""The embedded router's behaviour: routing, fallback, recency, robustness to odd bodies, determinism."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

import pytest

from brightstaff.config import Provider, parse_config
from brightstaff.core.chat import parse_chat
from brightstaff.core.conversation import Conversation, from_chat_messages
from brightstaff.core.decision import RouteChoice
from brightstaff.routing.embedded import MAX_CHARS, MAX_MESSAGES, EmbeddedRouter, segments
from brightstaff.routing.evaluate import LABELLED_PROMPTS, load_labelled
from brightstaff.routing.text import stem, tokens

LABELLED = LABELLED_PROMPTS
DEFAULT = "openai/gpt-4o-mini"
REASONING = "openai/gpt-4o"
CODE = "anthropic/claude-sonnet-4-20250514"


def providers(*prefs: tuple[str, str, str]) -> tuple[Provider, ...]:
    """A default provider plus one provider per (model, preference name, description)."""
    raw: list[dict[str, Any]] = [{"model": DEFAULT, "default": True}]
    raw += [{"model": m, "routing_preferences": [{"name": n, "description": d}]} for m, n, d in prefs]
    return parse_config({"model_providers": raw}, env={}).providers


SEED = providers(
    (REASONING, "complex_reasoning", "complex reasoning tasks, multi-step analysis, or detailed explanations"),
    (CODE, "code_generation", "generating new code, writing functions, or creating boilerplate"),
)


def chat(*messages: Any) -> Conversation:
    return from_chat_messages(messages)


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def call(name: str, arguments: str) -> dict[str, Any]:
    fn = {"name": name, "arguments": arguments}
    return {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function", "function": fn}]}


def tool(content: Any) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": "c", "content": content}


@pytest.fixture
def router() -> EmbeddedRouter:
    return EmbeddedRouter(SEED, 0.2)


def test_code_request_goes_to_code_generation(router: EmbeddedRouter) -> None:
    choice = router.classify(chat(user("Write a Python function that validates an email address with a regex.")))
    assert (choice.provider, choice.route, choice.reason) == (CODE, "code_generation", "preference")
    assert 0.2 <= choice.score < 1.0


def test_analysis_request_goes_to_complex_reasoning(router: EmbeddedRouter) -> None:
    choice = router.classify(chat(user("Compare these two pricing strategies and analyze the tradeoffs.")))
    assert (choice.provider, choice.route, choice.reason) == (REASONING, "complex_reasoning", "preference")


@pytest.mark.parametrize("text", ["hi there!", "What is the capital of France?", "thanks!", "Tell me a joke."])
def test_small_talk_and_simple_facts_fall_back_to_default(router: EmbeddedRouter, text: str) -> None:
    choice = router.classify(chat(user(text)))
    assert choice == RouteChoice(DEFAULT, None, "default", choice.score)
    assert choice.score < 0.2


def test_min_score_decides_between_a_weak_match_and_the_default() -> None:
    request = chat(user("Can you recommend a framework?"))  # one weak code cue
    weak = EmbeddedRouter(SEED, 0.0).classify(request)
    assert weak.reason == "preference"
    assert 0.0 < weak.score < 0.99
    strict = EmbeddedRouter(SEED, 0.99).classify(request)
    assert (strict.provider, strict.route, strict.reason) == (DEFAULT, None, "default")
    assert strict.score == pytest.approx(weak.score)


def test_no_evidence_is_default_even_with_min_score_zero() -> None:
    choice = EmbeddedRouter(SEED, 0.0).classify(chat(user("hello")))
    assert (choice.provider, choice.route, choice.reason, choice.score) == (DEFAULT, None, "default", 0.0)


def test_route_is_the_async_face_of_classify(router: EmbeddedRouter) -> None:
    request = chat(user("Implement a binary search tree class in Java."))
    assert asyncio.run(router.route(request)) == router.classify(request)
    assert router.name == "embedded"


def test_scores_follow_config_order_and_stay_in_range(router: EmbeddedRouter) -> None:
    scores = router.scores(chat(user("Explain step by step why this recursive function overflows the stack.")))
    assert len(scores) == 2
    assert all(0.0 <= s < 1.0 for s in scores)
    assert scores[0] > 0 and scores[1] > 0  # both preferences see evidence here


# ---------------------------------------------------------------- ties and ordering


def test_ties_go_to_the_preference_listed_first() -> None:
    same = "generating new code and writing functions"
    first = providers(("openai/gpt-4o", "alpha", same), (CODE, "beta", same))
    request = chat(user("write a rust function that parses a config file"))
    choice = EmbeddedRouter(first, 0.2).classify(request)
    assert (choice.route, choice.provider) == ("alpha", "openai/gpt-4o")
    swapped = providers((CODE, "beta", same), ("openai/gpt-4o", "alpha", same))
    assert EmbeddedRouter(swapped, 0.2).classify(request).route == "beta"


def test_no_routing_preferences_means_always_default() -> None:
    only_default = parse_config({"model_providers": [{"model": DEFAULT, "default": True}]}, env={}).providers
    choice = EmbeddedRouter(only_default, 0.2).classify(chat(user("write a python function")))
    assert choice == RouteChoice(DEFAULT, None, "default", 0.0)


def test_descriptions_outside_the_lexicon_match_by_their_own_words() -> None:
    prefs = providers(
        ("openai/gpt-4o", "contract_review", "reviewing legal contracts, clauses and indemnities"),
        (CODE, "shipping", "questions about parcels, couriers and delivery windows"),
    )
    r = EmbeddedRouter(prefs, 0.2)
    assert r.classify(chat(user("Please review this indemnity clause in our contract."))).route == "contract_review"
    assert r.classify(chat(user("Which courier delivers my parcel?"))).route == "shipping"
    assert r.classify(chat(user("good morning"))).route is None


# ---------------------------------------------------------------- current intent


def test_latest_user_turn_outweighs_older_turns(router: EmbeddedRouter) -> None:
    older_code = [
        user("Write a Python function that deduplicates a list."),
        {"role": "assistant", "content": "```python\ndef dedupe(xs):\n    return list(dict.fromkeys(xs))\n```"},
    ]
    to_reasoning = chat(*older_code, user("Now compare this with sorting first: analyze the tradeoffs in detail."))
    assert router.classify(to_reasoning).route == "complex_reasoning"
    older_reasoning = [
        user("Analyze the pros and cons of event sourcing for our billing system."),
        {"role": "assistant", "content": "Event sourcing trades simpler auditing for harder reads and migrations."},
    ]
    to_code = chat(*older_reasoning, user("OK, write the Python class for the event store with append and replay."))
    assert router.classify(to_code).route == "code_generation"


def test_closing_small_talk_after_a_coding_exchange_is_default(router: EmbeddedRouter) -> None:
    request = chat(
        user("Write a TypeScript function that debounces calls."),
        {"role": "assistant", "content": "```ts\nexport function debounce(fn: () => void, ms: number) {}\n```"},
        user("Thanks, that works!"),
    )
    assert router.classify(request).reason == "default"


def test_latest_tool_step_can_change_the_route(router: EmbeddedRouter) -> None:
    question = user("Should we use PostgreSQL or MongoDB for our store? Compare them and recommend one.")
    benchmarks = [call("get_db_benchmarks", '{"workload": "mixed"}'), tool('{"postgresql": 8200, "mongodb": 9100}')]
    assert router.classify(chat(question, *benchmarks)).route == "complex_reasoning"
    schema = (
        "```sql\nCREATE TABLE orders (\n  id BIGSERIAL PRIMARY KEY,\n  total NUMERIC(10,2) NOT NULL\n);\n"
        "CREATE INDEX orders_total ON orders(total);\n```\n```js\ndb.orders.createIndex({ total: 1 });\n```"
    )
    with_schema = chat(question, *benchmarks, call("check_feature_support", '{"feature": "schema"}'), tool(schema))
    assert router.classify(with_schema).route == "code_generation"


def test_tool_call_names_and_arguments_are_read(router: EmbeddedRouter) -> None:
    # Only the tool call carries the cue: no user text at all.
    request = chat(call("run_python_script", '{"code": "def main():\\n    print(parse_args())", "lang": "python"}'))
    assert router.classify(request).route == "code_generation"
    text = " ".join(s.text for s in segments(request))
    assert "run_python_script" in text and "parse_args" in text


def test_content_parts_are_read_like_strings(router: EmbeddedRouter) -> None:
    parts = [
        {"type": "text", "text": "Write a Go function"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "that parses this JSON schema."},
    ]
    as_parts = router.classify(chat(user(parts)))
    as_string = router.classify(chat(user("Write a Go function\nthat parses this JSON schema.")))
    assert as_parts == as_string
    assert as_parts.route == "code_generation"


# ---------------------------------------------------------------- odd and hostile bodies


def test_empty_conversation_is_default(router: EmbeddedRouter) -> None:
    assert router.classify(chat()) == RouteChoice(DEFAULT, None, "default", 0.0)
    no_messages = parse_chat(b'{"model":"m"}').conversation
    assert router.classify(no_messages) == RouteChoice(DEFAULT, None, "default", 0.0)
    assert router.classify(chat(user(""))) == RouteChoice(DEFAULT, None, "default", 0.0)


@pytest.mark.parametrize(
    "message",
    [
        "just a string",
        42,
        None,
        {"role": "user"},
        {"role": "user", "content": None},
        {"role": "user", "content": 12345},
        {"role": "user", "content": {"text": "not a list"}},
        {"role": "user", "content": [{"type": "image_url"}, "loose string", 7, {"text": 3}]},
        {"role": 5, "content": "role is not a string"},
        {"role": "assistant", "tool_calls": "not a list"},
        {"role": "assistant", "tool_calls": [None, {"function": "nope"}, {"function": {"arguments": {"a": 1}}}]},
        {"role": "assistant", "function_call": {"name": None, "arguments": 3}},
        {"role": "tool", "content": [{"type": "text", "text": None}]},
    ],
)
def test_malformed_messages_never_raise(router: EmbeddedRouter, message: Any) -> None:
    choice = router.classify(chat(message, user("Write a Python function that reverses a string.")))
    assert choice.route == "code_generation"
    alone = router.classify(chat(message))
    assert alone.provider in {DEFAULT, REASONING, CODE}


def test_very_long_conversations_are_read_within_the_budget(router: EmbeddedRouter) -> None:
    filler = "The shipment left the warehouse on time and arrived two days later. " * 800  # ~55 KB
    history = [m for i in range(1000) for m in (user(f"status {i}?"), {"role": "assistant", "content": filler})]
    request = chat(*history, user("Write a Python function that parses these status lines."))
    read = list(segments(request))
    assert len(read) <= MAX_MESSAGES + 1
    assert sum(len(s.text) for s in read) <= MAX_CHARS + MAX_MESSAGES  # + the joins between parts
    assert read[0].text.startswith("Write a Python function")
    assert router.classify(request).route == "code_generation"


def test_the_request_survives_a_long_tool_loop(router: EmbeddedRouter) -> None:
    steps = [m for i in range(3 * MAX_MESSAGES) for m in (call("poll", f'{{"n": {i}}}'), tool("still waiting"))]
    request = chat(user("Write a bash script that tails the log and alerts on errors."), *steps)
    read = list(segments(request))
    assert read[0].text.startswith("Write a bash script")
    assert router.classify(request).route == "code_generation"


def test_huge_single_message_is_clipped_head_and_tail(router: EmbeddedRouter) -> None:
    text = "Summarize nothing here. " + "lorem ipsum dolor " * 20_000 + " Now write a Python class for it."
    (first, *rest) = list(segments(chat(user(text))))
    assert not rest
    assert len(first.text) < 5_000
    assert first.text.startswith("Summarize") and first.text.endswith("Python class for it.")
    assert router.classify(chat(user(text))).route == "code_generation"


# ---------------------------------------------------------------- determinism


def _labelled_requests() -> list[tuple[tuple[Provider, ...], Conversation]]:
    return [(s.providers, e.request.conversation) for s in load_labelled(LABELLED) for e in s.examples]


def test_two_instances_agree_on_every_labelled_example() -> None:
    cases = _labelled_requests()
    for provs, request in cases:
        a, b = EmbeddedRouter(provs, 0.2), EmbeddedRouter(provs, 0.2)
        assert a.classify(request) == b.classify(request)
        assert a.classify(request) == a.classify(request)  # a warm cache answers the same


_DUMP = """
import json, sys
from pathlib import Path
from brightstaff.routing.embedded import EmbeddedRouter
from brightstaff.routing.evaluate import load_labelled
out = []
for s in load_labelled(Path(sys.argv[1])):
    router = EmbeddedRouter(s.providers, 0.2)
    for e in s.examples:
        c = router.classify(e.request.conversation)
        out.append([c.provider, c.route, c.reason, repr(c.score)])
print(json.dumps(out))
"""


def test_same_answers_across_processes_with_different_hash_seeds() -> None:
    results = []
    for seed in ("1", "2", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run(
            [sys.executable, "-c", _DUMP, str(LABELLED)], capture_output=True, text=True, env=env, check=True
        )
        results.append(json.loads(proc.stdout))
    assert results[0] == results[1] == results[2]
    assert len(results[0]) >= 150


# ---------------------------------------------------------------- text helpers


def test_stemmer_merges_inflections_and_keeps_short_words() -> None:
    assert stem("writing") == stem("write") == stem("writes")
    assert stem("generated") == stem("generate") == stem("generation")
    assert stem("queries") == stem("query")
    assert stem("strings") == stem("string") == "string"
    assert stem("mapping") == "map"
    assert stem("sql") == "sql"


def test_tokens_fold_phrases_and_split_identifiers() -> None:
    assert tokens("What's the zip code? Step-by-step, C++ vs C#; get_db_benchmarks") == [
        "whatis",
        "the",
        "zipcode",
        "stepbystep",
        "cplusplus",
        "vs",
        "csharp",
        "get",
        "db",
        "benchmarks",
    ]
