"""OpenAI chat completions client → OpenAI-compatible backend: the body passes through, `model` rewritten.

Invariants: every field but `model` reaches the provider byte for byte, in the client's order; the path
is the provider's base path plus `/chat/completions`, with the client's query string kept; the
provider's key goes in `Authorization: Bearer`. A `cache_key` derived from the pin is added as
`prompt_cache_key` only when the client sent none.
"""

from __future__ import annotations

from brightstaff.config import Provider
from brightstaff.core.chat import ChatRequest
from brightstaff.core.outcome import UpstreamRequest
from brightstaff.providers.backends import CHAT_COMPLETIONS, openai_passthrough


def request(chat: ChatRequest, provider: Provider, query: str, *, cache_key: str | None = None) -> UpstreamRequest:
    return openai_passthrough(provider, CHAT_COMPLETIONS, chat.fields, query, cache_key)
