"""One request through brightstaff: sequencing and I/O around the pure rules of `core/` and `providers/`.

The handler finds the endpoint, parses the body with its client API's parser, awaits the pin store and
the router, and asks `core.decision` what the facts mean and the provider adapter for the rewrite. It is
the only place that awaits the store and the router, and it knows nothing of gRPC or protobuf (the
transport feeds it `RequestFacts` and bytes).
Invariant: `handle` never raises; every failure becomes a `Reply` with a JSON error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from logging import DEBUG, INFO, WARNING
from typing import TYPE_CHECKING, Any

import orjson

from brightstaff.config import Config
from brightstaff.core import decision as rules
from brightstaff.core.affinity_sources import BodyIds, Resolution, body_ids, provider_cache_key, resolve
from brightstaff.core.decision import Affinity, Decision, Pin, RouteChoice
from brightstaff.core.errors import (
    ClientError,
    body_too_large,
    internal_error,
    invalid_body,
    no_adapter,
    rewrite_too_large,
    unsupported_content_encoding,
)
from brightstaff.core.outcome import Outcome, Reply, UpstreamRequest, decision_metadata, forward
from brightstaff.core.request import RequestFacts
from brightstaff.core.routing_service import routing_answer
from brightstaff.logs import event
from brightstaff.metrics import ROUTER_EXCEPTION, Metrics
from brightstaff.pins.base import PinStore, PinStoreError, PinStoreUnavailable
from brightstaff.providers.adapter import ClientApi, ClientRequest
from brightstaff.providers.endpoints import Endpoint, dialect_for, endpoint_for
from brightstaff.routing.base import Router

if TYPE_CHECKING:
    from brightstaff.tracing import DecisionTracer  # imported by the app only when tracing is on

log = logging.getLogger("brightstaff.decision")


class RequestHandler:
    def __init__(
        self, config: Config, store: PinStore, router: Router, metrics: Metrics, tracer: DecisionTracer | None = None
    ) -> None:
        self.config = config
        self.store = store
        self.router = router
        self.metrics = metrics
        self.tracer = tracer  # None unless tracing is on: then no span object is ever made
        # First requests of one affinity key in flight in this process: followers await the leader,
        # so N concurrent first turns run the router once.
        self._inflight: dict[str, asyncio.Future[Decision]] = {}
        sources = config.routing.affinity.sources
        self._header_only = sources == ("header",)
        self._body_sources = not {"prompt-cache-key", "anthropic-metadata"}.isdisjoint(sources)
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
            event(
                log,
                INFO,
                "refused",
                request_id=facts.request_id,
                status=error.status,
                code=error.code,
                path=facts.route_path,
            )
            return Reply.from_error(error, dialect_for(facts))
        except Exception:
            self.metrics.inc("brightstaff_internal_errors_total")
            event(
                log, logging.ERROR, "internal error", exc_info=True, request_id=facts.request_id, path=facts.route_path
            )
            return Reply.from_error(internal_error(), dialect_for(facts))
        return outcome

    async def _handle(self, facts: RequestFacts, body: bytes | None, started: float) -> Outcome:
        endpoint = endpoint_for(facts)
        if endpoint.api is None:
            return self._models_reply
        server = self.config.server
        # The default: the configured header is the only source, so a bad id is refused before parsing.
        resolution = self._resolve(facts, BodyIds()) if self._header_only else None
        if body is None:
            raise invalid_body("The request body is empty; expected a JSON object.")
        if facts.content_encoding is not None and facts.content_encoding.strip().lower() not in ("", "identity"):
            raise unsupported_content_encoding(facts.content_encoding)  # Envoy decoded gzip already
        # Envoy buffers a little more than the limit (room for the rewrite): the limit itself is enforced here.
        if len(body) > server.max_request_body_bytes:
            raise body_too_large(server.max_request_body_bytes)
        request: ClientRequest = endpoint.api.parse(body)
        if resolution is None:
            resolution = self._resolve(facts, body_ids(request.fields) if self._body_sources else BodyIds())
        if endpoint.kind == "count_tokens":
            return await self._count_tokens(endpoint, endpoint.api, request, facts, resolution)
        if endpoint.kind == "route":
            return await self._route_only(request, facts, resolution, started)
        return await self._generate(endpoint.api, request, facts, resolution, started)

    def _resolve(self, facts: RequestFacts, body: BodyIds) -> Resolution:
        server = self.config.server
        return resolve(
            facts,
            body,
            self.config.routing.affinity,
            header=server.affinity_header,
            tenant_header=self.config.routing.tenant_header,
            max_length=server.affinity_id_max_length,
        )

    def _cache_key(self, key: str | None) -> str | None:
        """The provider `prompt_cache_key` derived from the pin key, when configured (issue 10, item 4)."""
        settings = self.config.routing.affinity
        if key is None or not settings.provider_cache_key:
            return None
        salt = settings.cache_key_salt.reveal() if settings.cache_key_salt is not None else None
        return provider_cache_key(key, salt)

    async def _count_tokens(
        self,
        endpoint: Endpoint,
        api: ClientApi[Any],
        request: ClientRequest,
        facts: RequestFacts,
        resolution: Resolution,
    ) -> Outcome:
        """A token count goes where the session's model is (it follows a pin, never makes one); a backend
        that cannot count gets the endpoint's local estimate."""
        decision = await self._decide(resolution.key, request, pin_new=False)
        decision = rules.with_requested_model(decision, request.model)
        adapter = api.adapter_for(decision.provider)
        if adapter is None:
            if endpoint.local is None:
                raise no_adapter(api.name, decision.provider.name, decision.provider.api)
            return Reply(200, endpoint.local(request), metadata=decision_metadata(decision, resolution.source))
        upstream = self._fitting(adapter.request(request, decision.provider, facts.path.partition("?")[2]), decision)
        return forward(decision, upstream, affinity_source=resolution.source, sent_defaults=facts.sent_defaults)

    async def _route_only(
        self, request: ClientRequest, facts: RequestFacts, resolution: Resolution, started: float
    ) -> Outcome:
        """The routing service: the decision the proxied path would make (pinning alike), as JSON."""
        decision = rules.with_requested_model(await self._decide(resolution.key, request), request.model)
        self._count_decision(facts, decision, resolution, request, started)
        return Reply(200, orjson.dumps(routing_answer(decision, resolution, facts, self.config)))

    def _count_decision(
        self,
        facts: RequestFacts,
        decision: Decision,
        resolution: Resolution,
        request: ClientRequest,
        started: float,
    ) -> None:
        elapsed = time.perf_counter() - started
        self.metrics.decided(decision, elapsed)
        # Written in the loop's next turn, once the transport has sent the reply: formatting and writing
        # the line (a syscall) stay off the request's path. So is the decision span, when tracing is on.
        loop = asyncio.get_running_loop()
        loop.call_soon(_log_decision, facts, decision, resolution, request.stream, elapsed * 1000)
        if self.tracer is not None:
            loop.call_soon(self.tracer.decided, facts, decision, resolution, request.model, elapsed, time.time_ns())

    async def _generate(
        self,
        api: ClientApi[Any],
        request: ClientRequest,
        facts: RequestFacts,
        resolution: Resolution,
        started: float,
    ) -> Outcome:
        key = resolution.key
        decision = rules.with_requested_model(await self._decide(key, request), request.model)
        provider = decision.provider
        adapter = api.adapter_for(provider)
        if adapter is None:
            raise no_adapter(api.name, provider.name, provider.api)
        query = facts.path.partition("?")[2]
        upstream = self._fitting(adapter.request(request, provider, query, cache_key=self._cache_key(key)), decision)
        translator = adapter.response(request, provider) if adapter.response else None
        outcome = forward(
            decision, upstream, translator, affinity_source=resolution.source, sent_defaults=facts.sent_defaults
        )
        self._count_decision(facts, decision, resolution, request, started)
        return outcome

    def _fitting(self, upstream: UpstreamRequest, decision: Decision) -> UpstreamRequest:
        """The rewrite, if Envoy can hold it: past its buffer limit Envoy would answer 413 itself, after this
        request was counted as routed; refused here instead, in the client's shape, counted as refused."""
        limit = self.config.server.envoy_body_limit_bytes
        if len(upstream.body) > limit:
            raise rewrite_too_large(limit, decision.provider.name)
        return upstream

    async def _decide(self, key: str | None, request: ClientRequest, *, pin_new: bool = True) -> Decision:
        explicit = rules.explicit(request.model, self.config)
        if explicit is not None:
            return explicit
        if key is None:
            return rules.from_choice(await self._route(request), self.config, Affinity.NONE)

        if not pin_new:
            pin = await self._store_get(key)
            provider = rules.pinned_provider(pin, self.config)
            if provider is not None and pin is not None:
                return rules.from_pin(provider, pin)
            return rules.from_choice(await self._route(request), self.config, Affinity.NONE)

        # Single flight per key, from the store lookup on: concurrent requests of one id wait for the first
        # one's decision instead of each asking the store (and, on a miss, routing). Registering only after
        # the lookup would let a request whose lookup missed before the leader pinned route a second time.
        while (leader := self._inflight.get(key)) is not None:
            try:
                return rules.follow(await asyncio.shield(leader))
            except ClientError:
                continue  # the leader's own body was refused (a deferred check): this one decides for itself
        future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            pin = await self._store_get(key)
            provider = rules.pinned_provider(pin, self.config)
            if provider is not None and pin is not None:
                decision = rules.from_pin(provider, pin)
            else:
                decision = rules.from_choice(await self._route(request), self.config, rules.routed_affinity(pin))
                if rules.should_pin(decision):
                    decision = await self._pin(key, decision)
            future.set_result(decision)
            return decision
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: followers re-raise it themselves
            raise
        finally:
            del self._inflight[key]

    async def _route(self, request: ClientRequest) -> RouteChoice:
        try:
            choice = await self.router.route(
                rules.routing_view(request.conversation, self.config.routing.route_on_user_only)
            )
        except ClientError:
            raise  # the body failed its deferred checks when the router read it: the client's error
        except Exception:
            self.metrics.inc("brightstaff_router_failures_total", router=self.router.name, kind=ROUTER_EXCEPTION)
            log.exception("router %s failed; serving the default model", self.router.name)
            return RouteChoice(self.config.default_provider.name, None, "fallback")
        self.metrics.inc(
            "brightstaff_router_calls_total",
            router=self.router.name,
            reason=choice.reason,
            confidence=choice.confidence or "none",
        )
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
            event(log, DEBUG, "pin store unavailable; serving without affinity", op=op, key=key)
        elif isinstance(exc, PinStoreError):
            event(log, WARNING, "pin store failed; serving without affinity", op=op, key=key, error=str(exc))
        else:
            event(log, WARNING, "pin store raised; serving without affinity", exc_info=True, op=op, key=key)

    async def _pin(self, key: str, decision: Decision) -> Decision:
        pin = Pin(provider=decision.provider.name, route=decision.route, pinned_at=time.time())
        try:
            if decision.affinity == Affinity.REPINNED:
                await self.store.replace(key, pin)
                return decision
            holder = await self.store.claim(key, pin)
        except Exception as exc:
            self._store_failed("claim", key, exc)
            return rules.claim_failed(decision)
        decision, raced = rules.after_claim(decision, holder, self.config)
        if raced:
            self.metrics.inc("brightstaff_pin_races_total")
        return decision


def _log_decision(
    facts: RequestFacts, decision: Decision, resolution: Resolution, stream: bool, elapsed_ms: float
) -> None:
    skipped = ";".join(f"{source}: {reason}" for source, reason in resolution.skipped) or None
    event(
        log,
        INFO,
        "decision",
        request_id=facts.request_id,
        affinity=decision.affinity.value,
        key=resolution.key,
        source=resolution.source,
        skipped=skipped,
        provider=decision.provider.name,
        model=decision.provider.model,
        route=decision.route,
        reason=decision.reason,
        confidence=decision.confidence,
        stream=stream,
        ms=round(elapsed_ms, 3),
    )
