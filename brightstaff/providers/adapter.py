"""The adapter and client-API shapes every pair module fills in, and the request type they share.

Invariants:
- An `Adapter` is a bundle of pure functions for one (client API, backend API) pair: given the parsed
  client request, the chosen provider and the client's query string, `request` returns the complete
  upstream rewrite (`UpstreamRequest`: path, headers with credentials, body). It never raises for a
  request its client API's parser accepted, unless the request cannot be expressed in the backend's
  API (then a `ClientError` naming the field). `response`, for pairs whose APIs differ, makes the
  per-request `ResponseTranslator` that turns the provider's answer (JSON, SSE, errors) into the
  client's API; same-API pairs have none and their responses never reach brightstaff.
- A `ClientApi` is what brightstaff knows of one client API: how to parse its bodies into a request
  object and which adapter serves each backend API. A backend API without an adapter is a 400 naming
  the provider, never a silent pass-through. Its `dialect` is the shape its clients read errors in
  (brightstaff's own refusals and translated provider errors alike).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

from brightstaff.config import Provider
from brightstaff.core.conversation import Conversation
from brightstaff.core.errors import Dialect
from brightstaff.core.outcome import ResponseTranslator, UpstreamRequest

ClientApiName = Literal["chat", "messages", "responses"]


class ClientRequest(Protocol):
    """What the request handler reads of any parsed client request."""

    @property
    def model(self) -> str: ...

    @property
    def stream(self) -> bool: ...

    @property
    def conversation(self) -> Conversation: ...


R = TypeVar("R", bound=ClientRequest)


@dataclass(frozen=True, slots=True)
class Adapter(Generic[R]):
    name: str  # "<client>_<backend>", the module that implements it
    request: Callable[[R, Provider, str], UpstreamRequest]
    response: Callable[[R, Provider], ResponseTranslator] | None = None


@dataclass(frozen=True, slots=True)
class ClientApi(Generic[R]):
    name: ClientApiName
    parse: Callable[[bytes], R]  # raises ClientError (400) for a body this API does not accept
    adapters: Mapping[str, Adapter[R]]  # by the provider's backend API (`Provider.api`)
    dialect: Dialect = "openai"  # the error shape its clients read
