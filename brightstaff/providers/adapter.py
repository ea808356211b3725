"""The adapter and client-API shapes every pair module fills in, and the request type they share.

Invariants:
- An `Adapter` is a bundle of pure functions for one (client API, backend API) pair: given the parsed
  client request, the chosen provider and the client's query string, `request` returns the complete
  upstream rewrite (`UpstreamRequest`: path, headers with credentials, body). Its keyword `cache_key`
  (derived from the session's pin, `core.affinity_sources.provider_cache_key`) becomes the body's
  `prompt_cache_key` on OpenAI-compatible backends when the client sent none; Anthropic backends have
  no such parameter and ignore it. It never raises for a
  request its client API's parser accepted (deferred checks included: reading the body runs them,
  `core.json_body.ParsedBody`), unless the request cannot be expressed in the backend's API (then a
  `ClientError` naming the field). `response`, for pairs whose APIs differ, makes the
  per-request `ResponseTranslator` that turns the provider's answer (JSON, SSE, errors) into the
  client's API; same-API pairs have none and their responses never reach brightstaff.
- A `ClientApi` is what brightstaff knows of one client API: how to parse its bodies into a request
  object and which adapter serves each backend API. A backend API without an adapter is a 400 naming
  the provider, never a silent pass-through. Its `dialect` is the shape its clients read errors in
  (brightstaff's own refusals and translated provider errors alike). `adapter_for` picks the adapter:
  by the provider's `api`, unless the client API says otherwise (`backend`: the Responses API picks a
  pass-through for providers that serve it, `backends.serves_responses`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

from brightstaff.config import Provider
from brightstaff.core.conversation import Conversation
from brightstaff.core.errors import Dialect
from brightstaff.core.json_body import Fields
from brightstaff.core.outcome import ResponseTranslator, UpstreamRequest

ClientApiName = Literal["chat", "messages", "responses"]


class ClientRequest(Protocol):
    """What the request handler reads of any parsed client request."""

    @property
    def fields(self) -> Fields: ...  # the body's top-level fields (core.affinity_sources.body_ids reads them)

    @property
    def model(self) -> str: ...

    @property
    def stream(self) -> bool: ...

    @property
    def conversation(self) -> Conversation: ...


R = TypeVar("R", bound=ClientRequest)
R_contra = TypeVar("R_contra", bound=ClientRequest, contravariant=True)


class RequestRewrite(Protocol[R_contra]):
    """An adapter's request half: (client request, provider, query string) → the upstream request."""

    def __call__(
        self, request: R_contra, provider: Provider, query: str, /, *, cache_key: str | None = None
    ) -> UpstreamRequest: ...


def backend_api(provider: Provider) -> str:
    """The adapter key of a provider: its backend API."""
    return provider.api


@dataclass(frozen=True, slots=True)
class Adapter(Generic[R]):
    name: str  # "<client>_<backend>", the module that implements it
    request: RequestRewrite[R]
    response: Callable[[R, Provider], ResponseTranslator] | None = None


@dataclass(frozen=True, slots=True)
class ClientApi(Generic[R]):
    name: ClientApiName
    parse: Callable[[bytes], R]  # raises ClientError (400) for a body this API does not accept
    adapters: Mapping[str, Adapter[R]]  # by `backend` of the provider (by default its `Provider.api`)
    dialect: Dialect = "openai"  # the error shape its clients read
    backend: Callable[[Provider], str] = backend_api

    def adapter_for(self, provider: Provider) -> Adapter[R] | None:
        """The adapter serving `provider` for this client API; None when none can."""
        return self.adapters.get(self.backend(provider))
