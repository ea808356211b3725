"""Asking brightstaff through each client API with its official SDK, as the e2e tests do.

`ask(api, stack, text, affinity)` sends one user turn through chat completions (openai SDK), Anthropic
Messages (anthropic SDK) or Responses (openai SDK) and returns what every test reads back: the model
the answer names, its text, and the response's `x-*` headers (the decision headers among them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from anthropic import Anthropic
from e2e_stack import Stack
from openai import OpenAI

Api = Literal["chat", "messages", "responses"]
APIS: tuple[Api, ...] = ("chat", "messages", "responses")

# Prompts the seed's routes tell apart: code generation (Claude), complex reasoning (gpt-4o), small talk
# (the default, gpt-4o-mini).
CODE = "Write a Python function that parses a CSV file and returns the rows as dicts."
ANALYSIS = "Explain step by step, with a detailed multi-step analysis, why the tradeoffs differ and which option wins."
SMALL = "hi there"

CLIENT_KEY = "client-own-key"  # what the clients authenticate with; no provider may ever see it
CLAUDE = "claude-sonnet-4-20250514"


@dataclass(frozen=True)
class Answer:
    model: str  # as the response body names it
    text: str
    headers: dict[str, str]  # the response's x-* headers, names lower-case

    @property
    def decision(self) -> tuple[str, str]:
        """(x-brightstaff-model, x-brightstaff-affinity)."""
        return self.headers["x-brightstaff-model"], self.headers["x-brightstaff-affinity"]


def _headers(affinity: str | None, extra: dict[str, str] | None) -> dict[str, str]:
    return {**({"X-Model-Affinity": affinity} if affinity else {}), **(extra or {})}


def openai_client(stack: Stack, affinity: str | None = None, headers: dict[str, str] | None = None) -> OpenAI:
    return OpenAI(
        base_url=f"{stack.base_url}/v1",
        api_key=CLIENT_KEY,
        max_retries=0,
        timeout=30,
        default_headers=_headers(affinity, headers),
    )


def anthropic_client(stack: Stack, affinity: str | None = None, headers: dict[str, str] | None = None) -> Anthropic:
    """The anthropic SDK's base URL is the listener itself: it adds `/v1/messages`."""
    return Anthropic(
        base_url=stack.base_url,
        api_key=CLIENT_KEY,
        max_retries=0,
        timeout=30,
        default_headers=_headers(affinity, headers),
    )


def x_headers(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-")}


def ask(
    api: Api,
    stack: Stack,
    text: str,
    affinity: str | None = None,
    *,
    model: str | None = None,
    headers: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> Answer:
    """One user turn through `api`; `model` is what the client asks for (each API's usual one by default),
    `body` more top-level fields for the request body (e.g. `prompt_cache_key`, `metadata`)."""
    if api == "messages":
        with anthropic_client(stack, affinity, headers) as claude:
            raw_message = claude.messages.with_raw_response.create(
                model=model or CLAUDE, max_tokens=256, messages=[{"role": "user", "content": text}], extra_body=body
            )
            message = raw_message.parse()
            said = "".join(block.text for block in message.content if block.type == "text")
            return Answer(message.model, said, x_headers(raw_message.headers))
    with openai_client(stack, affinity, headers) as client:
        if api == "responses":
            raw_response = client.responses.with_raw_response.create(
                model=model or "gpt-4o-mini", input=text, extra_body=body
            )
            response = raw_response.parse()
            return Answer(response.model, response.output_text, x_headers(raw_response.headers))
        raw = client.chat.completions.with_raw_response.create(
            model=model or "gpt-4o-mini", messages=[{"role": "user", "content": text}], extra_body=body
        )
        completion = raw.parse()
        return Answer(completion.model, completion.choices[0].message.content or "", x_headers(raw.headers))
