"""Helpers the translator tests share: providers, SSE streams built and read, a translator run over chunks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from brightstaff.config import Provider, parse_config
from brightstaff.core.outcome import ResponseStart, ResponseTranslator
from brightstaff.providers.sse import SSEParser

SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8"}
JSON_HEADERS = {"content-type": "application/json", "content-length": "10"}


def provider(model: str = "anthropic/claude-sonnet-4-5", **fields: Any) -> Provider:
    entry = {"model": model, "base_url": "https://api.example.test/v1", "access_key": "$KEY", **fields}
    return parse_config({"model_providers": [entry]}, env={"KEY": "sk-test"}).providers[0]


def anthropic_sse(*events: dict[str, Any]) -> bytes:
    """An Anthropic stream: each payload as `event: <its type>` plus its JSON."""
    return b"".join(b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n" for e in events)


def openai_sse(*chunks: dict[str, Any] | str) -> bytes:
    """An OpenAI stream: each chunk as a `data:` line (strings, such as "[DONE]", verbatim)."""
    return b"".join(b"data: " + (c.encode() if isinstance(c, str) else orjson.dumps(c)) + b"\n\n" for c in chunks)


def read_sse(stream: bytes) -> list[tuple[str | None, Any]]:
    """(event name, JSON payload or the raw text) of every event in a translated stream."""
    parser = SSEParser()
    events = parser.feed(stream) + parser.finish()
    out: list[tuple[str | None, Any]] = []
    for event in events:
        try:
            out.append((event.event, orjson.loads(event.data)))
        except orjson.JSONDecodeError:
            out.append((event.event, event.data.decode()))
    return out


def run(
    translator: ResponseTranslator, chunks: Iterable[bytes], status: int = 200, headers: dict[str, str] | None = None
) -> tuple[ResponseStart, bytes]:
    """Start the translator, feed every chunk (the last with end_of_stream), return what the client gets."""
    start = translator.start(status, headers if headers is not None else SSE_HEADERS)
    listed = list(chunks) or [b""]
    out = b"".join(translator.body(chunk, i == len(listed) - 1) for i, chunk in enumerate(listed))
    return start, out


def cut(stream: bytes, points: Iterable[int]) -> list[bytes]:
    """`stream` cut at `points` (taken modulo its length, deduplicated)."""
    marks = sorted({p % (len(stream) + 1) for p in points})
    return [stream[a:b] for a, b in zip([0, *marks], [*marks, len(stream)], strict=True)]
