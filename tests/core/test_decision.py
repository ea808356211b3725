"""Every decision rule as a table: named facts in, the decision (or refusal) out. No I/O, no store, no router."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
from seed_data import SEED_ENV, seed_config_data

from brightstaff.config import Config, Provider, parse_config
from brightstaff.core import decision as rules
from brightstaff.core.conversation import Conversation, Turn
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


# Plano's names for a provider: aliases and wildcards (`model_aliases`, `vendor/*`), on their own config.
PLANO = parse_config(
    {
        "model_providers": [
            {"model": "openai/gpt-4o-mini", "default": True},
            {"model": "anthropic/claude-haiku-4-5"},
            {"model": "openai/*"},
            {"model": "chatgpt/*"},
        ],
        "model_aliases": {"team.small": {"target": "claude-haiku-4-5"}, "openai/gpt-4o": {"target": "gpt-4o-mini"}},
    },
    env={},
)
HAIKU = "anthropic/claude-haiku-4-5"


def plano_provider(name: str, model: str | None = None) -> Provider:
    found = PLANO.provider(name)
    assert found is not None
    return found if model is None else replace(found, model=model)


def explicit(provider: Provider) -> Decision:
    return Decision(provider, None, Affinity.NONE, "explicit")


PLANO_CASES = [
    Case("an alias goes to its target", lambda c: rules.explicit("team.small", c), explicit(plano_provider(HAIKU))),
    Case(
        "an alias spelled like a provider wins",
        lambda c: rules.explicit("openai/gpt-4o", c),
        explicit(plano_provider("openai/gpt-4o-mini")),
    ),
    Case("a plain name that is no alias is routed", lambda c: rules.explicit("team.large", c), None),
    Case(
        "a configured provider wins over the wildcard",
        lambda c: rules.explicit(MINI, c),
        explicit(plano_provider(MINI)),
    ),
    Case(
        "an unlisted model of a wildcard vendor: the wildcard, asked for that model",
        lambda c: rules.explicit("openai/o3", c),
        explicit(plano_provider("openai/*", "o3")),
    ),
    Case(
        "a model id with a slash after the vendor",
        lambda c: rules.explicit("openai/ft:gpt-4o/acme", c),
        explicit(plano_provider("openai/*", "ft:gpt-4o/acme")),
    ),
    Case(
        "a routed or pinned wildcard serves the model the client named",
        lambda c: rules.with_requested_model(
            Decision(plano_provider("chatgpt/*"), None, Affinity.PINNED, "pinned"), "gpt-5.2"
        ),
        Decision(plano_provider("chatgpt/*", "gpt-5.2"), None, Affinity.PINNED, "pinned"),
    ),
    Case(
        "any other decision keeps its provider's model",
        lambda c: rules.with_requested_model(explicit(plano_provider(HAIKU)), "gpt-5.2"),
        explicit(plano_provider(HAIKU)),
    ),
]


@pytest.mark.parametrize("case", PLANO_CASES, ids=[c.name for c in PLANO_CASES])
def test_plano_names_rule(case: Case) -> None:
    assert case.rule(PLANO) == case.expected


@pytest.mark.parametrize("model", ["openai/*", "anthropic/claude-opus-4", "openai/", "mistral/large"])
def test_names_no_provider_or_wildcard_serves_are_a_404(model: str) -> None:
    with pytest.raises(ClientError) as caught:
        rules.explicit(model, PLANO)
    assert caught.value.status == 404


def turns(*roles_and_texts: tuple[str, str]) -> Conversation:
    return Conversation(tuple(Turn(role, text) for role, text in roles_and_texts))  # type: ignore[arg-type]


ASK = ("user", "write a python function that parses dates")
CALL = ("assistant", "")
RESULT = ("tool", "ok: 3 files")
REMINDER = ("user", "<system-reminder>Todo list is empty.</system-reminder>\n")


@pytest.mark.parametrize(
    ("conversation", "on", "expected"),
    [
        (turns(ASK, CALL, RESULT), False, turns(ASK, CALL, RESULT)),
        (turns(ASK), True, turns(ASK)),
        (turns(ASK, CALL, RESULT), True, turns(ASK)),
        (turns(ASK, ("assistant", "Here is a first draft...")), True, turns(ASK)),
        (turns(ASK, CALL, RESULT, REMINDER), True, turns(ASK)),
        (turns(ASK, CALL, RESULT, ("user", "<system-reminder>x</system-reminder> now add tests")), True, None),
        (turns(("system", "be brief"), RESULT), True, turns(("system", "be brief"), RESULT)),
        (turns(ASK, CALL, ("user", "")), True, None),
    ],
    ids=[
        "off: the whole conversation",
        "a user turn: routed on itself",
        "a tool result: as of the last ask",
        "an assistant continuation: as of the last ask",
        "a harness reminder is not an ask",
        "a user turn with text besides a reminder is an ask",
        "no ask at all: the whole conversation",
        "a user turn without text (an image) is an ask",
    ],
)
def test_route_on_user_only_routes_as_of_the_last_ask(
    conversation: Conversation, on: bool, expected: Conversation | None
) -> None:
    assert rules.routing_view(conversation, on) == (conversation if expected is None else expected)
