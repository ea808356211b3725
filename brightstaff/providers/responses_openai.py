"""OpenAI Responses client → a backend that serves the Responses API itself: the body passes through.

For the providers `backends.serves_responses` names (OpenAI's own API, Azure OpenAI, the ChatGPT backend).
Invariants: every field but `model` reaches the provider byte for byte, in the client's order, stateful
ones included (`previous_response_id`, `store`, `conversation`, `background`, built-in tools, item
references): the provider keeps that state, and the pin keeps the session on that provider. The path is
the provider's base path plus `/responses`, with the client's query string kept; the provider's key goes
in `Authorization: Bearer`. The response is the client's API already: no translator, Envoy passes it
through. A `cache_key` derived from the pin is added as `prompt_cache_key` only when the client sent none.
"""

from __future__ import annotations

from brightstaff.config import Provider
from brightstaff.core.outcome import UpstreamRequest
from brightstaff.core.responses import ResponsesRequest
from brightstaff.providers.backends import RESPONSES, openai_passthrough


def request(
    responses: ResponsesRequest, provider: Provider, query: str, *, cache_key: str | None = None
) -> UpstreamRequest:
    return openai_passthrough(provider, RESPONSES, responses.fields, query, cache_key)
