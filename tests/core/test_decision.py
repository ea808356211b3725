"""Every decision rule as a table: named facts in, the decision (or refusal) out. No I/O, no store, no router."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from seed_data import SEED_ENV, seed_config_data

from brightstaff.config import Config, Provider, parse_config
from brightstaff.core import decision as rules
from brightstaff.core.decision import Affinity, Decision, Pin, RouteChoice
from brightstaff.core.errors import ClientError

CONFIG = parse_config(seed_config_data(), SEED_ENV)
MINI, BIG, CODE = "openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-sonnet-4-20250514"


def provider(name: str) -> Provider:
    found = CONFIG.provider(name)
    assert found is not None
    return found


def decision(name: str, route: str | None, affinity: Affinity, reason: str) -> Decision:
    return Decision(provider(name), route, affinity, reason)  # type: ignore[arg-type]


CODE_CHOICE = RouteChoice(CODE, "code_generation", "preference", 0.9)
NEW_CODE = decision(CODE, "code_generation", Affinity.NEW, "preference")


@dataclass(frozen=True)
class Case:
    name: str
    rule: Callable[[Config], object]
    expected: object


CASES = [
    # explicit provider/model
    Case("plain model name is routed", lambda c: rules.explicit("gpt-4o", c), None),
    Case("explicit provider/model", lambda c: rules.explicit(BIG, c), decision(BIG, None, Affinity.NONE, "explicit")),
    # pins
    Case("no pin", lambda c: rules.pinned_provider(None, c), None),
    Case("pin hit", lambda c: rules.pinned_provider(Pin(BIG, "complex_reasoning", 1.0), c), provider(BIG)),
    Case("pinned provider removed", lambda c: rules.pinned_provider(Pin("gone/model", None, 1.0), c), None),
    Case(
        "pin becomes a pinned decision",
        lambda c: rules.from_pin(provider(BIG), Pin(BIG, "complex_reasoning", 1.0)),
        decision(BIG, "complex_reasoning", Affinity.PINNED, "pinned"),
    ),
    Case("first request of an id is new", lambda c: rules.routed_affinity(None), Affinity.NEW),
    Case("stale pin: repinned", lambda c: rules.routed_affinity(Pin("gone/model", None, 1.0)), Affinity.REPINNED),
    # router choices
    Case(
        "choice without affinity",
        lambda c: rules.from_choice(CODE_CHOICE, c, Affinity.NONE),
        decision(CODE, "code_generation", Affinity.NONE, "preference"),
    ),
    Case("choice of a new id", lambda c: rules.from_choice(CODE_CHOICE, c, Affinity.NEW), NEW_CODE),
    Case(
        "router failed: unpinned default",
        lambda c: rules.from_choice(RouteChoice(MINI, None, "fallback"), c, Affinity.NEW),
        decision(MINI, None, Affinity.UNPINNED, "fallback"),
    ),
    Case(
        "router failed without affinity stays none",
        lambda c: rules.from_choice(RouteChoice(MINI, None, "fallback"), c, Affinity.NONE),
        decision(MINI, None, Affinity.NONE, "fallback"),
    ),
    Case(
        "router named an unknown provider: default, unpinned",
        lambda c: rules.from_choice(RouteChoice("nope/x", "r", "preference"), c, Affinity.REPINNED),
        decision(MINI, None, Affinity.UNPINNED, "fallback"),
    ),
    Case(
        "no preference matched: default, still pinned",
        lambda c: rules.should_pin(rules.from_choice(RouteChoice(MINI, None, "default"), c, Affinity.NEW)),
        True,
    ),
    # what is pinned
    Case("new is pinned", lambda c: rules.should_pin(NEW_CODE), True),
    Case("repinned is pinned", lambda c: rules.should_pin(decision(CODE, None, Affinity.REPINNED, "default")), True),
    Case(
        "unpinned is not pinned", lambda c: rules.should_pin(decision(MINI, None, Affinity.UNPINNED, "fallback")), False
    ),
    Case(
        "none is not pinned",
        lambda c: rules.should_pin(decision(CODE, "code_generation", Affinity.NONE, "preference")),
        False,
    ),
    Case(
        "pinned is not pinned again", lambda c: rules.should_pin(decision(CODE, None, Affinity.PINNED, "pinned")), False
    ),
    # concurrent first requests
    Case(
        "follower of a pinned leader",
        lambda c: rules.follow(NEW_CODE),
        decision(CODE, "code_generation", Affinity.PINNED, "pinned"),
    ),
    Case(
        "follower of an unpinned leader stays unpinned",
        lambda c: rules.follow(decision(MINI, None, Affinity.UNPINNED, "fallback")),
        decision(MINI, None, Affinity.UNPINNED, "fallback"),
    ),
    # claims
    Case("claim won", lambda c: rules.after_claim(NEW_CODE, Pin(CODE, "code_generation", 1.0), c), (NEW_CODE, False)),
    Case(
        "claim lost: follow the winner",
        lambda c: rules.after_claim(NEW_CODE, Pin(BIG, "complex_reasoning", 1.0), c),
        (decision(BIG, "complex_reasoning", Affinity.PINNED, "pinned"), True),
    ),
    Case(
        "claim lost to a provider this config lacks: serve our own choice",
        lambda c: rules.after_claim(NEW_CODE, Pin("other/model", None, 1.0), c),
        (NEW_CODE, False),
    ),
    Case(
        "claim failed: unpinned",
        lambda c: rules.claim_failed(NEW_CODE),
        decision(CODE, "code_generation", Affinity.UNPINNED, "preference"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule(case: Case) -> None:
    assert case.rule(CONFIG) == case.expected


def test_unknown_explicit_provider_is_a_404_listing_the_configured_ones() -> None:
    with pytest.raises(ClientError) as caught:
        rules.explicit("openai/gpt-5-nope", CONFIG)
    assert caught.value.status == 404
    assert caught.value.code == "model_not_found"
    assert BIG in caught.value.message
