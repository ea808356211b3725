"""Affinity decisions as plain data, and every rule that turns facts into one, as pure functions.

The request handler gathers the facts (the pin the store holds, the router's choice, the pin that won a
claim) and sequences the I/O; which provider serves a request, what the response says about affinity
and whether the decision is pinned is decided here, and nowhere else.

Invariants:
- A decision always names a configured provider; a pin or a router choice naming one that left the
  config never reaches a client (the request is routed again, or served by the default).
- Only a routed decision (`new` or `repinned`) that did not come from a router failure is pinned.
- `unpinned` marks a request served without affinity although it asked for it (router failure, pin
  store failure); the session's next request gets a fresh chance.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Literal

from brightstaff.config.model import Config, Provider
from brightstaff.core.conversation import Conversation
from brightstaff.core.errors import unknown_model


class Affinity(StrEnum):
    """What affinity did for a request (the `x-brightstaff-affinity` response header)."""

    NONE = "none"  # no affinity header: routed fresh
    PINNED = "pinned"  # a live pin answered; the router did not run
    NEW = "new"  # first request of this id: routed, and the choice is now pinned
    REPINNED = "repinned"  # the pinned provider left the config: routed again and pinned anew
    UNPINNED = "unpinned"  # asked for affinity, served without it (router or pin store failed)


# Why a router chose its provider: a preference matched, none matched well enough, or it failed.
ChoiceReason = Literal["preference", "default", "fallback"]
# How clearly the router's choice beat the runner-up (the decision log and metrics can show it).
Confidence = Literal["high", "medium", "low"]
# Why a decision names its provider: a router's reason, a pin, or the client's explicit provider/model.
Reason = Literal["preference", "default", "fallback", "pinned", "explicit"]


@dataclass(frozen=True, slots=True)
class Pin:
    """The decision pinned under an affinity key."""

    provider: str  # configured provider name, e.g. "anthropic/claude-sonnet-4-20250514"
    route: str | None  # the routing preference that chose it, None for the default model
    pinned_at: float  # wall-clock seconds, for operators


@dataclass(frozen=True, slots=True)
class RouteChoice:
    """Where a router sends a conversation (a fallback choice is never pinned)."""

    provider: str  # a configured provider name
    route: str | None  # the matched routing preference, None for the default
    reason: ChoiceReason
    score: float = 0.0
    confidence: Confidence | None = None  # None: the router does not say (the LLM router, a failure)


@dataclass(frozen=True, slots=True)
class Decision:
    provider: Provider
    route: str | None  # routing preference name, None for the default model
    affinity: Affinity
    reason: Reason
    confidence: Confidence | None = None  # how sure the router was, when it ran and says (logs, metrics)

    @property
    def route_label(self) -> str:
        """The route as clients, logs, metrics and traces see it (`x-brightstaff-route`): the routing
        preference's name, else why there is none (`default`, `fallback`, `pinned`, `explicit`)."""
        return self.route or self.reason


def explicit(model: str, config: Config) -> Decision | None:
    """A `model_aliases` alias or a `provider/model` request goes to that provider, unrouted and unpinned; any
    other model name is routed. A `vendor/model` naming no configured provider goes to the vendor's wildcard
    provider (`vendor/*`), asking it for that model.

    Raises ClientError (404) when the named provider is not configured.
    """
    target = config.aliases.get(model)
    if target is not None:
        provider = config.provider(target)  # the parser resolved every alias to a configured provider
    elif "/" not in model:
        return None
    else:
        provider = config.provider(model)
        vendor, _, name = model.partition("/")
        wildcard = config.wildcard_for(vendor) if provider is None and name else None
        if wildcard is not None:
            provider = replace(wildcard, model=name)
    if provider is None or provider.wildcard:
        raise unknown_model(model, [p.name for p in config.providers])
    return Decision(provider, None, Affinity.NONE, "explicit")


def with_requested_model(decision: Decision, model: str) -> Decision:
    """A decision for a wildcard provider (`vendor/*`, routed to as the default or through a pin) asks it for
    the model the client named; any other decision is returned as it is."""
    if not decision.provider.wildcard:
        return decision
    return replace(decision, provider=replace(decision.provider, model=model))


def routing_view(conversation: Conversation, route_on_user_only: bool) -> Conversation:
    """What the router reads. With `routing.route_on_user_only`, a request whose latest turn is not an ask
    (a tool result, an assistant continuation, a harness reminder) is routed as of its last ask: every step
    of one tool loop then shows the router the same conversation, so a router that answers the same input
    alike repeats the loop's first choice without any state. With affinity the session's pin answers such
    a request before the router is asked; this view matters when there is no pin (no affinity id, the
    first request of an id, an expired pin)."""
    if not route_on_user_only:
        return conversation
    last = conversation.last_ask_index()
    if last < 0 or last == len(conversation) - 1:
        return conversation
    return Conversation(conversation.turns[: last + 1])


def pinned_provider(pin: Pin | None, config: Config) -> Provider | None:
    """The provider a pin names, if the pin is live and the provider is still configured."""
    if pin is None:
        return None
    return config.provider(pin.provider)


def from_pin(provider: Provider, pin: Pin) -> Decision:
    return Decision(provider=provider, route=pin.route, affinity=Affinity.PINNED, reason="pinned")


def routed_affinity(pin: Pin | None) -> Affinity:
    """The affinity of a routed request with an id: `repinned` if a stale pin was there, else `new`."""
    return Affinity.REPINNED if pin is not None else Affinity.NEW


def from_choice(choice: RouteChoice, config: Config, affinity: Affinity) -> Decision:
    """A router's choice as a decision; an unknown provider name falls back to the default model."""
    provider = config.provider(choice.provider)
    if provider is None:
        fallback = Affinity.NONE if affinity == Affinity.NONE else Affinity.UNPINNED
        return Decision(config.default_provider, None, fallback, "fallback")
    if choice.reason == "fallback" and affinity != Affinity.NONE:
        affinity = Affinity.UNPINNED
    return Decision(provider, choice.route, affinity, choice.reason, choice.confidence)


def should_pin(decision: Decision) -> bool:
    """A router failure is served but never pinned: the next request gets a fresh chance."""
    return decision.affinity in (Affinity.NEW, Affinity.REPINNED) and decision.reason != "fallback"


def follow(leader: Decision) -> Decision:
    """A concurrent first request of the same id, after its leader decided: the leader's provider.

    It is `pinned` (it did not route) unless the leader's decision was not pinned either.
    """
    if leader.affinity == Affinity.UNPINNED:
        return leader
    return Decision(leader.provider, leader.route, Affinity.PINNED, "pinned")


def after_claim(decision: Decision, holder: Pin, config: Config) -> tuple[Decision, bool]:
    """The decision once the store answered a claim with the pin that holds; True when another writer won.

    The earlier writer's pin wins (every replica then serves the same provider), unless it names a
    provider this replica's config lacks: then this replica serves its own choice.
    """
    if holder.provider == decision.provider.name:
        return decision, False
    winner = config.provider(holder.provider)
    if winner is None:
        return decision, False
    return Decision(winner, holder.route, Affinity.PINNED, "pinned"), True


def claim_failed(decision: Decision) -> Decision:
    """The store could not record the pin: serve the routed choice, marked as not pinned."""
    return Decision(decision.provider, decision.route, Affinity.UNPINNED, decision.reason, decision.confidence)
