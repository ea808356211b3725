"""Affinity id validation and tenant-scoped pin keys."""

from __future__ import annotations

import pytest

from brightstaff.core.affinity import pin_key
from brightstaff.core.errors import ClientError


def key(affinity: str | None, tenant: str | None = None, max_length: int = 128) -> str | None:
    return pin_key(affinity, tenant, header="x-model-affinity", tenant_header="x-tenant", max_length=max_length)


def test_absent_header_means_no_affinity() -> None:
    assert key(None) is None


@pytest.mark.parametrize(
    "value", ["a1b2c3d4", "6f1c2a8e-9c1b-4d2e-8f3a-0b1c2d3e4f5a", "team/agent:7", "run_42.retry", "tok+en=="]
)
def test_common_id_shapes_are_accepted(value: str) -> None:
    assert key(value) == value


def test_surrounding_whitespace_is_ignored() -> None:
    assert key("  abc  ") == "abc"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("has space", "may contain only"),
        ('quote"', "may contain only"),
        ("tab\there", "may contain only"),
        ("ünïcode", "may contain only"),
        ("a|b", "may contain only"),
    ],
)
def test_bad_ids_are_400(value: str, reason: str) -> None:
    with pytest.raises(ClientError) as info:
        key(value)
    assert info.value.status == 400
    assert info.value.code == "invalid_affinity_id"
    assert reason in info.value.message
    assert "x-model-affinity" in info.value.message


def test_length_limit_is_enforced() -> None:
    assert key("a" * 16, max_length=16) == "a" * 16
    with pytest.raises(ClientError, match="at most 16 characters"):
        key("a" * 17, max_length=16)


def test_tenant_scopes_the_key() -> None:
    assert key("s1", "acme") == "acme|s1"
    assert key("s1", "globex") != key("s1", "acme")
    assert key("s1", None) == "s1"


def test_bad_tenant_is_400_naming_the_tenant_header() -> None:
    with pytest.raises(ClientError) as info:
        key("s1", "bad tenant")
    assert info.value.code == "invalid_tenant"
    assert "x-tenant" in info.value.message


@pytest.mark.parametrize(
    ("repeated", "tenant_repeated", "code"),
    [(True, False, "invalid_affinity_id"), (False, True, "invalid_tenant")],
    ids=["affinity twice", "tenant twice"],
)
def test_a_header_sent_twice_is_refused(repeated: bool, tenant_repeated: bool, code: str) -> None:
    with pytest.raises(ClientError) as caught:
        pin_key(
            "a1",
            "t1",
            header="x-model-affinity",
            tenant_header="x-tenant",
            max_length=128,
            repeated=repeated,
            tenant_repeated=tenant_repeated,
        )
    assert (caught.value.status, caught.value.code) == (400, code)
    assert "must be sent once" in caught.value.message
