"""The embedded router's behaviour: routing on the current ask, the default model, few-shot examples, tool
steps that inform without hijacking, confidence, odd bodies, bounded reading and determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightstaff.config import Provider, parse_config
from brightstaff.core.conversation import Conversation, from_chat_messages, from_messages_request
from brightstaff.demo.agent import USER_PROMPT
from brightstaff.routing import embedded
from brightstaff.routing.embedded import (
    ASK_CHARS,
    ASK_TOKENS,
    HEAD_SHARE,
    STEP_CHARS,
    EmbeddedRouter,
    ask_cap,
    clip,
    clip_joined,
    current_ask,
    latest_tool_results,
    without_lead_ins,
    without_quoted,
)
from brightstaff.routing.evaluate import load_eval_sets
from brightstaff.routing.sentence_encoder import SentenceEncoder, TokenCap, Vectors, shared_encoder

DEFAULT = "openai/gpt-4o-mini"
REASONING = "openai/gpt-4o"
CODE = "anthropic/claude-sonnet-4-20250514"


def providers(*prefs: tuple[str, str, str], examples: dict[str, list[str]] | None = None) -> tuple[Provider, ...]:
    """A default provider plus one provider per (model, preference name, description)."""
    raw: list[dict[str, Any]] = [{"model": DEFAULT, "default": True}]
    for model, name, description in prefs:
        pref: dict[str, Any] = {"name": name, "description": description}
        if examples and name in examples:
            pref["examples"] = examples[name]
        raw.append({"model": model, "name": f"{model}#{name}", "routing_preferences": [pref]})
    return parse_config({"model_providers": raw}, env={}).providers


SEED = providers(
    (REASONING, "complex_reasoning", "complex reasoning tasks, multi-step analysis, or detailed explanations"),
    (CODE, "code_generation", "generating new code, writing functions, or creating boilerplate"),
)


def chat(*messages: Any) -> Conversation:
    return from_chat_messages(messages)


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: str) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def call(name: str, arguments: str) -> dict[str, Any]:
    fn = {"name": name, "arguments": arguments}
    return {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function", "function": fn}]}


def tool(content: Any) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": "c", "content": content}


@pytest.fixture
def router() -> EmbeddedRouter:
    return EmbeddedRouter(SEED, 0.1)


def route_of(router: EmbeddedRouter, *messages: Any) -> str | None:
    return router.classify(chat(*messages)).route


# ---------------------------------------------------------------- routing the current ask


def test_code_request_goes_to_code_generation(router: EmbeddedRouter) -> None:
    choice = router.classify(chat(user("Write a Python function that parses ISO dates and returns a datetime.")))
    expected = (f"{CODE}#code_generation", "code_generation", "preference")
    assert (choice.provider, choice.route, choice.reason) == expected
    assert 0.0 < choice.score <= 1.0


def test_analysis_request_goes_to_complex_reasoning(router: EmbeddedRouter) -> None:
    ask = "Analyze the trade-offs between microservices and a monolith for our team, step by step."
    assert route_of(router, user(ask)) == "complex_reasoning"


@pytest.mark.parametrize(
    "text", ["hello!", "thanks, that's all", "What's the capital of France?", "Bonjour, ça va ?", "你好"]
)
def test_small_talk_and_simple_facts_go_to_the_default(router: EmbeddedRouter, text: str) -> None:
    choice = router.classify(chat(user(text)))
    assert (choice.provider, choice.route, choice.reason) == (DEFAULT, None, "default")


@pytest.mark.parametrize(
    "text",
    [
        "Escribe una función en JavaScript que elimine los duplicados de un array.",
        "Schreib mir eine Python-Klasse für eine Warteschlange mit Prioritäten.",
        "用 Go 写一个函数，读取 JSON 配置文件并返回结构体。",
        "Pythonで CSV を読み込んで合計を計算する関数を書いてください。",
    ],
)
def test_asks_in_other_languages_meet_english_descriptions(router: EmbeddedRouter, text: str) -> None:
    assert route_of(router, user(text)) == "code_generation"


def test_min_match_score_sends_weak_matches_to_the_default() -> None:
    ask = chat(user("Write a Python function that parses ISO dates."))
    eager = EmbeddedRouter(SEED, 0.0).classify(ask)
    assert eager.route == "code_generation"
    strict = EmbeddedRouter(SEED, 0.99).classify(ask)
    assert (strict.route, strict.reason, strict.score) == (None, "default", eager.score)


@pytest.mark.anyio
async def test_route_is_the_async_face_of_classify(router: EmbeddedRouter) -> None:
    request = chat(user("implement a binary search tree in rust"))
    assert await router.route(request) == router.classify(request)


def test_scores_follow_config_order(router: EmbeddedRouter) -> None:
    scores = router.scores(chat(user("write a function that reverses a string")))
    assert len(scores) == 2
    assert scores[1] > scores[0]  # code_generation is listed second


def test_no_routes_or_no_ask_is_the_default() -> None:
    only_default = parse_config({"model_providers": [{"model": DEFAULT}]}, env={}).providers
    choice = EmbeddedRouter(only_default, 0.1).classify(chat(user("write a python function")))
    assert (choice.provider, choice.route, choice.reason, choice.confidence) == (DEFAULT, None, "default", "high")
    router = EmbeddedRouter(SEED, 0.1)
    for conversation in (chat(), chat({"role": "system", "content": "be brief"}), chat(user(""))):
        choice = router.classify(conversation)
        assert (choice.route, choice.reason, choice.confidence) == (None, "default", "low")


def test_identical_descriptions_tie_to_the_first_listed() -> None:
    same = "generating new code, writing functions, or creating boilerplate"
    ask = chat(user("write a function that adds two numbers"))
    first = providers((REASONING, "alpha", same), (CODE, "beta", same))
    assert EmbeddedRouter(first, 0.0).classify(ask).route == "alpha"
    swapped = providers((CODE, "beta", same), (REASONING, "alpha", same))
    assert EmbeddedRouter(swapped, 0.0).classify(ask).route == "beta"


# ---------------------------------------------------------------- few-shot examples


def test_examples_pull_a_route_its_description_alone_misses() -> None:
    prefs = (
        (REASONING, "travel", "trips, flights and hotels"),
        (CODE, "hr", "questions about employment"),
    )
    ask = chat(user("How many days off do I get after my baby is born?"))
    few = providers(*prefs, examples={"hr": ["Can I take parental leave next spring?", "How much vacation is left?"]})
    assert EmbeddedRouter(few, 0.0).classify(ask).route == "hr"
    described = EmbeddedRouter(providers(*prefs), 0.0).scores(ask)
    shown = EmbeddedRouter(few, 0.0).scores(ask)
    assert shown[1] - shown[0] > described[1] - described[0]


def test_the_nearest_example_counts_beside_the_examples_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    # Spread-out examples average to a vague centroid; an ask close to one of them should still count.
    travel = ["Book me a flight to Lisbon on Friday.", "Which hotel near the station has a pool?", "Do I need a visa?"]
    config = providers(
        (REASONING, "travel", "trips, flights and hotels"),
        (CODE, "hr", "questions about employment"),
        examples={"travel": travel},
    )
    router = EmbeddedRouter(config, 0.0)
    ask = chat(user("Do I need a visa to visit Japan for two weeks?"))
    blended, share = router.scores(ask), embedded.NEAREST_EXAMPLE_SHARE
    monkeypatch.setattr(embedded, "NEAREST_EXAMPLE_SHARE", 0.0)
    centroid = router.scores(ask)
    monkeypatch.setattr(embedded, "NEAREST_EXAMPLE_SHARE", 1.0)
    nearest = router.scores(ask)
    assert nearest[0] > centroid[0]  # the visa example is nearer than the examples' mean
    assert centroid[0] < blended[0] == pytest.approx((1 - share) * centroid[0] + share * nearest[0])
    assert blended[1] == centroid[1] == nearest[1]  # a route without examples scores as before


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("Thanks. Now explain why the cache misses.", "Now explain why the cache misses."),
        ("Great, thanks! Love it. Now write the tests.", "Now write the tests."),
        ("谢谢！帮我写一个单元测试。", "帮我写一个单元测试。"),
        ("Makes sense.\nNext: the deployment config.", "Next: the deployment config."),
        ("I wasn't there. What was decided?", "I wasn't there. What was decided?"),  # three words say something
        ("Docker question. Why is the image so big?", "Docker question. Why is the image so big?"),  # 14 letters
        ("我的程序崩溃了！怎么办？", "我的程序崩溃了！怎么办？"),  # 7 wide characters are a sentence
        ("Python 3.12 broke my build", "Python 3.12 broke my build"),  # no space after the dot: no sentence
        ("Thanks. Bye!", "Thanks. Bye!"),  # nothing would be left to read
        ("ok cool", "ok cool"),
    ],
)
def test_a_lead_in_of_one_or_two_words_is_not_read(text: str, read: str) -> None:
    assert without_lead_ins(text) == read


def test_thanks_then_a_new_ask_is_the_new_ask(router: EmbeddedRouter) -> None:
    ask = "Thanks. Now explain step by step why the greedy choice is optimal here."
    turns = (user("write a function that merges overlapping intervals"), assistant("def merge(intervals): ..."))
    assert route_of(router, *turns, user(ask)) == "complex_reasoning"


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ('Translate into German: "The meeting moved to Thursday afternoon."', 'Translate into German: "\u2026"'),
        ("Reply politely to «Nous avons bien reçu votre commande, merci.» please", "Reply politely to «\u2026» please"),
        (
            "Correct this: \u201cthere going to the station tomorow\u201d"
            " and \u201ehe dont knows the way to the office\u201c",
            "Correct this: \u201c\u2026\u201d and \u201e\u2026\u201c",
        ),
        (
            'Shorten this for a tweet: "a first line\nand a second line of the quote"',
            'Shorten this for a tweet: "\u2026"',
        ),
        (
            "翻译成英文：「我们明天下午三点在会议室见面讨论预算。」",
            "翻译成英文：「\u2026」",
        ),  # 5 wide characters say enough
        (
            'Add a "Sign in with Google" button to the login page',
            'Add a "Sign in with Google" button to the login page',
        ),
        ('Fix: "the whole ask is one long quotation here"', 'Fix: "the whole ask is one long quotation here"'),
        ('"A quotation with no instruction around it at all"', '"A quotation with no instruction around it at all"'),
        ('He said "yes" and "no" today', 'He said "yes" and "no" today'),
        ('Reply: "a short one" then "a much longer quotation follows here"', 'Reply: "a short one" then "\u2026"'),
        ("Summarise: 「短い」", "Summarise: 「短い」"),  # 2 wide characters: 6 letters, a phrase
    ],
)
def test_a_quoted_passage_is_read_as_an_ellipsis_when_an_instruction_surrounds_it(text: str, read: str) -> None:
    assert without_quoted(text) == read


def test_a_word_inside_a_quote_does_not_route_the_ask() -> None:
    config = providers(
        (REASONING, "translation", "translating text from one language into another"),
        (CODE, "proofreading", "correcting spelling and grammar mistakes in a text"),
    )
    router = EmbeddedRouter(config, 0.0)
    quote = '"Our team will translate the brochure into five languages and into Spanish next month."'
    ask = chat(user(f"Correct the spelling and grammar of this sentence: {quote}"))
    assert router.classify(ask).route == "proofreading"
    assert router.scores(chat(user(quote)))[0] > router.scores(chat(user(quote)))[1]  # the quote alone: translation


# ---------------------------------------------------------------- what is read: the current ask


def test_the_latest_user_turn_is_the_ask(router: EmbeddedRouter) -> None:
    earlier = "Write a Python class for a bank account with deposit and withdraw methods."
    latest = "Compare the long-term risks of index funds and bonds for a retirement plan, step by step."
    conversation = chat(user(earlier), assistant("class Account: ..."), user(latest))
    assert current_ask(conversation) == latest
    assert router.classify(conversation).route == "complex_reasoning"


REMINDER = "<system-reminder>\nUse this context: # CLAUDE.md\nRun make lint before committing.\n</system-reminder>"


def test_harness_reminders_in_a_claude_code_turn_are_not_the_ask() -> None:
    prompt = "Explain step by step why this recursion terminates."
    first = from_messages_request(None, [user([{"type": "text", "text": REMINDER}, {"type": "text", "text": prompt}])])
    assert current_ask(first).strip() == prompt
    result = {"type": "tool_result", "tool_use_id": "t1", "content": "def walk(node): return walk(node.left)"}
    step = {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {}}]}
    loop = from_messages_request(
        None, [user(prompt), step, user([result, {"type": "text", "text": "<system-reminder>todo</system-reminder>"}])]
    )
    assert current_ask(loop) == prompt
    assert latest_tool_results(loop) == "def walk(node): return walk(node.left)"
    codex = chat(user(prompt), user("<environment_context>\n  <cwd>/repo</cwd>\n</environment_context>"))
    assert current_ask(codex) == prompt


def test_closing_small_talk_after_a_coding_exchange_is_default(router: EmbeddedRouter) -> None:
    conversation = chat(
        user("Write a Python function that merges two sorted lists."),
        assistant("def merge(a, b): ..."),
        user("thanks, that works!"),
    )
    assert router.classify(conversation).route is None


def test_code_in_tool_results_does_not_hijack_a_reasoning_ask(router: EmbeddedRouter) -> None:
    code = "def handler(event):\n    return process(event['body'])\n" * 40
    ask = "Before we change anything: reason through the trade-offs of moving this service to queues, step by step."
    conversation = chat(user(ask), call("read_file", '{"path": "app/handler.py"}'), tool(code))
    assert router.classify(conversation).route == "complex_reasoning"


def test_tool_results_after_the_ask_are_read_as_one_step() -> None:
    conversation = chat(user("go"), call("a", "{}"), tool("first"), tool("second"))
    assert latest_tool_results(conversation) == "first\nsecond"
    assert latest_tool_results(chat(user("go"), call("a", "{}"), tool("x"), assistant("done"))) == ""


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="ab\n ", max_size=40), max_size=6), st.integers(min_value=2, max_value=60))
def test_results_are_clipped_as_if_joined_first(parts: list[str], limit: int) -> None:
    """Clipping without joining (long results cost what their clip costs) gives the text joining would."""
    assert clip_joined(parts, limit) == clip("\n".join(parts), limit)


def test_the_encoder_reads_a_clip_whatever_the_size_of_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """Per decision the router does O(clip) work: the encoder sees at most ASK_CHARS of a huge ask and
    STEP_CHARS of huge tool results (the ask leans to both routes here, so the step is read)."""
    router, encoder = EmbeddedRouter(SEED, 0.1), shared_encoder()
    seen: list[str] = []
    embed = encoder.embed

    def recording(texts: Sequence[str], cap: TokenCap | None = None) -> Vectors:
        seen.extend(texts)
        return embed(texts, cap)

    monkeypatch.setattr(encoder, "embed", recording)
    huge = "Explain this code step by step and then rewrite it as a class: " + "x = compute(x)\n" * 20_000
    router.classify(chat(user(huge), call("run", "{}"), tool("result line\n" * 50_000), tool("more " * 50_000)))
    assert [len(text) for text in seen] == [ASK_CHARS, STEP_CHARS]


def test_a_clear_tool_step_chooses_between_two_readings_of_the_ask() -> None:
    """The seed demo's loop: an ask with a research phase and a coding phase; each step's results say which."""
    router = EmbeddedRouter(SEED, 0.1)
    analysis = (
        "The benchmark results conflict: one database is faster on average, the other has a better tail. "
        "Analyze which matters for checkout and reason through the trade-offs."
    )
    listing = "CREATE TABLE orders (id BIGSERIAL PRIMARY KEY, total_cents BIGINT NOT NULL);"
    assert router.classify(chat(user(USER_PROMPT))).route == "code_generation"
    moved = router.classify(chat(user(USER_PROMPT), call("get_db_benchmarks", "{}"), tool(analysis)))
    assert (moved.route, moved.reason) == ("complex_reasoning", "preference")
    kept = router.classify(chat(user(USER_PROMPT), call("get_case_studies", "{}"), tool(listing)))
    assert kept.route == "code_generation"
    # The step only chooses among the ask's readings: a pure coding ask stays with code.
    coding = "Write a Python function that merges two sorted lists."
    assert router.classify(chat(user(coding), call("run", "{}"), tool(analysis))).route == "code_generation"


def test_content_parts_are_read_like_strings(router: EmbeddedRouter) -> None:
    text = "Write a Python function that merges two sorted lists."
    parts = [{"type": "text", "text": text}, {"type": "image_url", "image_url": {"url": "data:,"}}]
    assert router.classify(chat(user(parts))) == router.classify(chat(user(text)))


@pytest.mark.parametrize(
    "message",
    [
        {"role": "user"},
        {"role": "user", "content": None},
        {"role": "user", "content": 42},
        {"role": "user", "content": [{"type": "text"}, "x", None]},
        {"role": "wizard", "content": "write code"},
        {"role": "assistant", "tool_calls": "nope"},
        {"role": "assistant", "tool_calls": [{"function": {"name": 1, "arguments": {}}}]},
        {"role": "tool", "content": {"nested": True}},
        "not a message",
    ],
)
def test_malformed_messages_never_raise(router: EmbeddedRouter, message: Any) -> None:
    choice = router.classify(from_chat_messages([message]))
    assert choice.provider in (DEFAULT, f"{CODE}#code_generation", f"{REASONING}#complex_reasoning")


def test_a_huge_ask_is_clipped_head_and_tail(router: EmbeddedRouter) -> None:
    text = "Summarize the following log. " + "INFO request served in 3 ms\n" * 5_000 + "Then write a Python class."
    clipped = clip(text, ASK_CHARS)
    assert len(clipped) <= ASK_CHARS
    assert clipped.startswith("Summarize") and clipped.endswith("Python class.")
    assert router.classify(chat(user(text))).reason in ("preference", "default")


@given(st.lists(st.integers(min_value=3, max_value=9), max_size=40), st.integers(min_value=3, max_value=30))
def test_a_token_cap_keeps_bos_the_head_the_tail_and_eos(body: list[int], tokens: int) -> None:
    ids = [1, *body, 2]
    kept = TokenCap(tokens, HEAD_SHARE).keep(ids)
    assert len(kept) == min(len(ids), tokens)
    head = int((tokens - 2) * HEAD_SHARE) if len(ids) > tokens else len(body)
    tail = len(kept) - 2 - head
    assert kept[: 1 + head] == ids[: 1 + head]
    assert kept[len(kept) - 1 - tail :] == ids[len(ids) - 1 - tail :]


def test_a_code_ask_is_read_within_the_token_cap(router: EmbeddedRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    """300 characters of code are ~90 tokens: the encoder reads ASK_TOKENS of them, the clip's head and tail,
    tokenized once."""
    encoder = shared_encoder()
    code = "Review this module for bugs:\n" + "def handler(event):\n    return process(event['body'])\n" * 900
    ids = encoder.token_ids(clip(code, ASK_CHARS))
    assert len(ids) > ASK_TOKENS
    tokenized: list[str] = []
    read: list[list[int]] = []
    tokenize, forward = encoder.token_ids, encoder._forward

    def token_ids(text: str, cap: TokenCap | None = None) -> list[int]:
        tokenized.append(text)
        return tokenize(text, cap)

    def reading(kept: list[int]) -> Vectors:
        read.append(kept)
        return forward(kept)

    monkeypatch.setattr(encoder, "token_ids", token_ids)
    monkeypatch.setattr(encoder, "_forward", reading)
    encoder.clear_cache()
    router.classify(chat(user(code)))
    assert tokenized == [clip(code, ASK_CHARS)]
    head = int((ASK_TOKENS - 2) * HEAD_SHARE)
    assert read == [ids[: 1 + head] + ids[len(ids) - (ASK_TOKENS - 1 - head) :]]
    assert len(read[0]) == ASK_TOKENS


def test_an_ask_within_the_token_cap_is_read_whole(router: EmbeddedRouter) -> None:
    ask = "Could you write a function that parses ISO dates and returns a datetime in UTC?"
    encoder = shared_encoder()
    assert encoder.tokens(ask) <= ASK_TOKENS
    assert (encoder.embed([ask], ask_cap()) == encoder.embed([ask])).all()


# ---------------------------------------------------------------- confidence


def test_confidence_follows_the_margin(router: EmbeddedRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    ask = chat(user("Analyze the trade-offs between microservices and a monolith for our team, step by step."))
    assert router.classify(ask).confidence == "high"
    monkeypatch.setattr(embedded, "HIGH_MARGIN", 10.0)
    assert router.classify(ask).confidence == "medium"
    monkeypatch.setattr(embedded, "MEDIUM_MARGIN", 10.0)
    assert router.classify(ask).confidence == "low"


# ---------------------------------------------------------------- the encoder


def test_encoder_rows_are_unit_length_and_independent_of_the_batch() -> None:
    encoder = shared_encoder()
    alone = encoder.embed(["write a parser"])[0]
    together = encoder.embed(["hello", "write a parser", ""])
    assert (together[1] == alone).all()
    assert abs(float((alone * alone).sum()) - 1.0) < 1e-5
    assert not together[2].any()


def test_encoder_rows_from_token_ids_are_the_packages_rows() -> None:
    """The router feeds the model ids (to tokenize a capped text once): the same row `USE.encode` gives."""
    encoder = shared_encoder()
    for text in ("write a parser", "¿Puedes explicarme este error?", "def f(x):\n    return x * 2\n" * 6):
        expected = np.asarray(encoder._model.encode(text), dtype=np.float32)
        assert (encoder._forward(encoder.token_ids(text)) == expected).all()


def test_encoder_cache_is_bounded() -> None:
    encoder = SentenceEncoder(cache_size=2)
    first = encoder.embed(["a", "b", "c"])
    assert len(encoder._cache) == 2 and ("a", None) not in encoder._cache
    assert (encoder.embed(["a"])[0] == first[0]).all()  # recomputed, identical


# ---------------------------------------------------------------- determinism


def test_two_instances_agree_on_every_dev_case() -> None:
    for labelled in load_eval_sets():
        a, b = EmbeddedRouter(labelled.providers, 0.1), EmbeddedRouter(labelled.providers, 0.1)
        for example in labelled.examples:
            if example.split == "dev":
                request = example.request.conversation
                assert a.classify(request) == b.classify(request)


_DUMP = """
import json
from brightstaff.routing.embedded import EmbeddedRouter
from brightstaff.routing.evaluate import load_eval_sets
out = []
for s in load_eval_sets():
    for labelled in (s, s.zero_shot()):
        router = EmbeddedRouter(labelled.providers, 0.1)
        for e in labelled.examples:
            c = router.classify(e.request.conversation)
            out.append([c.provider, c.route, c.reason, repr(c.score), c.confidence])
print(json.dumps(out))
"""


def test_same_answers_across_processes_with_different_hash_seeds() -> None:
    results = []
    for seed in ("1", "2", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", _DUMP], capture_output=True, text=True, env=env, check=True)
        results.append(json.loads(proc.stdout))
    assert results[0] == results[1] == results[2]
    assert len(results[0]) == 2 * 415
