"""`failure_mode: open` with brightstaff down: Envoy sends the default provider what it accepts (its own key,
read from the environment, and its own model), through the real Envoy to fakes that refuse anything else."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_stack import KEYS, Providers, Stack, e2e_config, launch, retire
from test_e2e_bad_input import GOOD, error_of, send

from brightstaff.demo.fake_anthropic import start_fake_anthropic
from brightstaff.demo.fake_backend import FakeBackend
from brightstaff.demo.fake_provider import start_fake_provider

pytestmark = pytest.mark.e2e

SONNET = "claude-sonnet-4-20250514"


def fail_open_stack(
    tmp: Path, monkeypatch: pytest.MonkeyPatch, openai: FakeBackend, anthropic: FakeBackend, default: str
) -> Stack:
    """A fail-open stack on `openai` and `anthropic`, `default` the default provider, brightstaff stopped.
    Envoy inherits the keys from the environment, as under `brightstaff up` (never from a file)."""
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    config = e2e_config(openai, anthropic, failure_mode="open")
    for provider in config["model_providers"]:
        provider["default"] = provider["model"] == default
    stack = launch(tmp, config)
    stack.stop_brightstaff()
    return stack


@pytest.fixture
def strict(providers: Providers) -> Iterator[tuple[FakeBackend, FakeBackend]]:
    """Fakes that require their key (401 without it) and, Anthropic's, serve only its own model (404)."""
    openai = providers.loop.run(start_fake_provider("openai", api_key=KEYS["OPENAI_API_KEY"]))
    anthropic = providers.loop.run(start_fake_anthropic(api_key=KEYS["ANTHROPIC_API_KEY"], models=(SONNET,)))
    yield openai, anthropic
    providers.loop.run(openai.close())
    providers.loop.run(anthropic.close())


def only_request(fake: FakeBackend, marker: str) -> Any:
    (request,) = [r for r in fake.received if marker in r.raw_body.decode(errors="replace")]
    return request


def test_fail_open_to_an_anthropic_default_sends_its_key_and_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strict: tuple[FakeBackend, FakeBackend]
) -> None:
    openai, anthropic = strict
    stack = fail_open_stack(tmp_path, monkeypatch, openai, anthropic, f"anthropic/{SONNET}")
    try:
        marker = f"fail-open-{uuid.uuid4()}"
        body = {"model": "my-team-alias", "max_tokens": 16, "messages": [{"role": "user", "content": marker}]}
        status, _, reply = send(
            stack,
            "POST",
            "/v1/messages",
            json.dumps(body).encode(),
            {"x-api-key": "sk-client-own-key", "x-brightstaff-provider": "provider_openai_gpt-4o"},
        )
        assert status == 200, reply
        assert json.loads(reply)["type"] == "message"
        received = only_request(anthropic, marker)
        assert received.headers["x-api-key"] == KEYS["ANTHROPIC_API_KEY"]  # the provider's, not the client's
        assert received.headers["anthropic-version"]
        assert received.body["model"] == SONNET
        assert not any(marker in r.raw_body.decode(errors="replace") for r in openai.received)

        # The default does not speak the Chat Completions API: a JSON 503 in OpenAI's shape, nothing sent.
        status, headers, reply = send(stack, "POST", "/v1/chat/completions", GOOD)
        assert status == 503
        assert headers["content-type"] == "application/json"
        assert "brightstaff" in error_of(reply)["message"]
    finally:
        retire(stack)


def test_fail_open_to_an_openai_default_sends_its_key_and_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strict: tuple[FakeBackend, FakeBackend]
) -> None:
    openai, anthropic = strict
    stack = fail_open_stack(tmp_path, monkeypatch, openai, anthropic, "openai/gpt-4o-mini")
    try:
        marker = f"fail-open-{uuid.uuid4()}"
        body = {"model": "client-model", "messages": [{"role": "user", "content": f"Write code {marker}"}]}
        status, _, reply = send(
            stack,
            "POST",
            "/v1/chat/completions",
            json.dumps(body).encode(),
            {"authorization": "Bearer sk-client-own-key"},
        )
        assert status == 200, reply
        assert json.loads(reply)["model"] == "gpt-4o-mini"
        received = only_request(openai, marker)
        assert received.headers["authorization"] == f"Bearer {KEYS['OPENAI_API_KEY']}"
        assert received.body["model"] == "gpt-4o-mini"
        assert not any(marker in r.raw_body.decode(errors="replace") for r in anthropic.received)
    finally:
        retire(stack)
