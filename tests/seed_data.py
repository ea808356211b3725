"""The seed config.yaml's shape as plain data, and fake credentials, for tests that build configs."""

from __future__ import annotations

from typing import Any


def seed_config_data(**server: Any) -> dict[str, Any]:
    """The seed config.yaml's shape, with base URLs so nothing points at real providers."""
    data: dict[str, Any] = {
        "version": "v0.3.0",
        "listeners": [{"type": "model", "name": "model_listener", "port": 12000}],
        "model_providers": [
            {
                "model": "openai/gpt-4o-mini",
                "access_key": "$OPENAI_API_KEY",
                "default": True,
                "base_url": "http://127.0.0.1:9001/v1",
            },
            {
                "model": "openai/gpt-4o",
                "access_key": "$OPENAI_API_KEY",
                "base_url": "http://127.0.0.1:9001/v1",
                "routing_preferences": [
                    {
                        "name": "complex_reasoning",
                        "description": "complex reasoning tasks, multi-step analysis, or detailed explanations",
                    }
                ],
            },
            {
                "model": "anthropic/claude-sonnet-4-20250514",
                "access_key": "$ANTHROPIC_API_KEY",
                "base_url": "http://127.0.0.1:9002/v1",
                "routing_preferences": [
                    {
                        "name": "code_generation",
                        "description": "generating new code, writing functions, or creating boilerplate",
                    }
                ],
            },
        ],
        "routing": {"session_ttl_seconds": 600, "session_max_entries": 10000},
    }
    if server:
        data["brightstaff"] = server
    return data


SEED_ENV = {"OPENAI_API_KEY": "sk-test-openai-0000", "ANTHROPIC_API_KEY": "sk-test-anthropic-0000"}
