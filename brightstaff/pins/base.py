"""The PinStore interface and its errors; every backend passes tests/pins/pin_store_contract.py.

What a store holds is a `brightstaff.core.decision.Pin` (plain data, defined with the rules that use it).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from brightstaff.core.decision import Pin


class PinStoreError(Exception):
    """A pin store operation failed (backend down, slow or refusing). Callers serve without affinity."""


class PinStoreUnavailable(PinStoreError):
    """The backend is known to be down (circuit open): the call was refused without waiting on it."""


class PinStore(Protocol):
    """Affinity pins with a bounded lifetime.

    - `get` returns the live pin or None. In sliding mode a hit restarts the TTL.
    - `claim` stores `pin` only if the key holds no live pin, and returns the pin that holds afterwards:
      the caller's on success, the earlier writer's otherwise. This makes the first pin race-safe.
    - `replace` overwrites unconditionally (used when a pinned provider left the config).
    - `size` is the number of pins held, or -1 when the backend cannot count them cheaply (shared stores).
    - Failures raise `PinStoreError` (remote backends); the memory store never fails.
    """

    async def get(self, key: str) -> Pin | None: ...

    async def claim(self, key: str, pin: Pin) -> Pin: ...

    async def replace(self, key: str, pin: Pin) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def size(self) -> int: ...

    async def close(self) -> None: ...


@runtime_checkable
class Probeable(Protocol):
    """A remote store that can check its backend once at start-up (logs and counts; never raises)."""

    async def probe(self) -> bool: ...
