"""The request handler with in-memory collaborators: affinity outcomes, race-safe first pins, fallbacks."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from seed_data import SEED_ENV, seed_config_data

from brightstaff.config import Config, parse_config
from brightstaff.config.model import ServerSettings
from brightstaff.core.conversation import Conversation
from brightstaff.core.decision import Pin, RouteChoice
from brightstaff.core.outcome import Forward, Outcome, Reply
from brightstaff.core.request import RequestFacts
from brightstaff.logs import TextFormatter
from brightstaff.metrics import Metrics
from brightstaff.pins.memory import MemoryPinStore
from brightstaff.server.handler import RequestHandler


class ScriptedRouter:
    """Routes by a keyword in the last message; counts calls; can be slowed down or made to fail."""

    name = "scripted"

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.calls = 0
        self.delay = delay
        self.fail = fail

    async def route(self, conversation: Conversation) -> RouteChoice:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("router exploded")
        text = conversation.turns[-1].text if conversation.turns else ""
        if "code" in text:
            return RouteChoice("anthropic/claude-sonnet-4-20250514", "code_generation", "preference", 0.9)
        if "analy" in text:
            return RouteChoice("openai/gpt-4o", "complex_reasoning", "preference", 0.8)
        return RouteChoice("openai/gpt-4o-mini", None, "default", 0.0)


def make_handler(config: Config | None = None, router: Any = None) -> tuple[RequestHandler, Any, MemoryPinStore]:
    config = config or parse_config(seed_config_data(), SEED_ENV)
    router = router or ScriptedRouter()
    store = MemoryPinStore(max_entries=100, ttl_seconds=600)
    return RequestHandler(config, store, router, Metrics()), router, store


def body(text: str, model: str = "gpt-4o-mini", **extra: Any) -> bytes:
    return orjson.dumps({"model": model, "messages": [{"role": "user", "content": text}], **extra})


def facts(affinity: str | None = None, path: str = "/v1/chat/completions", method: str = "POST") -> RequestFacts:
    return RequestFacts(method=method, path=path, affinity=affinity)


async def decision_logged() -> None:
    """The handler logs its decision in a loop callback (`call_soon`, off the request's path): let it run."""
    await asyncio.sleep(0)


def fwd(outcome: Outcome) -> Forward:
    assert isinstance(outcome, Forward), outcome
    return outcome


def meta(outcome: Outcome) -> dict[str, str]:
    return dict(fwd(outcome).metadata)


def headers(outcome: Outcome) -> dict[str, str]:
    return dict(fwd(outcome).set_headers)


@pytest.mark.anyio
async def test_no_affinity_routes_every_request_fresh() -> None:
    handler, router, _ = make_handler()
    first = await handler.handle(facts(), body("write code"))
    second = await handler.handle(facts(), body("analyze this"))
    assert meta(first)["model"] == "claude-sonnet-4-20250514"
    assert meta(second)["model"] == "gpt-4o"
    assert meta(first)["affinity"] == meta(second)["affinity"] == "none"
    assert router.calls == 2


@pytest.mark.anyio
async def test_affinity_pins_the_first_decision_and_skips_the_router() -> None:
    handler, router, _ = make_handler()
    outcomes = [
        await handler.handle(facts("run-1"), body("write code")),
        await handler.handle(facts("run-1"), body("analyze the results")),
        await handler.handle(facts("run-1"), body("small talk")),
    ]
    assert [meta(o)["model"] for o in outcomes] == ["claude-sonnet-4-20250514"] * 3
    assert [meta(o)["affinity"] for o in outcomes] == ["new", "pinned", "pinned"]
    assert [meta(o)["route"] for o in outcomes] == ["code_generation"] * 3
    assert router.calls == 1


@pytest.mark.anyio
async def test_rewrite_sets_model_path_credentials_and_length() -> None:
    handler, _, _ = make_handler()
    outcome = fwd(await handler.handle(facts(path="/v1/chat/completions?x=1"), body("write code")))
    assert outcome.body is not None
    assert orjson.loads(outcome.body)["model"] == "claude-sonnet-4-20250514"
    h = dict(outcome.set_headers)
    assert h["content-length"] == str(len(outcome.body))
    # The seed's Anthropic provider speaks the native Messages API: the chat request is translated.
    assert h["x-api-key"] == "sk-test-anthropic-0000"
    assert h[":path"] == "/v1/messages"  # a chat client's query means nothing to the Messages API
    assert h["x-brightstaff-provider"] == "provider_anthropic_claude-sonnet-4-20250514"
    assert "authorization" in outcome.remove_headers
    assert outcome.response is not None  # and its answer translated back


@pytest.mark.anyio
async def test_provider_without_key_strips_client_credentials() -> None:
    handler, _, _ = make_handler(parse_config(seed_config_data(), {}))
    outcome = fwd(await handler.handle(facts(), body("write code")))
    assert "authorization" not in dict(outcome.set_headers)
    assert set(outcome.remove_headers) == {"authorization", "x-api-key", "api-key"}


@pytest.mark.anyio
async def test_passthrough_auth_keeps_client_credentials() -> None:
    data = seed_config_data()
    data["model_providers"][2]["passthrough_auth"] = True
    handler, _, _ = make_handler(parse_config(data, SEED_ENV))
    outcome = fwd(await handler.handle(facts(), body("write code")))
    assert "authorization" not in dict(outcome.set_headers)
    assert outcome.remove_headers == ()


@pytest.mark.anyio
async def test_concurrent_first_requests_run_the_router_once_and_agree() -> None:
    handler, router, _ = make_handler(router=ScriptedRouter(delay=0.05))
    prompts = ["write code", "analyze", "small talk", "write code", "analyze"] * 4
    outcomes = await asyncio.gather(*(handler.handle(facts("burst"), body(p)) for p in prompts))
    assert router.calls == 1
    assert len({meta(o)["model"] for o in outcomes}) == 1
    affinities = sorted(meta(o)["affinity"] for o in outcomes)
    assert affinities.count("new") == 1
    assert affinities.count("pinned") == 19


@pytest.mark.anyio
async def test_a_pin_written_elsewhere_wins_the_race() -> None:
    """Another replica pinned the id between this one's miss and its claim: follow the winner."""
    handler, _, store = make_handler()

    class RacingRouter(ScriptedRouter):
        async def route(self, conversation: Conversation) -> RouteChoice:
            await store.claim("race", Pin("openai/gpt-4o", "complex_reasoning", 1.0))
            return await super().route(conversation)

    handler.router = RacingRouter()
    outcome = await handler.handle(facts("race"), body("write code"))
    assert meta(outcome)["model"] == "gpt-4o"
    assert meta(outcome)["affinity"] == "pinned"
    assert handler.metrics.get("brightstaff_pin_races_total") == 1


@pytest.mark.anyio
async def test_router_failure_serves_the_default_and_does_not_pin() -> None:
    handler, router, store = make_handler(router=ScriptedRouter(fail=True))
    outcome = await handler.handle(facts("s"), body("write code"))
    assert meta(outcome)["model"] == "gpt-4o-mini"
    assert meta(outcome)["affinity"] == "unpinned"
    assert meta(outcome)["route"] == "fallback"
    assert await store.get("s") is None
    router.fail = False
    again = await handler.handle(facts("s"), body("write code"))
    assert meta(again)["affinity"] == "new"
    assert meta(again)["model"] == "claude-sonnet-4-20250514"
    assert handler.metrics.get("brightstaff_router_failures_total", router="scripted") == 1


@pytest.mark.anyio
async def test_pinned_provider_removed_from_config_is_repinned() -> None:
    handler, _router, store = make_handler()
    await store.claim("old", Pin("openai/gpt-3.5-turbo", None, 1.0))
    outcome = await handler.handle(facts("old"), body("analyze"))
    assert meta(outcome)["affinity"] == "repinned"
    assert meta(outcome)["model"] == "gpt-4o"
    pinned = await store.get("old")
    assert pinned is not None and pinned.provider == "openai/gpt-4o"


@pytest.mark.anyio
async def test_explicit_provider_model_bypasses_routing() -> None:
    handler, router, _ = make_handler()
    outcome = await handler.handle(facts("e"), body("write code", model="openai/gpt-4o"))
    assert meta(outcome)["model"] == "gpt-4o"
    assert meta(outcome)["route"] == "explicit"
    assert router.calls == 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("request_facts", "payload", "status", "code"),
    [
        (facts(), b"{nope", 400, "invalid_json"),
        (facts(), b'{"messages":[]}', 400, "missing_required_parameter"),
        (facts("bad id!"), body("hi"), 400, "invalid_affinity_id"),
        (facts(), body("hi", model="acme/unknown"), 404, "model_not_found"),
        (facts(path="/v1/embeddings"), body("hi"), 404, "not_found"),
        (facts(method="GET"), None, 405, "method_not_allowed"),
        (facts(), None, 400, "invalid_request_body"),
    ],
)
async def test_bad_requests_get_json_errors(
    request_facts: RequestFacts, payload: bytes | None, status: int, code: str
) -> None:
    handler, _, _ = make_handler()
    outcome = await handler.handle(request_facts, payload)
    assert isinstance(outcome, Reply)
    assert outcome.status == status
    assert orjson.loads(outcome.body)["error"]["code"] == code
    # the handler keeps serving afterwards
    assert isinstance(await handler.handle(facts(), body("hi")), Forward)


