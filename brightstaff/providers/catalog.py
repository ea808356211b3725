"""What brightstaff knows about provider vendors by name: default base URLs, and the vendor names a config
may give as Plano's `provider_interface`.

Every base URL here serves the OpenAI chat completions API at `<base_url>/chat/completions`, as the vendor's
own documentation gives it for OpenAI SDK clients, except where `CAVEATS` says otherwise. Anthropic is
reached through its OpenAI-compatible endpoint until Messages API translation lands.
"""

from __future__ import annotations

_DEFAULT_BASE_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com/v1",
    "mistral": "https://api.mistral.ai/v1",
    "groq": "https://api.groq.com/openai/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "together_ai": "https://api.together.xyz/v1",
    "xai": "https://api.x.ai/v1",
    "gemini": "https://generativelanguage.googleapis.com/v1beta/openai",
    "ollama": "http://127.0.0.1:11434/v1",
    # Plano's other vendors, from each vendor's OpenAI-SDK quick start
    "moonshotai": "https://api.moonshot.ai/v1",
    "xiaomi": "https://api.xiaomimimo.com/v1",
    "zhipu": "https://open.bigmodel.cn/api/paas/v4",
    "digitalocean": "https://inference.do-ai.run/v1",
    "vercel": "https://ai-gateway.vercel.sh/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "edenai": "https://api.edenai.run/v3/llm",
    # The ChatGPT subscription backend the Codex CLI uses (no public API reference): see CAVEATS.
    "chatgpt": "https://chatgpt.com/backend-api/codex",
}

# Vendors whose default endpoint brightstaff cannot fully serve yet: noted by check-config and at start-up.
_NOT_OPENAI = (
    "brightstaff sends every provider OpenAI chat completions, which {} does not serve; requests fail upstream"
)
CAVEATS: dict[str, str] = {
    "chatgpt": (
        "the ChatGPT subscription backend answers only the Responses API (POST /responses), which brightstaff "
        "does not send yet; chat completions routed to it fail upstream"
    ),
    "azure_openai": _NOT_OPENAI.format("Azure OpenAI (deployment paths, api-version, api-key header)"),
    "amazon_bedrock": _NOT_OPENAI.format("Amazon Bedrock (its Converse API)"),
}

# Vendors whose clients bring their own credentials: without an access_key, passthrough_auth defaults to true
# (the ChatGPT backend takes the user's own ChatGPT sign-in token, never an API key).
PASSTHROUGH_BY_DEFAULT: frozenset[str] = frozenset({"chatgpt"})

KNOWN_VENDORS: tuple[str, ...] = tuple(sorted(_DEFAULT_BASE_URLS))

# Plano's `provider_interface` values (its schema's list, the older `claude`, and the vendors it knows by
# model prefix): a value outside them is a typo, refused with a hint.
PROVIDER_INTERFACES: tuple[str, ...] = tuple(
    sorted({*KNOWN_VENDORS, "plano", "claude", "azure_openai", "amazon_bedrock", "qwen"})
)


def default_base_url(vendor: str) -> str | None:
    return _DEFAULT_BASE_URLS.get(vendor)
