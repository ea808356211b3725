"""The endpoint table: which paths brightstaff serves, with which method, and the 404/405 for the rest."""

from __future__ import annotations

import pytest

from brightstaff.core.errors import ClientError
from brightstaff.core.request import RequestFacts
from brightstaff.providers.endpoints import CHAT, COUNT_TOKENS, ENDPOINTS, MESSAGES, endpoint_for


@pytest.mark.parametrize(
    ("method", "path", "kind", "api"),
    [
        ("POST", "/v1/chat/completions", "generate", CHAT),
        ("POST", "/chat/completions", "generate", CHAT),
        ("POST", "/v1/chat/completions/", "generate", CHAT),
        ("POST", "/v1/chat/completions?api-version=1", "generate", CHAT),
        ("POST", "/v1/messages", "generate", MESSAGES),
        ("POST", "/v1/messages?beta=true", "generate", MESSAGES),
        ("POST", "/v1/messages/count_tokens", "count_tokens", COUNT_TOKENS),
        ("POST", "/v1/messages/count_tokens?beta=true", "count_tokens", COUNT_TOKENS),
        ("GET", "/v1/models", "models", None),
        ("GET", "/models", "models", None),
    ],
)
def test_served(method: str, path: str, kind: str, api: object) -> None:
    endpoint = endpoint_for(RequestFacts(method=method, path=path))
    assert endpoint.kind == kind
    assert endpoint.api is api


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("POST", "/v1/completions", 404, "not_found"),
        ("POST", "/", 404, "not_found"),
        ("GET", "/v1/chat/completions", 405, "method_not_allowed"),
        ("POST", "/v1/models", 405, "method_not_allowed"),
        ("GET", "/v1/messages", 405, "method_not_allowed"),
        ("GET", "/v1/messages/count_tokens", 405, "method_not_allowed"),
        ("POST", "/v1/messages/batches", 404, "not_found"),
    ],
)
def test_refused(method: str, path: str, status: int, code: str) -> None:
    with pytest.raises(ClientError) as caught:
        endpoint_for(RequestFacts(method=method, path=path))
    assert (caught.value.status, caught.value.code) == (status, code)


@pytest.mark.parametrize(("api", "client"), [(CHAT, "openai"), (MESSAGES, "anthropic"), (COUNT_TOKENS, "anthropic")])
def test_every_backend_api_a_client_api_lists_has_an_adapter_named_by_the_pair(api: object, client: str) -> None:
    assert isinstance(api, type(CHAT))
    for backend, adapter in api.adapters.items():
        assert adapter.name == f"{client}_{backend}"


def test_both_client_apis_reach_both_backend_apis_and_cross_pairs_translate_responses() -> None:
    for api in (CHAT, MESSAGES):
        assert set(api.adapters) == {"openai", "anthropic"}
        for backend, adapter in api.adapters.items():
            same = (api.dialect == "openai") == (backend == "openai")
            assert (adapter.response is None) == same


def test_errors_are_rendered_in_each_client_apis_dialect() -> None:
    assert (CHAT.dialect, MESSAGES.dialect, COUNT_TOKENS.dialect) == ("openai", "anthropic", "anthropic")


def test_count_tokens_answers_locally_for_backends_without_it() -> None:
    endpoint = ENDPOINTS["/v1/messages/count_tokens"]
    assert endpoint.local is not None
    assert set(COUNT_TOKENS.adapters) == {"anthropic"}
    assert endpoint.local(COUNT_TOKENS.parse(b'{"model":"m","messages":[{"role":"user","content":"abcd"}]}')) == (
        b'{"input_tokens":1}'
    )