@pytest.mark.anyio
async def test_body_over_the_limit_is_413() -> None:
    handler, _, _ = make_handler(parse_config(seed_config_data(max_request_body_bytes=2048), SEED_ENV))
    outcome = await handler.handle(facts(), body("x" * 4000))
    assert isinstance(outcome, Reply) and outcome.status == 413


@pytest.mark.anyio
async def test_models_endpoint_lists_configured_providers() -> None:
    handler, _, _ = make_handler()
    outcome = await handler.handle(facts(method="GET", path="/v1/models"), None)
    assert isinstance(outcome, Reply) and outcome.status == 200
    ids = [m["id"] for m in orjson.loads(outcome.body)["data"]]
    assert ids == ["openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-sonnet-4-20250514"]


@pytest.mark.anyio
async def test_failing_store_degrades_to_routing() -> None:
    class BrokenStore(MemoryPinStore):
        async def get(self, key: str) -> Pin | None:
            raise RuntimeError("store unavailable")

    config = parse_config(seed_config_data(), SEED_ENV)
    handler = RequestHandler(config, BrokenStore(max_entries=5, ttl_seconds=5), ScriptedRouter(), Metrics())
    outcome = await handler.handle(facts("s"), body("write code"))
    # a failing store degrades to routing without affinity rather than failing the request
    assert meta(outcome)["model"] == "claude-sonnet-4-20250514"
    assert handler.metrics.get("brightstaff_pin_store_errors_total", op="get") == 1


