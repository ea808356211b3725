"""The provider's credentials on an upstream request, in the header its API expects.

Invariants:
- The client's own credentials never reach a provider unless the provider is configured with
  `passthrough_auth`: every header a client could authenticate with is removed, and the configured
  key (if any) is set in the backend's header.
- With `passthrough_auth` nothing is set or removed: the client's headers go through as sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from brightstaff.config import Provider

# Every header a client may carry a key in, whichever API it speaks.
CLIENT_CREDENTIAL_HEADERS = ("authorization", "x-api-key", "api-key")


@dataclass(frozen=True, slots=True)
class KeyHeader:
    """Where a backend API reads its key: the header and the text before the key."""

    name: str
    prefix: str = ""


BEARER = KeyHeader("authorization", "Bearer ")  # OpenAI and OpenAI-compatible APIs
X_API_KEY = KeyHeader("x-api-key")  # Anthropic's native API
API_KEY = KeyHeader("api-key")  # Azure OpenAI


def credential_headers(
    provider: Provider, key_header: KeyHeader
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """(headers to set, headers to remove) so that the provider sees its own key and no client key."""
    if provider.passthrough_auth:
        return (), ()
    if provider.access_key is None:
        return (), CLIENT_CREDENTIAL_HEADERS
    removed = tuple(h for h in CLIENT_CREDENTIAL_HEADERS if h != key_header.name)
    return ((key_header.name, key_header.prefix + provider.access_key.reveal()),), removed
