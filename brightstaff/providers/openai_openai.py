"""OpenAI chat completions client → OpenAI-compatible backend: the body passes through, `model` rewritten.

Invariants: every field but `model` reaches the provider byte for byte, in the client's order; the path
is the provider's base path plus `/chat/completions`, with the client's query string kept; the
provider's key goes in `Authorization: Bearer`.
"""

from __future__ import annotations

from brightstaff.config import Provider
from brightstaff.core.chat import ChatRequest, with_model
from brightstaff.core.outcome import UpstreamRequest
from brightstaff.providers.backends import CHAT_COMPLETIONS, openai_credentials, upstream_path


def request(chat: ChatRequest, provider: Provider, query: str) -> UpstreamRequest:
    set_headers, remove_headers = openai_credentials(provider)
    return UpstreamRequest(
        path=upstream_path(provider, CHAT_COMPLETIONS, query),
        set_headers=set_headers,
        remove_headers=remove_headers,
        body=with_model(chat, provider.model),
    )
