"""One request through brightstaff: validate, look up or create the pin, route, and plan the rewrite.

This is the only place that awaits the pin store and the router. It knows nothing of gRPC or protobuf
(the ext_proc servicer feeds it `RequestFacts` and bytes) and every rule it applies lives in `core/`.
Invariant: `handle` never raises; every failure becomes a `Reply` with an OpenAI-style JSON error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import orjson

from brightstaff.config import Config
from brightstaff.core.affinity import pin_key
from brightstaff.core.chat import ChatRequest, parse_chat
from brightstaff.core.decision import Affinity, Decision, from_choice, from_pin, pinned_provider, should_pin
from brightstaff.core.request import RequestFacts
from brightstaff.core.rewrite import Outcome, Reply, forward
from brightstaff.errors import (
    ClientError,
    body_too_large,
    internal_error,
    invalid_body,
    method_not_allowed,
    not_found,
    unknown_model,
)
from brightstaff.metrics import Metrics
from brightstaff.pins.base import Pin, PinStore, PinStoreError, PinStoreUnavailable
from brightstaff.routing.base import RouteChoice, Router

log = logging.getLogger("brightstaff.decision")


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    kind: str  # "chat" | "models"
    upstream: str  # the provider path after its base URL


# The API surface brightstaff serves. Anything else is a 404/405 JSON error, never a pass-through.
ENDPOINTS: dict[str, Endpoint] = {
    "/v1/chat/completions": Endpoint("POST", "chat", "/chat/completions"),
    "/chat/completions": Endpoint("POST", "chat", "/chat/completions"),
    "/v1/models": Endpoint("GET", "models", "/models"),
    "/models": Endpoint("GET", "models", "/models"),
}


def _endpoint(facts: RequestFacts) -> Endpoint:
    endpoint = ENDPOINTS.get(facts.route_path.rstrip("/") or "/")
    if endpoint is None:
        raise not_found(facts.method, facts.route_path)
    if facts.method != endpoint.method:
        raise method_not_allowed(facts.method, facts.route_path)
    return endpoint


class RequestHandler:
    def __init__(self, config: Config, store: PinStore, router: Router, metrics: Metrics) -> None:
        self.config = config
        self.store = store
        self.router = router
        self.metrics = metrics
        # First requests of one affinity key in flight in this process: followers await the leader,
        # so N concurrent first turns run the router once.
        self._inflight: dict[str, asyncio.Future[Decision]] = {}
        self._models_reply = Reply(
            200,
            orjson.dumps(
                {
                    "object": "list",
                    "data": [
                        {"id": p.name, "object": "model", "created": 0, "owned_by": p.vendor} for p in config.providers
                    ],
                }
            ),
        )

    async def handle(self, facts: RequestFacts, body: bytes | None) -> Outcome:
        started = time.perf_counter()
        try:
            outcome = await self._handle(facts, body, started)
        except ClientError as error:
            self.metrics.inc("brightstaff_client_errors_total", code=error.code)
            log.info(
                "refused request_id=%s status=%d code=%s path=%s",
                facts.request_id,
                error.status,
                error.code,
                facts.route_path,
            )
            return Reply.from_error(error)
        except Exception:
            self.metrics.inc("brightstaff_internal_errors_total")
            log.exception("internal error request_id=%s path=%s", facts.request_id, facts.route_path)
            return Reply.from_error(internal_error())
        return outcome

    async def _handle(self, facts: RequestFacts, body: bytes | None, started: float) -> Outcome:
        endpoint = _endpoint(facts)
        if endpoint.kind == "models":
            return self._models_reply
        server = self.config.server
        key = pin_key(
            facts.affinity,
            facts.tenant,
            header=server.affinity_header,
            tenant_header=self.config.routing.tenant_header,
            max_length=server.affinity_id_max_length,
        )
        if body is None:
            raise invalid_body("The request body is empty; expected a JSON object.")
        if len(body) > server.max_request_body_bytes:
            raise body_too_large(server.max_request_body_bytes)
        chat = parse_chat(body)
        decision = await self._decide(key, chat)
        outcome = forward(decision, chat, facts, endpoint.upstream)
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.metrics.inc(
            "brightstaff_requests_total", affinity=decision.affinity.value, provider=decision.provider.name
        )
        self.metrics.observe_ms("brightstaff_decision_ms", elapsed_ms)
        # Written in the loop's next turn, once the transport has sent the reply: formatting and writing
        # the line (a syscall) stay off the request's path.
        asyncio.get_running_loop().call_soon(
            log.info,
            "decision request_id=%s affinity=%s key=%s provider=%s model=%s route=%s reason=%s stream=%s ms=%.3f",
            facts.request_id,
            decision.affinity.value,
            key or "-",
            decision.provider.name,
            decision.provider.model,
            decision.route or "-",
            decision.reason,
            chat.stream,
            elapsed_ms,
        )
        return outcome

    async def _decide(self, key: str | None, chat: ChatRequest) -> Decision:
        if "/" in chat.model:
            explicit = self.config.provider(chat.model)
            if explicit is None:
                raise unknown_model(chat.model, [p.name for p in self.config.providers])
            return Decision(explicit, None, Affinity.NONE, "explicit")
        if key is None:
            return from_choice(await self._route(chat), self.config, Affinity.NONE)

        pin = await self._store_get(key)
        provider = pinned_provider(pin, self.config)
        if provider is not None and pin is not None:
            return from_pin(provider, pin)

        leader = self._inflight.get(key)
        if leader is not None:
            followed = await asyncio.shield(leader)
            if followed.affinity == Affinity.UNPINNED:
                return followed
            return Decision(followed.provider, followed.route, Affinity.PINNED, "pinned")

        future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            affinity = Affinity.REPINNED if pin is not None else Affinity.NEW
            decision = from_choice(await self._route(chat), self.config, affinity)
            if should_pin(decision):
                decision = await self._pin(key, decision)
            future.set_result(decision)
            return decision
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: followers re-raise it themselves
            raise
        finally:
            del self._inflight[key]

    async def _route(self, chat: ChatRequest) -> RouteChoice:
        try:
            choice = await self.router.route(chat.conversation)
        except Exception:
            self.metrics.inc("brightstaff_router_failures_total", router=self.router.name)
            log.exception("router %s failed; serving the default model", self.router.name)
            return RouteChoice(self.config.default_provider.name, None, "fallback")
        self.metrics.inc("brightstaff_router_calls_total", router=self.router.name, reason=choice.reason)
        return choice

    async def _store_get(self, key: str) -> Pin | None:
        try:
            return await self.store.get(key)
        except Exception as exc:
            self._store_failed("get", key, exc)
            return None

    def _store_failed(self, op: str, key: str, exc: Exception) -> None:
        """Count a failed store call and log it in proportion: an outage must not flood the log."""
        self.metrics.inc("brightstaff_pin_store_errors_total", op=op)
        if isinstance(exc, PinStoreUnavailable):
            # The store logged the outage when its circuit opened; every request in it need not repeat that.
            log.debug("pin store unavailable for %s key=%s; serving without affinity", op, key)
        elif isinstance(exc, PinStoreError):
            log.warning("pin store %s failed for key=%s: %s; serving without affinity", op, key, exc)
        else:
            log.warning("pin store %s raised for key=%s; serving without affinity", op, key, exc_info=True)

    async def _pin(self, key: str, decision: Decision) -> Decision:
        pin = Pin(provider=decision.provider.name, route=decision.route, pinned_at=time.time())
        try:
            if decision.affinity == Affinity.REPINNED:
                await self.store.replace(key, pin)
                return decision
            holder = await self.store.claim(key, pin)
        except Exception as exc:
            self._store_failed("claim", key, exc)
            return Decision(decision.provider, decision.route, Affinity.UNPINNED, decision.reason)
        if holder.provider == decision.provider.name:
            return decision
        winner = self.config.provider(holder.provider)
        if winner is None:  # another replica pinned a provider this replica's config lacks
            return decision
        self.metrics.inc("brightstaff_pin_races_total")
        return Decision(winner, holder.route, Affinity.PINNED, "pinned")
