"""Affinity from what agents already send: the sources in order, subagents, validation, tenant scoping,
the recorded harness requests (fixtures/harness_identity.yaml) and the provider cache key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from brightstaff.config.model import AFFINITY_SOURCES, AffinitySettings, AffinitySource, SubagentPinning
from brightstaff.core.affinity_sources import (
    HARNESS_HEADERS,
    BodyIds,
    Resolution,
    anthropic_session,
    body_ids,
    provider_cache_key,
    resolve,
)
from brightstaff.core.errors import ClientError
from brightstaff.core.json_body import split_object
from brightstaff.core.request import RequestFacts

HARNESSES = yaml.safe_load((Path(__file__).parent / "fixtures" / "harness_identity.yaml").read_text())
ALL = AffinitySettings(sources=AFFINITY_SOURCES)
SESSION = "6f1c2a8e-9c1b-4d2e-8f3a-0b1c2d3e4f5a"


def facts(headers: dict[str, str] | None = None, *, tenant: str | None = None, **extra: Any) -> RequestFacts:
    headers = headers or {}
    affinity = headers.get("x-model-affinity")
    identity = tuple((k, v) for k, v in headers.items() if k in HARNESS_HEADERS)
    return RequestFacts(
        method="POST", path="/v1/messages", affinity=affinity, tenant=tenant, identity_headers=identity, **extra
    )


def resolved(
    request: RequestFacts, body: dict[str, Any] | None = None, settings: AffinitySettings = ALL, **kw: Any
) -> Resolution:
    ids = body_ids(split_object(orjson.dumps(body or {})))
    return resolve(
        request, ids, settings, header="x-model-affinity", tenant_header=kw.get("tenant_header"), max_length=128
    )


RECORDED = [
    (f"{harness}: {request['name']}", request) for harness, entry in HARNESSES.items() for request in entry["requests"]
]


@pytest.mark.parametrize("request_", [r for _, r in RECORDED], ids=[name for name, _ in RECORDED])
@pytest.mark.parametrize("subagents", ["share", "own"])
def test_recorded_harness_requests(request_: dict[str, Any], subagents: SubagentPinning) -> None:
    settings = AffinitySettings(sources=AFFINITY_SOURCES, subagents=subagents)
    got = resolved(facts(request_.get("headers")), request_.get("body"), settings)
    expect = request_["expect"]
    assert (got.source, got.key) == (expect["source"], expect[subagents])
    assert [source for source, _ in got.skipped] == expect.get("skipped", [])


def test_every_harness_records_its_origin() -> None:
    for harness, entry in HARNESSES.items():
        assert entry["origin"], harness
        for origin in entry["origin"]:
            assert {"repo", "path", "saw"} <= set(origin), (harness, origin)


def test_the_default_reads_the_configured_header_only() -> None:
    assert AffinitySettings().sources == ("header",)
    harness = facts({"x-claude-code-session-id": SESSION, "session-id": SESSION})
    assert resolved(harness, {"prompt_cache_key": "k"}, AffinitySettings()) == Resolution(None)
    assert resolved(facts({"x-model-affinity": "run-1"}), None, AffinitySettings()) == Resolution("run-1", "header")


def test_sources_are_tried_in_the_configured_order() -> None:
    both = facts({"x-model-affinity": "run-1", "x-claude-code-session-id": SESSION})
    harness_first = AffinitySettings(sources=("claude-code", "header"))
    assert resolved(both, None, harness_first) == Resolution(SESSION, "claude-code")
    assert resolved(both, None, AffinitySettings(sources=("header", "claude-code"))).source == "header"


def test_an_invalid_explicit_header_is_still_refused() -> None:
    with pytest.raises(ClientError) as caught:
        resolved(facts({"x-model-affinity": "has space", "x-claude-code-session-id": SESSION}))
    assert (caught.value.status, caught.value.code) == (400, "invalid_affinity_id")


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ({"x-claude-code-session-id": "a b"}, None, "may contain only"),
        ({"session-id": "x" * 200}, None, "at most 128"),
        ({"x-session-affinity": "ses_1", "x-parent-session-id": "bad|id"}, None, "may contain only"),
        ({}, {"prompt_cache_key": ""}, "must not be empty"),
    ],
    ids=["claude-code", "codex", "opencode parent", "prompt-cache-key"],
)
def test_an_invalid_implicit_id_is_skipped_with_its_reason(
    headers: dict[str, str], body: dict[str, Any] | None, reason: str
) -> None:
    got = resolved(facts(headers), body)
    assert got.key is None and len(got.skipped) == 1 and reason in got.skipped[0][1]


def test_a_harness_header_sent_twice_is_skipped() -> None:
    twice = RequestFacts(
        method="POST", path="/", identity_headers=(("x-claude-code-session-id", "a"), ("x-claude-code-session-id", "b"))
    )
    got = resolved(twice, {"metadata": {"user_id": f'{{"session_id":"{SESSION}"}}'}})
    assert got.skipped == (("claude-code", "x-claude-code-session-id sent more than once"),)
    assert got.source == "anthropic-metadata"


def test_implicit_ids_are_scoped_by_tenant_like_the_header() -> None:
    got = resolved(facts({"x-claude-code-session-id": SESSION}, tenant="team-a"), tenant_header="x-tenant")
    assert got == Resolution(f"team-a|{SESSION}", "claude-code")
    with pytest.raises(ClientError) as caught:
        resolved(facts({"x-claude-code-session-id": SESSION}, tenant="bad tenant"), tenant_header="x-tenant")
    assert caught.value.code == "invalid_tenant"


def test_own_subagent_pins_never_collide_with_the_session_pin() -> None:
    own = AffinitySettings(sources=("claude-code",), subagents="own")
    parent = resolved(facts({"x-claude-code-session-id": SESSION}), None, own).key
    child = resolved(facts({"x-claude-code-session-id": SESSION, "x-claude-code-agent-id": "a1"}), None, own).key
    assert parent == SESSION and child == f"{SESSION}/a1"


def test_codex_review_and_compact_calls_share_the_session() -> None:
    headers = {"session-id": SESSION, "thread-id": SESSION, "x-openai-subagent": "compact"}
    own = AffinitySettings(sources=("codex",), subagents="own")
    assert resolved(facts(headers), None, own).key == SESSION


@pytest.mark.parametrize(
    ("user_id", "session"),
    [
        (f'{{"device_id":"d","account_uuid":"","session_id":"{SESSION}"}}', SESSION),
        (f"user_abc123_account__session_{SESSION}", SESSION),
        (f"user_abc123_account_{SESSION}_session_{SESSION}", SESSION),
        ("user-42", None),
        ("someone@example.com", None),
        ('{"session_id": 5}', None),
        ("{not json", None),
    ],
)
def test_the_session_part_of_metadata_user_id(user_id: str, session: str | None) -> None:
    assert anthropic_session(user_id) == session


def test_body_ids_read_strings_only() -> None:
    assert body_ids(split_object(b'{"prompt_cache_key":"k","metadata":{"user_id":"u"}}')) == BodyIds("k", "u")
    assert body_ids(split_object(b'{"prompt_cache_key":5,"metadata":[1]}')) == BodyIds()
    assert body_ids(split_object(b'{"metadata":{"user_id":7}}')) == BodyIds()


def test_every_source_is_named_for_the_response_header() -> None:
    named: set[AffinitySource] = set()
    for request in (r for _, r in RECORDED):
        got = resolved(facts(request.get("headers")), request.get("body"))
        assert got.source is not None
        named.add(got.source)
    assert named == set(AFFINITY_SOURCES)


def test_provider_cache_key_is_a_keyed_hash_of_the_pin_key() -> None:
    key = provider_cache_key("team-a|run-42")
    assert key.startswith("bsk_") and len(key) == 36 and "run-42" not in key
    assert key == provider_cache_key("team-a|run-42")  # stable: every replica derives the same
    assert key != provider_cache_key("team-b|run-42")  # tenant-scoped like the pin
    assert provider_cache_key("team-a|run-42", "s3cret") != key  # a secret salt changes every key
    assert provider_cache_key("team-a|run-42", "s3cret") == provider_cache_key("team-a|run-42", "s3cret")
