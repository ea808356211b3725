"""Credentials per backend key header: the provider's key set, every client key removed, or passthrough."""

from __future__ import annotations

from typing import Any

import pytest

from brightstaff.config import Provider, parse_config
from brightstaff.providers.credentials import API_KEY, BEARER, X_API_KEY, KeyHeader, credential_headers


def provider(**fields: Any) -> Provider:
    entry = {"model": "x/m", "base_url": "http://127.0.0.1:1/v1", **fields}
    return parse_config({"model_providers": [entry]}, env={"KEY": "k-1"}).providers[0]


@pytest.mark.parametrize(
    ("header", "fields", "expected"),
    [
        (BEARER, {"access_key": "$KEY"}, ((("authorization", "Bearer k-1"),), ("x-api-key", "api-key"))),
        (X_API_KEY, {"access_key": "$KEY"}, ((("x-api-key", "k-1"),), ("authorization", "api-key"))),
        (API_KEY, {"access_key": "$KEY"}, ((("api-key", "k-1"),), ("authorization", "x-api-key"))),
        (BEARER, {}, ((), ("authorization", "x-api-key", "api-key"))),
        (X_API_KEY, {"access_key": "$KEY", "passthrough_auth": True}, ((), ())),
    ],
    ids=["bearer", "x-api-key", "azure api-key", "no key", "passthrough"],
)
def test_credential_headers(header: KeyHeader, fields: dict[str, Any], expected: object) -> None:
    assert credential_headers(provider(**fields), header) == expected
