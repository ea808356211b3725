"""The LLM router: asks a router model (Arch-Router, Plano-Orchestrator) behind an OpenAI-compatible
endpoint which routing preference fits the conversation, and never lets its failure fail a request.

Invariants
    - `route()` never raises for a well-formed request. A router that fails, times out, answers with an
      HTTP error, malformed output or a route that is not configured yields the default provider with
      reason "fallback" (served, marked `x-brightstaff-route: fallback` / `affinity: unpinned`, never
      pinned), counted in `brightstaff_router_failures_total{router="llm",kind}` and logged (at most one
      warning per `LOG_INTERVAL_SECONDS`, with the number of failures in between, so a dead router cannot
      flood the log). "No route fits" ("other", an empty list) is not a failure: reason "default".
    - One deadline per call (`timeout_ms`) covers waiting for a pooled connection, connecting
      (`connect_timeout_ms` on its own), sending and reading the answer.
    - One pooled client per router: at most `max_connections` connections, kept alive between calls, so
      a burst of first turns queues for a connection instead of opening one socket per request. `close()`
      releases the pool (the app calls it on shutdown).
    - Answers are read up to `MAX_RESPONSE_BYTES`; a larger body is treated as malformed.
    - A conversation with nothing to route on (no user or assistant text), or a config without routing
      preferences, is answered with the default provider without calling the router.
Prompt and answer formats: `brightstaff.routing.llm_prompt`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import orjson

from brightstaff.config import LlmRouterSettings, Provider
from brightstaff.core.conversation import Conversation
from brightstaff.core.decision import RouteChoice
from brightstaff.metrics import Metrics
from brightstaff.routing.llm_prompt import AnswerError, RouterPrompt, parse_answer, routes_in_config_order

log = logging.getLogger("brightstaff.router")

MAX_RESPONSE_BYTES = 1024 * 1024
# Enough for a JSON answer naming a few routes; a model that rambles is cut off rather than waited for.
MAX_ANSWER_TOKENS = 128
KEEPALIVE_SECONDS = 30.0
LOG_INTERVAL_SECONDS = 10.0
USER_AGENT = "brightstaff-router"


class RouterCallError(Exception):
    """One failed router call; `kind` is the metric label (timeout, connection, http_status, malformed,
    unknown_route)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


class _FailureLog:
    """Logs the first failure at once, then at most one line per interval with the count in between."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._next = 0.0
        self._suppressed = 0

    def warn(self, name: str, error: RouterCallError) -> None:
        now = time.monotonic()
        if now < self._next:
            self._suppressed += 1
            return
        extra = f" ({self._suppressed} more router failures since the last report)" if self._suppressed else ""
        log.warning("router %s failed (%s): %s; serving the default model%s", name, error.kind, error.detail, extra)
        self._next = now + self._interval
        self._suppressed = 0


class LlmRouter:
    """Routes with a router model over HTTP; see the module docstring for the failure contract."""

    name = "llm"

    def __init__(
        self,
        providers: tuple[Provider, ...],
        settings: LlmRouterSettings,
        *,
        metrics: Metrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._metrics = metrics
        self._default = next((p.name for p in providers if p.default), providers[0].name if providers else "")
        routes = routes_in_config_order(providers)
        self._provider_of = {r.name: r.provider for r in routes}
        self._route_names = tuple(r.name for r in routes)
        self.prompt = RouterPrompt(
            routes,
            settings.format,
            max_messages=settings.max_messages,
            max_context_tokens=settings.max_context_tokens,
        )
        if self.prompt.overflows:
            log.warning(
                "%s.max_context_tokens %d: the router instructions and %d routes alone exceed it; the "
                "conversation still gets %d characters",
                settings.source,
                settings.max_context_tokens,
                len(routes),
                self.prompt.budget_chars,
            )
        seconds = settings.timeout_ms / 1000
        headers = {"content-type": "application/json", "user-agent": USER_AGENT}
        if settings.access_key is not None:
            headers["authorization"] = f"Bearer {settings.access_key.reveal()}"
        self._client = httpx.AsyncClient(
            base_url=settings.base_url,
            headers=headers,
            timeout=httpx.Timeout(seconds, connect=settings.connect_timeout_ms / 1000, pool=seconds),
            limits=httpx.Limits(
                max_connections=settings.max_connections,
                max_keepalive_connections=settings.max_connections,
                keepalive_expiry=KEEPALIVE_SECONDS,
            ),
            transport=transport,
            trust_env=False,  # no proxy or netrc from the environment: the router is a configured endpoint
        )
        self._failures = _FailureLog(LOG_INTERVAL_SECONDS)

    async def route(self, conversation: Conversation) -> RouteChoice:
        try:
            name = await self.choose(conversation)
        except RouterCallError as error:
            if self._metrics is not None:
                self._metrics.inc("brightstaff_router_failures_total", router=self.name, kind=error.kind)
            self._failures.warn(self.name, error)
            return RouteChoice(self._default, None, "fallback")
        if name is None:
            return RouteChoice(self._default, None, "default")
        return RouteChoice(self._provider_of[name], name, "preference", 1.0)

    async def choose(self, conversation: Conversation) -> str | None:
        """The configured route the router model picks, None for none; raises RouterCallError."""
        if not self._route_names:
            return None
        prompt = self.prompt.build(conversation)
        if prompt is None:
            return None
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.timeout_ms / 1000):
                status, body = await self._post(prompt)
        except TimeoutError:
            raise RouterCallError("timeout", f"no answer within {self.settings.timeout_ms} ms") from None
        except httpx.TimeoutException as exc:
            raise RouterCallError("timeout", f"{type(exc).__name__} from {self.settings.base_url}") from None
        except httpx.HTTPError as exc:
            raise RouterCallError("connection", f"{type(exc).__name__} from {self.settings.base_url}: {exc}") from None
        finally:
            if self._metrics is not None:
                self._metrics.observe("brightstaff_router_seconds", time.perf_counter() - started)
        if status != 200:
            raise RouterCallError("http_status", f"HTTP {status} from {self.settings.base_url}: {body[:200]!r}")
        try:
            return parse_answer(_answer_text(body), self._route_names)
        except AnswerError as exc:
            raise RouterCallError(exc.kind, exc.detail) from None

    async def _post(self, prompt: str) -> tuple[int, bytes]:
        payload = {
            "model": self.settings.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": 0,
            "max_tokens": MAX_ANSWER_TOKENS,
            "stream": False,
        }
        async with self._client.stream("POST", "chat/completions", content=orjson.dumps(payload)) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise RouterCallError("malformed", f"answer body over {MAX_RESPONSE_BYTES} bytes")
                chunks.append(chunk)
            return response.status_code, b"".join(chunks)

    async def close(self) -> None:
        await self._client.aclose()


def _answer_text(body: bytes) -> str:
    """choices[0].message.content of a chat completion; RouterCallError("malformed") otherwise."""
    try:
        document: Any = orjson.loads(body)
        content = document["choices"][0]["message"]["content"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        raise RouterCallError("malformed", f"not a chat completion: {body[:200]!r}") from None
    if not isinstance(content, str):
        raise RouterCallError("malformed", f"message content is {type(content).__name__}, not text")
    return content
