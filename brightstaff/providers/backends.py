"""What each backend API needs on every upstream request: its paths, its headers, its credentials.

Invariants:
- A path is the provider's base path (`base_url`'s path, e.g. `/v1`) plus the endpoint, so the default
  `https://api.anthropic.com/v1` gives `/v1/messages`.
- Toward an Anthropic backend the provider's key goes in `x-api-key` and `anthropic-version` is set;
  toward an OpenAI-compatible backend the key goes in `Authorization: Bearer` and the client's
  `anthropic-*` headers are removed (they mean nothing there). Client credentials are removed unless
  the provider has `passthrough_auth` (`credentials.py`).
- A translated response must be readable: translating adapters ask for `accept-encoding: identity`,
  since brightstaff parses the bytes it gets back (`to_chat_completions`, `to_messages`: the whole
  upstream rewrite of a translated body; the client's query string is not meaningful across APIs).
- `serves_responses`: the backends that get a Responses request as it is are OpenAI's own API, Azure
  OpenAI and the ChatGPT backend Codex uses (`RESPONSES_VENDORS`, by the provider's vendor: its model
  prefix). A provider so named behind a proxy or gateway gets `/responses` too, so a gateway that does
  not serve it should be configured under another vendor name (its requests are then translated).
"""

from __future__ import annotations

from brightstaff.config import Provider
from brightstaff.config.model import ProviderApi
from brightstaff.core.json_body import Fields, with_field
from brightstaff.core.outcome import UpstreamRequest
from brightstaff.providers.credentials import BEARER, X_API_KEY, KeyHeader, credential_headers

CHAT_COMPLETIONS = "/chat/completions"
RESPONSES = "/responses"
MESSAGES = "/messages"
COUNT_TOKENS = "/messages/count_tokens"

# The Messages API version brightstaff speaks (the only current one); a client's own header is kept on
# same-API requests (see anthropic_anthropic).
ANTHROPIC_VERSION = ("anthropic-version", "2023-06-01")
ANTHROPIC_CLIENT_HEADERS = ("anthropic-version", "anthropic-beta", "anthropic-dangerous-direct-browser-access")
IDENTITY_ENCODING = ("accept-encoding", "identity")

Headers = tuple[tuple[str, str], ...]

# Vendors whose API serves the Responses API natively (the ChatGPT backend serves nothing else).
RESPONSES_VENDORS = frozenset({"openai", "azure_openai", "chatgpt"})


def serves_responses(provider: Provider) -> bool:
    return provider.api == "openai" and provider.vendor in RESPONSES_VENDORS


def upstream_path(provider: Provider, endpoint: str, query: str) -> str:
    """The provider's path for `endpoint` under its base URL, keeping the client's query string."""
    path = f"{provider.path_prefix}{endpoint}"
    return f"{path}?{query}" if query else path


# Where each backend API reads its key (Envoy injects it there too, when brightstaff is bypassed).
KEY_HEADERS: dict[ProviderApi, KeyHeader] = {"openai": BEARER, "anthropic": X_API_KEY}


def anthropic_credentials(provider: Provider) -> tuple[Headers, tuple[str, ...]]:
    return credential_headers(provider, KEY_HEADERS["anthropic"])


def openai_credentials(provider: Provider) -> tuple[Headers, tuple[str, ...]]:
    return credential_headers(provider, KEY_HEADERS["openai"])


def openai_passthrough(
    provider: Provider, endpoint: str, fields: Fields, query: str, cache_key: str | None
) -> UpstreamRequest:
    """A same-API request to an OpenAI-compatible backend: the client's fields byte for byte with `model`
    replaced, plus `prompt_cache_key` (the key derived from the pin) only when one is given and the client
    sent none; the client's query string kept; the provider's key as a bearer token."""
    set_headers, remove_headers = openai_credentials(provider)
    if cache_key is None or "prompt_cache_key" in fields:
        body = with_field(fields, "model", provider.model)
    else:
        body = with_field(fields, "model", provider.model, prompt_cache_key=cache_key)
    return UpstreamRequest(upstream_path(provider, endpoint, query), set_headers, remove_headers, body)


def to_chat_completions(provider: Provider, body: bytes) -> UpstreamRequest:
    """A translated body toward an OpenAI-compatible backend."""
    set_headers, remove_headers = openai_credentials(provider)
    return UpstreamRequest(
        path=upstream_path(provider, CHAT_COMPLETIONS, ""),
        set_headers=(*set_headers, IDENTITY_ENCODING),
        remove_headers=(*remove_headers, *ANTHROPIC_CLIENT_HEADERS),
        body=body,
    )


def to_messages(provider: Provider, body: bytes) -> UpstreamRequest:
    """A translated body toward an Anthropic backend."""
    set_headers, remove_headers = anthropic_credentials(provider)
    return UpstreamRequest(
        path=upstream_path(provider, MESSAGES, ""),
        set_headers=(*set_headers, ANTHROPIC_VERSION, IDENTITY_ENCODING),
        remove_headers=remove_headers,
        body=body,
    )
