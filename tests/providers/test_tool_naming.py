"""Tool ids valid for Anthropic, and tool names short enough for OpenAI, both reversible where they must be."""

from __future__ import annotations

import re

import pytest

from brightstaff.providers.tool_naming import long_tool_names, short_tool_name, tool_id

VALID = re.compile(r"[A-Za-z0-9_-]+")


@pytest.mark.parametrize("raw", ["toolu_01A", "call_abc-DEF", "functions.Bash:0", "a b", "", "日本", "::"])
def test_tool_ids_become_valid_and_stay_stable(raw: str) -> None:
    sanitized = tool_id(raw)
    assert VALID.fullmatch(sanitized)
    assert tool_id(raw) == sanitized
    if VALID.fullmatch(raw):
        assert sanitized == raw


def test_ids_differing_only_in_invalid_characters_stay_distinct() -> None:
    assert tool_id("functions.Bash:0") != tool_id("functions:Bash.0")
    assert tool_id("functions.Bash:0").startswith("functions_Bash_0_")


def test_long_names_shorten_and_restore() -> None:
    long = "x" * 70
    short = short_tool_name(long)
    assert len(short) == 64
    assert short.startswith("x" * 55 + "_")
    assert short_tool_name("y" * 64) == "y" * 64
    assert long_tool_names([long, "short"]) == {short: long}
    assert short_tool_name("x" * 69 + "z") != short
