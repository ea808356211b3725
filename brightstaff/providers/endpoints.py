"""The API surface brightstaff serves: each path maps to its method and what handles it.

Invariants:
- Anything not in `ENDPOINTS` is a 404 (unknown path) or 405 (known path, wrong method) JSON error;
  brightstaff never passes an unknown request through to a provider.
- Each `generate` or `count_tokens` endpoint names its client API, which says how its bodies parse,
  which adapter serves each backend API, and the dialect its errors are rendered in.
- A `count_tokens` endpoint forwards to backends whose adapter it lists; for any other backend its
  `local` function answers the request itself (an estimate, `count_tokens.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from brightstaff.config import Provider
from brightstaff.core.chat import ChatRequest, parse_chat
from brightstaff.core.errors import Dialect, method_not_allowed, not_found
from brightstaff.core.messages import MessagesRequest, read_count_tokens, read_messages
from brightstaff.core.request import RequestFacts
from brightstaff.core.responses import ResponsesRequest, read_responses
from brightstaff.providers import (
    anthropic_anthropic,
    anthropic_openai,
    count_tokens,
    openai_anthropic,
    openai_openai,
    responses_anthropic,
    responses_chat,
    responses_openai,
)
from brightstaff.providers.adapter import Adapter, ClientApi
from brightstaff.providers.backends import serves_responses

CHAT: ClientApi[ChatRequest] = ClientApi(
    name="chat",
    parse=parse_chat,
    adapters={
        "openai": Adapter("openai_openai", openai_openai.request),
        "anthropic": Adapter("openai_anthropic", openai_anthropic.request, openai_anthropic.response),
    },
)

MESSAGES: ClientApi[MessagesRequest] = ClientApi(
    name="messages",
    parse=read_messages,
    adapters={
        "anthropic": Adapter("anthropic_anthropic", anthropic_anthropic.request),
        "openai": Adapter("anthropic_openai", anthropic_openai.request, anthropic_openai.response),
    },
    dialect="anthropic",
)

# count_tokens bodies are Messages bodies without max_tokens; only Anthropic backends can count them.
COUNT_TOKENS: ClientApi[MessagesRequest] = ClientApi(
    name="messages",
    parse=read_count_tokens,
    adapters={"anthropic": Adapter("anthropic_anthropic", anthropic_anthropic.count_tokens)},
    dialect="anthropic",
)


def responses_backend(provider: Provider) -> str:
    """A Responses request's adapter key: `openai_responses` for providers that serve the Responses API
    themselves (passed through), else the provider's API (translated)."""
    return "openai_responses" if serves_responses(provider) else provider.api


# The Responses API's errors are OpenAI's shape; only mid-stream failures differ (its own events).
RESPONSES: ClientApi[ResponsesRequest] = ClientApi(
    name="responses",
    parse=read_responses,
    adapters={
        "openai_responses": Adapter("responses_openai", responses_openai.request),
        "openai": Adapter("responses_chat", responses_chat.request, responses_chat.response),
        "anthropic": Adapter("responses_anthropic", responses_anthropic.request, responses_anthropic.response),
    },
    backend=responses_backend,
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: Literal["GET", "POST"]
    # a model call to route and forward, a token count (forwarded or answered locally), or the model list
    # "route": the routing service (Plano's /routing/v1/...): the decision, as JSON, nothing forwarded
    kind: Literal["generate", "count_tokens", "models", "route"]
    api: ClientApi[Any] | None = None  # the client API of a `generate` or `count_tokens` endpoint
    local: Callable[[Any], bytes] | None = None  # the answer for backends `api` has no adapter for


_CHAT = Endpoint("POST", "generate", CHAT)
_MODELS = Endpoint("GET", "models")

ENDPOINTS: dict[str, Endpoint] = {
    "/v1/chat/completions": _CHAT,
    "/chat/completions": _CHAT,
    "/v1/messages": Endpoint("POST", "generate", MESSAGES),
    "/v1/messages/count_tokens": Endpoint("POST", "count_tokens", COUNT_TOKENS, local=count_tokens.local_count),
    "/v1/responses": Endpoint("POST", "generate", RESPONSES),
    "/v1/models": _MODELS,
    "/models": _MODELS,
    # The routing service: the same decision (and the same pins) as the proxied paths, answered, not forwarded.
    "/routing/v1/chat/completions": Endpoint("POST", "route", CHAT),
    "/routing/v1/messages": Endpoint("POST", "route", MESSAGES),
    "/routing/v1/responses": Endpoint("POST", "route", RESPONSES),
}


# The paths of the Anthropic Messages API (and its routing service twin): a client under them reads
# Anthropic-shaped errors, also on paths brightstaff does not serve and in Envoy's own error replies
# before routing (proxy/local_replies.py).
ANTHROPIC_PATH_PREFIXES = ("/v1/messages", "/routing/v1/messages")


def dialect_for(facts: RequestFacts) -> Dialect:
    """The error shape the client reads: its endpoint's API's, or guessed from the path for unknown paths."""
    endpoint = ENDPOINTS.get(facts.route_path.rstrip("/") or "/")
    if endpoint is not None and endpoint.api is not None:
        return endpoint.api.dialect
    return "anthropic" if facts.route_path.startswith(ANTHROPIC_PATH_PREFIXES) else "openai"


def endpoint_for(facts: RequestFacts) -> Endpoint:
    """The endpoint a request is for; raises ClientError 404/405 for anything brightstaff does not serve."""
    endpoint = ENDPOINTS.get(facts.route_path.rstrip("/") or "/")
    if endpoint is None:
        raise not_found(facts.method, facts.route_path)
    if facts.method != endpoint.method:
        raise method_not_allowed(facts.method, facts.route_path)
    return endpoint
