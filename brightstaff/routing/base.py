"""The Router interface every routing strategy implements, and the choice it returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from brightstaff.core.conversation import Conversation


@dataclass(frozen=True, slots=True)
class RouteChoice:
    """Where a router sends a conversation.

    `reason` is "preference" when a routing preference matched, "default" when none matched well
    enough, and "fallback" when the router itself failed (a fallback choice is never pinned).
    """

    provider: str  # a configured provider name
    route: str | None  # the matched routing preference, None for the default
    reason: Literal["preference", "default", "fallback"]
    score: float = 0.0


class Router(Protocol):
    """Picks a provider for a conversation (from any client API). Implementations must not raise."""

    name: str

    async def route(self, conversation: Conversation) -> RouteChoice: ...


@runtime_checkable
class Closeable(Protocol):
    """A router holding resources (an HTTP connection pool): the app closes it on shutdown."""

    async def close(self) -> None: ...
