"""Affinity ids: validation and the pin key they map to (scoped by tenant when one is configured).

Invariant: a key returned here contains only the characters `_ID_CHARS` allows plus one '|' between
tenant and id, so keys from different tenants can never collide and are safe in logs and Redis.
"""

from __future__ import annotations

import re

from brightstaff.core.errors import invalid_affinity_id, invalid_tenant

# UUIDs, ULIDs, "run-42", "team/agent:7", base64url tokens: all fit; spaces, quotes and control bytes do not.
_ID_CHARS = re.compile(r"^[A-Za-z0-9._:/+=@-]+$")


def check_id(value: str, max_length: int) -> str | None:
    """Return why `value` is not a valid id, or None when it is."""
    if not value:
        return "must not be empty"
    if len(value) > max_length:
        return f"must be at most {max_length} characters, got {len(value)}"
    if not _ID_CHARS.match(value):
        return "may contain only letters, digits and . _ : / + = @ -"
    return None


def pin_key(
    affinity: str | None,
    tenant: str | None,
    *,
    header: str,
    tenant_header: str | None,
    max_length: int,
    repeated: bool = False,
    tenant_repeated: bool = False,
) -> str | None:
    """Validate the affinity id (and tenant) and return the pin key, or None when no affinity was asked.

    Raises ClientError (400) for an id or tenant that does not validate, or a header sent more than once
    (which id would it be? HTTP joins repeated values with commas; a proxy may keep either).
    """
    if affinity is None:
        return None
    if repeated:
        raise invalid_affinity_id(header, "must be sent once, got several values")
    value = affinity.strip()
    reason = check_id(value, max_length)
    if reason:
        raise invalid_affinity_id(header, reason)
    return scoped(value, tenant, tenant_header=tenant_header, max_length=max_length, tenant_repeated=tenant_repeated)


def scoped(
    value: str, tenant: str | None, *, tenant_header: str | None, max_length: int, tenant_repeated: bool = False
) -> str:
    """The pin key of a valid id: the id itself, or `<tenant>|<id>` when a tenant is configured and sent.

    Raises ClientError (400) for a tenant that does not validate or was sent more than once.
    """
    if tenant is None:
        return value
    if tenant_repeated:
        raise invalid_tenant(tenant_header or "tenant", "must be sent once, got several values")
    scope = tenant.strip()
    reason = check_id(scope, max_length)
    if reason:
        raise invalid_tenant(tenant_header or "tenant", reason)
    return f"{scope}|{value}"
