"""The local count_tokens estimate: ceil(characters / 4) + 1,600 per image or document."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from brightstaff.core.messages import parse_count_tokens
from brightstaff.providers.count_tokens import MEDIA_TOKENS, estimate_tokens, local_count

TOOL = {"name": "f", "description": "d", "input_schema": {"type": "object"}}
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "x" * 10_000}}


def estimate(**fields: Any) -> int:
    return estimate_tokens(parse_count_tokens(orjson.dumps({"model": "m", **fields})))


CASES: list[tuple[str, dict[str, Any], int]] = [
    ("nothing", {"messages": []}, 0),
    ("8 characters of text", {"messages": [{"role": "user", "content": "abcdefgh"}]}, 2),
    ("rounded up", {"messages": [{"role": "user", "content": "abcdefghi"}]}, 3),
    (
        "system string and blocks",
        {"system": "abcd", "messages": [{"role": "user", "content": [{"type": "text", "text": "abcd"}]}]},
        2,
    ),
    ("a tool definition counts as its JSON", {"messages": [], "tools": [TOOL]}, -(-len(orjson.dumps(TOOL)) // 4)),
    (
        "tool use name and input, tool result text, thinking",
        {
            "messages": [
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "abcd", "signature": "s" * 400},
                        {"type": "tool_use", "id": "t", "name": "ff", "input": {"a": 1}},  # 2 + 7
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "abc"}]}
                    ],
                },
            ]
        },
        4,  # (4 + 9 + 3) / 4
    ),
    ("an image is a flat cost, whatever its bytes", {"messages": [{"role": "user", "content": [IMAGE]}]}, MEDIA_TOKENS),
]


@pytest.mark.parametrize(("fields", "tokens"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_estimate(fields: dict[str, Any], tokens: int) -> None:
    assert estimate(**fields) == tokens


def test_the_body_is_anthropics_shape() -> None:
    request = parse_count_tokens(b'{"model":"m","messages":[{"role":"user","content":"abcdefgh"}]}')
    assert orjson.loads(local_count(request)) == {"input_tokens": 2}