@pytest.mark.anyio
async def test_decision_log_line_has_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    handler, _, _ = make_handler()
    with caplog.at_level("INFO", logger="brightstaff.decision"):
        await handler.handle(facts("log-me"), body("write code"))
        await decision_logged()
    text = "\n".join(TextFormatter().format(r) for r in caplog.records)
    assert "affinity=new key=log-me source=header skipped=- provider=anthropic/claude-sonnet-4-20250514" in text
    assert "sk-test" not in text


@pytest.mark.anyio
async def test_a_known_store_outage_does_not_flood_the_log(caplog: pytest.LogCaptureFixture) -> None:
    from brightstaff.pins.base import PinStoreUnavailable

    class DownStore(MemoryPinStore):
        async def get(self, key: str) -> Pin | None:
            raise PinStoreUnavailable("circuit open")

        async def claim(self, key: str, pin: Pin) -> Pin:
            raise PinStoreUnavailable("circuit open")

    config = parse_config(seed_config_data(), SEED_ENV)
    handler = RequestHandler(config, DownStore(max_entries=5, ttl_seconds=5), ScriptedRouter(), Metrics())
    with caplog.at_level("INFO", logger="brightstaff.decision"):
        for _ in range(20):
            outcome = await handler.handle(facts("s"), body("write code"))
            assert meta(outcome)["affinity"] == "unpinned"
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    assert handler.metrics.get("brightstaff_pin_store_errors_total", op="get") == 20


# ---------------------------------------------------------------- Anthropic Messages clients


def messages_body(text: str, model: str = "claude-x", **extra: Any) -> bytes:
    return orjson.dumps({"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": text}], **extra})


