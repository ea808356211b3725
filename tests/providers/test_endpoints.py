"""The endpoint table: which paths brightstaff serves, with which method, and the 404/405 for the rest."""

from __future__ import annotations

import dataclasses

import pytest

from brightstaff.config import parse_config
from brightstaff.config.model import ProviderApi
from brightstaff.core.errors import ClientError
from brightstaff.core.request import RequestFacts
from brightstaff.providers.endpoints import (
    CHAT,
    COUNT_TOKENS,
    ENDPOINTS,
    MESSAGES,
    RESPONSES,
    dialect_for,
    endpoint_for,
)


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
        ("POST", "/v1/responses", "generate", RESPONSES),
        ("POST", "/v1/responses?api-version=preview", "generate", RESPONSES),
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
        ("GET", "/v1/responses", 405, "method_not_allowed"),
        ("GET", "/v1/responses/resp_1", 404, "not_found"),
        ("POST", "/v1/responses/compact", 404, "not_found"),
    ],
)
def test_refused(method: str, path: str, status: int, code: str) -> None:
    with pytest.raises(ClientError) as caught:
        endpoint_for(RequestFacts(method=method, path=path))
    assert (caught.value.status, caught.value.code) == (status, code)


@pytest.mark.parametrize(
    ("api", "client"),
    [(CHAT, "openai"), (MESSAGES, "anthropic"), (COUNT_TOKENS, "anthropic")],
    ids=["chat", "messages", "count_tokens"],
)
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


def test_responses_errors_are_openai_shaped() -> None:
    assert RESPONSES.dialect == "openai"
    assert dialect_for(RequestFacts(method="POST", path="/v1/responses")) == "openai"


@pytest.mark.parametrize(
    ("model", "base_url", "api", "adapter"),
    [
        ("openai/gpt-5", "https://api.openai.com/v1", "openai", "responses_openai"),
        ("openai/gpt-5", "http://127.0.0.1:9/v1", "openai", "responses_openai"),
        ("azure_openai/gpt-5", "https://r.openai.azure.com/openai/v1", "openai", "responses_openai"),
        ("mistral/large", "https://api.mistral.ai/v1", "openai", "responses_chat"),
        ("ollama/llama3", "http://127.0.0.1:11434/v1", "openai", "responses_chat"),
        ("anthropic/claude", "https://api.anthropic.com/v1", "anthropic", "responses_anthropic"),
        ("openai/claude-behind-a-proxy", "https://proxy/v1", "anthropic", "responses_anthropic"),
    ],
)
def test_responses_pass_through_to_openai_native_backends_and_translate_for_the_rest(
    model: str, base_url: str, api: ProviderApi, adapter: str
) -> None:
    provider = dataclasses.replace(
        parse_config({"model_providers": [{"model": model, "base_url": base_url}]}, env={}).providers[0], api=api
    )
    chosen = RESPONSES.adapter_for(provider)
    assert chosen is not None and chosen.name == adapter
    assert (chosen.response is None) == (adapter == "responses_openai")


def test_chat_and_messages_pick_adapters_by_the_provider_api_as_before() -> None:
    provider = parse_config({"model_providers": [{"model": "openai/gpt-5"}]}, env={}).providers[0]
    assert CHAT.adapter_for(provider) is CHAT.adapters["openai"]
    assert MESSAGES.adapter_for(provider) is MESSAGES.adapters["openai"]
