"""The demo's scenario: its config (brightstaff/demo/config.yaml) with its providers pointed at running fake
providers, and the client APIs its agent can talk through (light: the CLI reads them without the SDKs)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

# One fake provider per vendor serves every model of that vendor (both speak the OpenAI wire format).
DEMO_VENDORS: tuple[str, ...] = ("openai", "anthropic")

# The client APIs the demo agent speaks (agent_apis.py), how the demo names each, and the model the agent
# asks for there (behind brightstaff the router decides what serves it).
AgentApi = Literal["chat", "messages", "responses"]
AGENT_APIS: tuple[AgentApi, ...] = ("chat", "messages", "responses")
API_NAMES: dict[AgentApi, str] = {
    "chat": "chat completions (openai SDK)",
    "messages": "Anthropic Messages (anthropic SDK)",
    "responses": "OpenAI Responses (openai SDK)",
}
ASKED_MODELS: dict[AgentApi, str] = {
    "chat": "gpt-4o-mini",
    "messages": "claude-sonnet-4-20250514",
    "responses": "gpt-4o-mini",
}


@cache
def _template() -> dict[str, Any]:
    text = resources.files("brightstaff.demo").joinpath("config.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise TypeError("brightstaff/demo/config.yaml must hold a mapping")
    return data


def demo_config(
    ports: Mapping[str, int], *, host: str = "127.0.0.1", listener_port: int | None = None
) -> dict[str, Any]:
    """The demo config as a dict for `parse_config`, each provider's base_url on `host:ports[vendor]`.

    `ports` maps a vendor ("openai", "anthropic") to the port its fake provider listens on.
    """
    missing = [v for v in DEMO_VENDORS if v not in ports]
    if missing:
        raise ValueError(f"no fake provider port for {', '.join(missing)} (need one per vendor: {DEMO_VENDORS})")
    data = copy.deepcopy(_template())
    for provider in data["model_providers"]:
        vendor = str(provider["model"]).split("/", 1)[0]
        path = urlsplit(str(provider["base_url"])).path
        netloc = f"[{host}]" if ":" in host else host
        provider["base_url"] = f"http://{netloc}:{ports[vendor]}{path}"
    if listener_port is not None:
        data["listeners"][0]["port"] = listener_port
    return data