def anthropic_error(outcome: Outcome) -> dict[str, Any]:
    assert isinstance(outcome, Reply)
    document = orjson.loads(outcome.body)
    assert document["type"] == "error"
    error: dict[str, Any] = document["error"]
    return error


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "payload", "status", "error_type"),
    [
        ("/v1/messages", b"{nope", 400, "invalid_request_error"),
        ("/v1/messages", orjson.dumps({"model": "m", "messages": []}), 400, "invalid_request_error"),
        ("/v1/messages", messages_body("hi", model="acme/none"), 404, "not_found_error"),
        ("/v1/messages/nope", messages_body("hi"), 404, "not_found_error"),
    ],
    ids=["malformed", "no max_tokens", "unknown model", "unknown path"],
)
async def test_messages_clients_get_errors_in_their_own_shape(
    path: str, payload: bytes, status: int, error_type: str
) -> None:
    handler, _, _ = make_handler()
    outcome = await handler.handle(facts(path=path), payload)
    assert isinstance(outcome, Reply) and outcome.status == status
    assert anthropic_error(outcome)["type"] == error_type


@pytest.mark.anyio
async def test_messages_and_chat_share_one_pin_per_affinity_id() -> None:
    handler, router, _ = make_handler()
    first = await handler.handle(facts("one-id", path="/v1/messages"), messages_body("write code"))
    assert meta(first)["affinity"] == "new"
    later = await handler.handle(facts("one-id"), body("analyze this"))
    assert meta(later)["affinity"] == "pinned"
    assert meta(later)["provider"] == meta(first)["provider"]
    assert router.calls == 1


@pytest.mark.anyio
async def test_count_tokens_follows_a_pin_but_never_makes_one() -> None:
    handler, router, store = make_handler()
    # Routed to gpt-4o (an OpenAI backend, which cannot count Messages tokens): brightstaff estimates.
    counted = await handler.handle(facts("count-id", path="/v1/messages/count_tokens"), messages_body("analyze this"))
    assert isinstance(counted, Reply) and counted.status == 200
    assert orjson.loads(counted.body)["input_tokens"] > 0
    assert await store.get("count-id") is None
    assert router.calls == 1
    # Answered here, yet decided like any request: the client sees which model it counted for.
    decided = dict(counted.metadata)
    assert (decided["model"], decided["provider"], decided["route"]) == ("gpt-4o", "openai/gpt-4o", "complex_reasoning")


@pytest.mark.anyio
async def test_count_tokens_for_a_session_pinned_to_anthropic_goes_to_anthropic() -> None:
    handler, router, _ = make_handler()
    pinned = await handler.handle(facts("claude-id", path="/v1/messages"), messages_body("write code"))
    assert meta(pinned)["provider"] == "anthropic/claude-sonnet-4-20250514"
    counted = fwd(await handler.handle(facts("claude-id", path="/v1/messages/count_tokens"), messages_body("analyze")))
    assert dict(counted.set_headers)[":path"] == "/v1/messages/count_tokens"
    assert meta(counted)["affinity"] == "pinned"
    assert router.calls == 1


@pytest.mark.anyio
async def test_the_routers_confidence_reaches_the_metric_and_the_decision_log(caplog: pytest.LogCaptureFixture) -> None:
    class SureRouter(ScriptedRouter):
        async def route(self, conversation: Conversation) -> RouteChoice:
            choice = await super().route(conversation)
            return RouteChoice(choice.provider, choice.route, choice.reason, choice.score, "medium")

    handler, _, _ = make_handler(router=SureRouter())
    with caplog.at_level("INFO", logger="brightstaff.decision"):
        await handler.handle(facts(), body("write code"))
        await decision_logged()
    assert (
        handler.metrics.get(
            "brightstaff_router_calls_total", router="scripted", reason="preference", confidence="medium"
        )
        == 1
    )
    assert "confidence=medium" in "\n".join(TextFormatter().format(r) for r in caplog.records)


