"""X-Model-Affinity through real Envoy on every client API: Messages and Responses pin as chat completions do,
one id is one pin whichever API a turn uses, and concurrent first requests run the router once."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from client_apis import ANALYSIS, APIS, CLAUDE, CODE, SMALL, Api, anthropic_client, ask, x_headers
from e2e_stack import Stack

pytestmark = pytest.mark.e2e

ROUTER_CALLS = "brightstaff_router_calls_total"


@pytest.mark.parametrize("api", ["messages", "responses"])
@pytest.mark.parametrize(("first", "model"), [(CODE, CLAUDE), (ANALYSIS, "gpt-4o")], ids=["claude", "gpt-4o"])
def test_the_first_request_is_routed_and_pinned_later_ones_keep_the_model(
    stack: Stack, api: Api, first: str, model: str
) -> None:
    session = f"{api}-{uuid.uuid4()}"
    before = stack.metric(ROUTER_CALLS)
    turns = [ask(api, stack, text, session) for text in (first, SMALL, CODE, ANALYSIS)]
    assert [t.decision for t in turns] == [(model, "new")] + [(model, "pinned")] * 3
    assert [t.model for t in turns] == [model] * 4  # the body says so too, translated or not
    assert {t.headers["x-brightstaff-affinity-source"] for t in turns} == {"header"}
    # A pinned turn names the route that chose the pin (`pinned` only when the pin holds the default model).
    assert {t.headers["x-brightstaff-route"] for t in turns} == {turns[0].headers["x-brightstaff-route"]}
    assert turns[0].headers["x-brightstaff-route"] in ("code_generation", "complex_reasoning")
    assert stack.metric(ROUTER_CALLS) - before == 1


def test_a_streamed_messages_turn_is_served_from_the_pin(stack: Stack) -> None:
    session = f"stream-{uuid.uuid4()}"
    assert ask("messages", stack, ANALYSIS, session).decision == ("gpt-4o", "new")
    with (
        anthropic_client(stack, session) as claude,
        claude.messages.stream(model=CLAUDE, max_tokens=256, messages=[{"role": "user", "content": CODE}]) as stream,
    ):
        final = stream.get_final_message()
        headers = x_headers(stream.response.headers)
    assert final.model == "gpt-4o"
    assert (headers["x-brightstaff-model"], headers["x-brightstaff-affinity"]) == ("gpt-4o", "pinned")


@pytest.mark.parametrize(("first", "model"), [(CODE, CLAUDE), (ANALYSIS, "gpt-4o")], ids=["claude", "gpt-4o"])
def test_one_id_is_one_pin_whichever_api_a_turn_uses(stack: Stack, first: str, model: str) -> None:
    """A chat turn, then a Messages turn, then a Responses turn (and around again) on one id: one model."""
    session = f"cross-api-{uuid.uuid4()}"
    before = stack.metric(ROUTER_CALLS)
    texts = [first, SMALL, CODE, ANALYSIS, SMALL, CODE]
    turns = [ask(api, stack, text, session) for api, text in zip(APIS * 2, texts, strict=True)]
    assert [t.decision for t in turns] == [(model, "new")] + [(model, "pinned")] * 5
    assert {t.model for t in turns} == {model}
    assert stack.metric(ROUTER_CALLS) - before == 1


@pytest.mark.parametrize("apis", [("messages",), ("responses",), APIS], ids=["messages", "responses", "mixed"])
def test_concurrent_first_requests_get_one_model(stack: Stack, apis: tuple[Api, ...]) -> None:
    """16 first requests with one new id at once, through Envoy: the router runs once, one model for all."""
    session = f"burst-{uuid.uuid4()}"
    before = stack.metric(ROUTER_CALLS)
    prompts = [CODE, ANALYSIS, SMALL, ANALYSIS] * 4
    calls = [(apis[i % len(apis)], text) for i, text in enumerate(prompts)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda call: ask(call[0], stack, call[1], session), calls))
    assert len({a.headers["x-brightstaff-model"] for a in answers}) == 1
    assert len({a.model for a in answers}) == 1
    affinities = [a.headers["x-brightstaff-affinity"] for a in answers]
    assert affinities.count("new") == 1
    assert affinities.count("pinned") == 15
    assert stack.metric(ROUTER_CALLS) - before == 1
