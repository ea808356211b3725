"""What brightstaff tells Envoy to do with a request, as plain data: forward (rewritten) or reply."""

from __future__ import annotations

from dataclasses import dataclass

from brightstaff.core.chat import ChatRequest, with_model
from brightstaff.core.decision import Decision
from brightstaff.core.headers import CLIENT_CREDENTIAL_HEADERS, PROVIDER_HEADER
from brightstaff.core.request import RequestFacts
from brightstaff.errors import ClientError


@dataclass(frozen=True, slots=True)
class Forward:
    """Send the request upstream with these edits. `metadata` becomes the response's decision headers."""

    body: bytes | None
    set_headers: tuple[tuple[str, str], ...]
    remove_headers: tuple[str, ...]
    metadata: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer the client directly (errors, the model list); the request never reaches a provider."""

    status: int
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def from_error(cls, error: ClientError) -> Reply:
        return cls(status=error.status, body=error.to_json())


Outcome = Forward | Reply


def upstream_path(facts: RequestFacts, decision: Decision, endpoint: str) -> str:
    """The provider's path for `endpoint` (e.g. "/chat/completions"), keeping the client's query."""
    query = facts.path.partition("?")[2]
    path = f"{decision.provider.path_prefix}{endpoint}"
    return f"{path}?{query}" if query else path


def forward(decision: Decision, chat: ChatRequest, facts: RequestFacts, endpoint: str) -> Forward:
    provider = decision.provider
    body = with_model(chat, provider.model)
    headers: list[tuple[str, str]] = [
        (PROVIDER_HEADER, provider.cluster),
        (":path", upstream_path(facts, decision, endpoint)),
        ("content-length", str(len(body))),
    ]
    removed: tuple[str, ...] = ()
    if not provider.passthrough_auth:
        if provider.access_key is not None:
            headers.append(("authorization", f"Bearer {provider.access_key.reveal()}"))
            removed = tuple(h for h in CLIENT_CREDENTIAL_HEADERS if h != "authorization")
        else:
            removed = CLIENT_CREDENTIAL_HEADERS
    metadata = (
        ("model", provider.model),
        ("provider", provider.name),
        ("affinity", decision.affinity.value),
        ("route", decision.route or decision.reason),
    )
    return Forward(body=body, set_headers=tuple(headers), remove_headers=removed, metadata=metadata)
