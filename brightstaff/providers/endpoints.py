"""The API surface brightstaff serves: each path maps to its method and what handles it.

Invariant: anything not in `ENDPOINTS` is a 404 (unknown path) or 405 (known path, wrong method) JSON
error; brightstaff never passes an unknown request through to a provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from brightstaff.core.chat import ChatRequest, parse_chat
from brightstaff.core.errors import method_not_allowed, not_found
from brightstaff.core.request import RequestFacts
from brightstaff.providers import openai_openai
from brightstaff.providers.adapter import Adapter, ClientApi

CHAT: ClientApi[ChatRequest] = ClientApi(
    name="chat",
    parse=parse_chat,
    adapters={"openai": Adapter("openai_openai", openai_openai.request)},
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: Literal["GET", "POST"]
    kind: Literal["generate", "models"]  # a model call to route and forward, or the model list
    api: ClientApi[Any] | None = None  # the client API of a `generate` endpoint


_CHAT = Endpoint("POST", "generate", CHAT)
_MODELS = Endpoint("GET", "models")

ENDPOINTS: dict[str, Endpoint] = {
    "/v1/chat/completions": _CHAT,
    "/chat/completions": _CHAT,
    "/v1/models": _MODELS,
    "/models": _MODELS,
}


def endpoint_for(facts: RequestFacts) -> Endpoint:
    """The endpoint a request is for; raises ClientError 404/405 for anything brightstaff does not serve."""
    endpoint = ENDPOINTS.get(facts.route_path.rstrip("/") or "/")
    if endpoint is None:
        raise not_found(facts.method, facts.route_path)
    if facts.method != endpoint.method:
        raise method_not_allowed(facts.method, facts.route_path)
    return endpoint
