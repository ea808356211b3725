"""Default base URLs of the providers a config may name without a `base_url`."""

from __future__ import annotations

# Every entry speaks the OpenAI chat completions API at `<base_url>/chat/completions`.
# Anthropic is reached through its OpenAI-compatible endpoint until Messages API translation lands.
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
}

KNOWN_VENDORS: tuple[str, ...] = tuple(sorted(_DEFAULT_BASE_URLS))


def default_base_url(vendor: str) -> str | None:
    return _DEFAULT_BASE_URLS.get(vendor)
