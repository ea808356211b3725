"""What each backend API needs on every upstream request: its paths, its headers, its credentials.

Invariants:
- A path is the provider's base path (`base_url`'s path, e.g. `/v1`) plus the endpoint, so the default
  `https://api.anthropic.com/v1` gives `/v1/messages`.
- Toward an Anthropic backend the provider's key goes in `x-api-key` and `anthropic-version` is set;
  toward an OpenAI-compatible backend the key goes in `Authorization: Bearer` and the client's
  `anthropic-*` headers are removed (they mean nothing there). Client credentials are removed unless
  the provider has `passthrough_auth` (`credentials.py`).
- A translated response must be readable: translating adapters ask for `accept-encoding: identity`,
  since brightstaff parses the bytes it gets back.
"""

from __future__ import annotations

from brightstaff.config import Provider
from brightstaff.providers.credentials import BEARER, X_API_KEY, credential_headers

CHAT_COMPLETIONS = "/chat/completions"
MESSAGES = "/messages"
COUNT_TOKENS = "/messages/count_tokens"

# The Messages API version brightstaff speaks (the only current one); a client's own header is kept on
# same-API requests (see anthropic_anthropic).
ANTHROPIC_VERSION = ("anthropic-version", "2023-06-01")
ANTHROPIC_CLIENT_HEADERS = ("anthropic-version", "anthropic-beta", "anthropic-dangerous-direct-browser-access")
IDENTITY_ENCODING = ("accept-encoding", "identity")

Headers = tuple[tuple[str, str], ...]


def upstream_path(provider: Provider, endpoint: str, query: str) -> str:
    """The provider's path for `endpoint` under its base URL, keeping the client's query string."""
    path = f"{provider.path_prefix}{endpoint}"
    return f"{path}?{query}" if query else path


def anthropic_credentials(provider: Provider) -> tuple[Headers, tuple[str, ...]]:
    return credential_headers(provider, X_API_KEY)


def openai_credentials(provider: Provider) -> tuple[Headers, tuple[str, ...]]:
    return credential_headers(provider, BEARER)
