"""The Router interface every routing strategy implements; the `RouteChoice` it returns lives in core.decision."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from brightstaff.core.conversation import Conversation
from brightstaff.core.decision import RouteChoice


class Router(Protocol):
    """Picks a provider for a conversation (from any client API). Implementations must not raise."""

    name: str

    async def route(self, conversation: Conversation) -> RouteChoice: ...


@runtime_checkable
class Closeable(Protocol):
    """A router holding resources (an HTTP connection pool): the app closes it on shutdown."""

    async def close(self) -> None: ...
