"""Tool declarations that the demo's tests send to the fake model: chat completions' shape, and the same tools
in the Anthropic Messages and OpenAI Responses shapes."""

from __future__ import annotations

from typing import Any

DEMO_TOOLS: list[Any] = [
    {"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": {}}}}
    for name in ("get_db_benchmarks", "get_case_studies", "check_feature_support")
]
WEATHER_TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    "days": {"type": "integer"},
                },
                "required": ["city", "unit"],
            },
        },
    },
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}},
]


def anthropic_tools(tools: list[Any]) -> list[Any]:
    """The same tools as Anthropic Messages declares them: `input_schema` at the top."""
    return [
        {"name": t["function"]["name"], "input_schema": t["function"]["parameters"]}
        | ({"description": t["function"]["description"]} if "description" in t["function"] else {})
        for t in tools
    ]


def responses_tools(tools: list[Any]) -> list[Any]:
    """The same tools as OpenAI Responses declares them: flat, not nested under `function`."""
    return [{"type": "function", **t["function"]} for t in tools]