def loop_body(tool_result: str, model: str = "gpt-4o-mini") -> bytes:
    """A tool loop's second request: the user's ask, the assistant's tool call, the tool's result."""
    messages = [
        {"role": "user", "content": "write code for a date parser"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "run", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": tool_result},
    ]
    return orjson.dumps({"model": model, "messages": messages})


@pytest.mark.anyio
async def test_route_on_user_only_routes_a_tool_result_as_of_the_last_user_turn() -> None:
    data = seed_config_data()
    data["routing"]["route_on_user_only"] = True
    off, _, _ = make_handler()
    on, router, _ = make_handler(parse_config(data, SEED_ENV))
    # the scripted router reads the latest turn it is shown: the tool result, or the user's ask
    assert meta(await off.handle(facts(), loop_body("analysis of the dates")))["model"] == "gpt-4o"
    assert meta(await on.handle(facts(), loop_body("analysis of the dates")))["model"] == "claude-sonnet-4-20250514"
    # the first request of an id is a tool result
    pinned = [
        await on.handle(facts("loop-1"), loop_body("analysis of the dates")),
        await on.handle(facts("loop-1"), body("now analyze the results")),
    ]
    assert [meta(o)["model"] for o in pinned] == ["claude-sonnet-4-20250514"] * 2
    assert [meta(o)["affinity"] for o in pinned] == ["new", "pinned"]
    assert router.calls == 2  # the request without affinity, and the first of loop-1


def plano_names_config() -> Config:
    data = seed_config_data()
    data["model_providers"].append(
        {"model": "openai/*", "access_key": "$OPENAI_API_KEY", "base_url": "http://127.0.0.1:9001/v1"}
    )
    data["model_aliases"] = {"team.coder": {"target": "claude-sonnet-4-20250514"}}
    return parse_config(data, SEED_ENV)


@pytest.mark.anyio
async def test_an_alias_is_served_by_its_target_unrouted_and_unpinned() -> None:
    handler, router, store = make_handler(plano_names_config())
    outcome = await handler.handle(facts("alias-1"), body("small talk", model="team.coder"))
    assert (meta(outcome)["model"], meta(outcome)["affinity"]) == ("claude-sonnet-4-20250514", "none")
    assert router.calls == 0
    assert await store.get("alias-1") is None


@pytest.mark.anyio
async def test_a_wildcard_serves_any_model_of_its_vendor_by_name() -> None:
    handler, router, _ = make_handler(plano_names_config())
    outcome = fwd(await handler.handle(facts(), body("hi", model="openai/o3-mini")))
    assert outcome.body is not None and orjson.loads(outcome.body)["model"] == "o3-mini"
    assert dict(outcome.set_headers)["x-brightstaff-provider"] == "provider_openai_"
    assert (dict(outcome.metadata)["provider"], router.calls) == ("openai/*", 0)


@pytest.mark.anyio
async def test_a_wildcard_default_passes_the_clients_model_through() -> None:
    class DefaultRouter(ScriptedRouter):
        async def route(self, conversation: Conversation) -> RouteChoice:
            self.calls += 1
            return RouteChoice("chatgpt/*", None, "default")

    config = parse_config({"model_providers": [{"model": "chatgpt/*"}]}, env={})
    handler, router, _ = make_handler(config, DefaultRouter())
    for affinity in (None, "run-9", "run-9"):
        outcome = fwd(await handler.handle(facts(affinity), body("hello", model="gpt-5.2")))
        assert outcome.body is not None and orjson.loads(outcome.body)["model"] == "gpt-5.2"
    assert router.calls == 2  # without affinity, and the first request of run-9; then its pin answers


# ---------------------------------------------------------------- affinity from what agents already send


def affinity_config(**affinity: Any) -> Config:
    data = seed_config_data()
    data["routing"] = {"affinity": affinity}
    return parse_config(data, SEED_ENV)


@pytest.mark.anyio
async def test_a_claude_code_session_id_pins_like_the_header_and_names_its_source() -> None:
    handler, router, store = make_handler(affinity_config(sources=["header", "claude-code"]))
    session = RequestFacts(
        method="POST", path="/v1/chat/completions", identity_headers=(("x-claude-code-session-id", "sess-1"),)
    )
    first = await handler.handle(session, body("write code"))
    later = await handler.handle(session, body("analyze this"))
    assert (meta(first)["affinity"], meta(later)["affinity"]) == ("new", "pinned")
    assert meta(first)["affinity_source"] == meta(later)["affinity_source"] == "claude-code"
    assert await store.get("sess-1") is not None
    assert router.calls == 1


@pytest.mark.anyio
async def test_without_the_source_configured_a_harness_header_is_ignored() -> None:
    handler, _, store = make_handler()
    session = RequestFacts(
        method="POST", path="/v1/chat/completions", identity_headers=(("x-claude-code-session-id", "sess-2"),)
    )
    outcome = await handler.handle(session, body("write code"))
    assert (meta(outcome)["affinity"], meta(outcome)["affinity_source"]) == ("none", "none")
    assert await store.get("sess-2") is None


@pytest.mark.anyio
async def test_provider_cache_key_follows_the_pin_hashed_never_raw() -> None:
    handler, _, _ = make_handler(affinity_config(provider_cache_key=True))
    outcome = await handler.handle(facts("raw-session-id"), body("analyze this"))
    forwarded = orjson.loads(fwd(outcome).body or b"{}")
    assert forwarded["prompt_cache_key"].startswith("bsk_")
    assert "raw-session-id" not in forwarded["prompt_cache_key"]
    again = await handler.handle(facts("raw-session-id"), body("analyze this"))
    assert orjson.loads(fwd(again).body or b"{}")["prompt_cache_key"] == forwarded["prompt_cache_key"]
    own = await handler.handle(facts("raw-session-id"), body("analyze", prompt_cache_key="mine"))
    assert orjson.loads(fwd(own).body or b"{}")["prompt_cache_key"] == "mine"


@pytest.mark.anyio
async def test_single_flight_holds_when_the_store_answers_after_the_leader_pinned() -> None:
    """A lookup that read the store before the leader pinned, and answers after the leader is done, must not
    route again: like a Redis GET in flight while another request's SET lands (issue 12: 'new' twice)."""

    class LaggingStore(MemoryPinStore):
        async def get(self, key: str) -> Pin | None:
            seen = await super().get(key)  # read now...
            await asyncio.sleep(0.05)  # ...answer later
            return seen

    config = parse_config(seed_config_data(), SEED_ENV)
    router = ScriptedRouter()
    handler = RequestHandler(config, LaggingStore(max_entries=10, ttl_seconds=60), router, Metrics())
    first = asyncio.create_task(handler.handle(facts("lag-1"), body("write code")))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(handler.handle(facts("lag-1"), body("analyze this")))
    assert [meta(o)["affinity"] for o in await asyncio.gather(first, second)] == ["new", "pinned"]
    assert router.calls == 1


# ---------------------------------------------------------------- the routing service


def routing_reply(outcome: Outcome) -> dict[str, Any]:
    assert isinstance(outcome, Reply) and outcome.status == 200
    answer: dict[str, Any] = orjson.loads(outcome.body)
    return answer


@pytest.mark.anyio
async def test_the_routing_service_answers_the_decision_and_pins_like_the_proxy() -> None:
    handler, router, store = make_handler()
    asked = routing_reply(await handler.handle(facts("svc-1", path="/routing/v1/chat/completions"), body("write code")))
    assert (asked["models"][0], asked["route"], asked["pinned"], asked["session_id"]) == (
        "anthropic/claude-sonnet-4-20250514",
        "code_generation",
        False,
        "svc-1",
    )
    # A proxied turn of the same session follows the pin the service made...
    proxied = await handler.handle(facts("svc-1"), body("analyze this in detail"))
    assert (meta(proxied)["affinity"], meta(proxied)["provider"]) == ("pinned", "anthropic/claude-sonnet-4-20250514")
    # ...and the service reports a pin the proxied path made.
    await handler.handle(facts("svc-2"), body("analyze this in detail"))
    later = routing_reply(
        await handler.handle(facts("svc-2", path="/routing/v1/messages"), messages_body("write code"))
    )
    assert (later["provider"], later["pinned"], later["affinity"]) == ("openai/gpt-4o", True, "pinned")
    assert router.calls == 2
    assert await store.get("svc-1") is not None


@pytest.mark.anyio
async def test_routing_service_errors_take_the_clients_dialect() -> None:
    handler, _, _ = make_handler()
    outcome = await handler.handle(facts(path="/routing/v1/messages"), b"{nope")
    assert isinstance(outcome, Reply) and outcome.status == 400
    assert anthropic_error(outcome)["type"] == "invalid_request_error"


@pytest.mark.anyio
async def test_a_rewrite_past_envoys_buffer_is_refused_before_it_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's body is within the limit but the rewrite (a longer model name) would pass Envoy's
    buffer: brightstaff refuses it in the client's shape, not counted as routed, rather than forward what
    Envoy would refuse with its own 413. (Envoy's headroom, at least 64 KiB, is taken away here.)"""
    monkeypatch.setattr(ServerSettings, "envoy_body_limit_bytes", property(lambda s: s.max_request_body_bytes))
    config = parse_config(seed_config_data(max_request_body_bytes=2048), SEED_ENV)
    handler, _, _ = make_handler(config)
    request = body("x" * (2048 - len(body("", model="m"))), model="m")  # routed, rewritten to gpt-4o-mini
    assert len(request) == 2048
    outcome = await handler.handle(facts(), request)
    assert isinstance(outcome, Reply) and outcome.status == 413, outcome
    assert orjson.loads(outcome.body)["error"]["code"] == "request_too_large"
    assert handler.metrics.get("brightstaff_requests_total") == 0
    assert handler.metrics.get("brightstaff_client_errors_total", code="request_too_large") == 1


@pytest.mark.anyio
@pytest.mark.parametrize("encoding", ["deflate", "br", "zstd"])
async def test_a_body_in_an_encoding_envoy_did_not_decode_is_415(encoding: str) -> None:
    handler, _, _ = make_handler()
    request = RequestFacts(method="POST", path="/v1/messages", content_encoding=encoding)
    outcome = await handler.handle(request, body("hi"))
    assert isinstance(outcome, Reply) and outcome.status == 415
    error = orjson.loads(outcome.body)
    assert error["type"] == "error" and encoding in error["error"]["message"]


@pytest.mark.anyio
async def test_identity_content_encoding_is_read_as_it_is() -> None:
    handler, _, _ = make_handler()
    outcome = await handler.handle(
        RequestFacts(method="POST", path="/v1/chat/completions", content_encoding="identity"), body("hi")
    )
    assert isinstance(outcome, Forward)


# ---------------------------------------------------------------- deferred content checks

# A Messages body whose content the Messages API refuses (a tool_result from the assistant).
BAD_CONTENT = orjson.dumps(
    {
        "model": "claude-x",
        "max_tokens": 64,
        "messages": [{"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "t1"}]}],
    }
)


@pytest.mark.anyio
async def test_a_same_api_pin_hit_forwards_the_body_unread() -> None:
    handler, router, store = make_handler()
    pin = Pin(provider="anthropic/claude-sonnet-4-20250514", route="code_generation", pinned_at=0.0)
    await store.claim("unread", pin)
    outcome = fwd(await handler.handle(facts("unread", path="/v1/messages"), BAD_CONTENT))
    assert outcome.body is not None
    assert orjson.loads(outcome.body)["messages"] == orjson.loads(BAD_CONTENT)["messages"]  # the provider's to judge
    assert router.calls == 0


@pytest.mark.anyio
async def test_content_the_router_or_a_translator_would_read_is_checked_first() -> None:
    handler, router, store = make_handler()
    routed = await handler.handle(facts("checked", path="/v1/messages"), BAD_CONTENT)
    assert anthropic_error(routed)["message"].startswith("messages.0.content.0.type:")
    assert router.calls == 0 and await store.get("checked") is None  # refused, not a router failure
    assert handler.metrics.get("brightstaff_router_failures_total", router="scripted", kind="exception") == 0
    pin = Pin(provider="openai/gpt-4o", route="complex_reasoning", pinned_at=0.0)  # a translated pin hit
    await store.claim("translated", pin)
    translated = await handler.handle(facts("translated", path="/v1/messages"), BAD_CONTENT)
    assert anthropic_error(translated)["message"].startswith("messages.0.content.0.type:")


@pytest.mark.anyio
async def test_a_leader_refused_by_its_checks_does_not_refuse_its_followers() -> None:
    handler, router, _ = make_handler(router=ScriptedRouter(delay=0.05))

    class LaggingStore(MemoryPinStore):
        async def get(self, key: str) -> Pin | None:
            await asyncio.sleep(0.02)  # the follower arrives while the leader looks its key up
            return await super().get(key)

    handler.store = LaggingStore(max_entries=10, ttl_seconds=60)

    leader = asyncio.create_task(handler.handle(facts("burst-bad", path="/v1/messages"), BAD_CONTENT))
    await asyncio.sleep(0.005)
    follower = asyncio.create_task(handler.handle(facts("burst-bad", path="/v1/messages"), messages_body("write code")))
    refused, served = await leader, await follower
    assert anthropic_error(refused)["type"] == "invalid_request_error"
    assert meta(served)["affinity"] == "new" and meta(served)["provider"] == "anthropic/claude-sonnet-4-20250514"
    assert router.calls == 1
