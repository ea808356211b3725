"""The endpoint table: which paths brightstaff serves, with which method, and the 404/405 for the rest."""

from __future__ import annotations

import pytest

from brightstaff.core.errors import ClientError
from brightstaff.core.request import RequestFacts
from brightstaff.providers.endpoints import CHAT, endpoint_for


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("POST", "/v1/chat/completions", "generate"),
        ("POST", "/chat/completions", "generate"),
        ("POST", "/v1/chat/completions/", "generate"),
        ("POST", "/v1/chat/completions?api-version=1", "generate"),
        ("GET", "/v1/models", "models"),
        ("GET", "/models", "models"),
    ],
)
def test_served(method: str, path: str, kind: str) -> None:
    endpoint = endpoint_for(RequestFacts(method=method, path=path))
    assert endpoint.kind == kind
    assert endpoint.api is (CHAT if kind == "generate" else None)


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("POST", "/v1/completions", 404, "not_found"),
        ("POST", "/", 404, "not_found"),
        ("GET", "/v1/chat/completions", 405, "method_not_allowed"),
        ("POST", "/v1/models", 405, "method_not_allowed"),
    ],
)
def test_refused(method: str, path: str, status: int, code: str) -> None:
    with pytest.raises(ClientError) as caught:
        endpoint_for(RequestFacts(method=method, path=path))
    assert (caught.value.status, caught.value.code) == (status, code)


def test_every_backend_api_a_client_api_lists_has_an_adapter_named_by_the_pair() -> None:
    for backend, adapter in CHAT.adapters.items():
        assert adapter.name == f"openai_{backend}"
