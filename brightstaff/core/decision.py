"""Affinity decisions as plain data, and the pure rules that turn a pin or a route choice into one."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from brightstaff.config import Config, Provider
from brightstaff.pins.base import Pin
from brightstaff.routing.base import RouteChoice


class Affinity(StrEnum):
    """What affinity did for a request (the `x-brightstaff-affinity` response header)."""

    NONE = "none"  # no affinity header: routed fresh
    PINNED = "pinned"  # a live pin answered; the router did not run
    NEW = "new"  # first request of this id: routed, and the choice is now pinned
    REPINNED = "repinned"  # the pinned provider left the config: routed again and pinned anew
    UNPINNED = "unpinned"  # the router fell back; served with the default but not pinned


@dataclass(frozen=True, slots=True)
class Decision:
    provider: Provider
    route: str | None  # routing preference name, None for the default model
    affinity: Affinity
    reason: str  # "preference" | "default" | "fallback" | "pinned" | "explicit"


def pinned_provider(pin: Pin | None, config: Config) -> Provider | None:
    """The provider a pin names, if the pin is live and the provider is still configured."""
    if pin is None:
        return None
    return config.provider(pin.provider)


def from_pin(provider: Provider, pin: Pin) -> Decision:
    return Decision(provider=provider, route=pin.route, affinity=Affinity.PINNED, reason="pinned")


def from_choice(choice: RouteChoice, config: Config, affinity: Affinity) -> Decision:
    """A router's choice as a decision; an unknown provider name falls back to the default model."""
    provider = config.provider(choice.provider)
    if provider is None:
        return Decision(
            config.default_provider,
            None,
            Affinity.UNPINNED if affinity != Affinity.NONE else affinity,
            "fallback",
        )
    if choice.reason == "fallback" and affinity != Affinity.NONE:
        affinity = Affinity.UNPINNED
    return Decision(provider=provider, route=choice.route, affinity=affinity, reason=choice.reason)


def should_pin(decision: Decision) -> bool:
    """A router failure is served but never pinned: the next request gets a fresh chance."""
    return decision.affinity in (Affinity.NEW, Affinity.REPINNED) and decision.reason != "fallback"
