"""Checks every translated Responses answer must pass: each event and object valid against openai-python's
own types, and the stream's order as the API (and the SDK's accumulator) requires."""

from __future__ import annotations

from typing import Any

from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter
from translator_fixtures import read_sse

EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
TERMINAL = {"response.completed", "response.incomplete", "response.failed"}


def stream_events(stream: bytes) -> list[dict[str, Any]]:
    """The events of a translated stream, each checked; then the sequence as a whole (`check_order`)."""
    events: list[dict[str, Any]] = []
    for number, (name, payload) in enumerate(read_sse(stream)):
        assert isinstance(payload, dict), payload
        assert name == payload["type"], (name, payload)
        assert payload["sequence_number"] == number, payload
        EVENT.validate_python(payload)
        if "response" in payload:
            Response.model_validate(payload["response"])
        events.append(payload)
    check_order(events)
    return events


def check_order(events: list[dict[str, Any]]) -> None:
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"], kinds[:2]
    assert kinds[-1] in TERMINAL, kinds[-1]
    assert not TERMINAL & set(kinds[:-1]), kinds
    if kinds[-1] == "response.failed":
        assert kinds[-2] == "error"
    ids = {e["response"]["id"] for e in events if "response" in e}
    assert len(ids) == 1, ids
    added: dict[int, dict[str, Any]] = {}
    done: dict[int, dict[str, Any]] = {}
    for event in events:
        index = event.get("output_index")
        if event["type"] == "response.output_item.added":
            assert index == len(added), (index, len(added))
            added[index] = event["item"]
        elif event["type"] == "response.output_item.done":
            assert index in added and index not in done, index
            assert event["item"]["id"] == added[index]["id"]
            done[index] = event["item"]
        elif index is not None:
            assert index in added and index not in done, event
    final = events[-1]["response"]
    if kinds[-1] != "response.failed":
        assert set(done) == set(added), "every item opened is closed"
        assert final["output"] == [done[i] for i in sorted(done)]
        assert final["usage"] is None or final["usage"]["total_tokens"] >= 0


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


START = ["response.created", "response.in_progress"]
_ITEM_EVENTS = {
    "message": (
        ["response.content_part.added"],
        "response.output_text.delta",
        ["response.output_text.done", "response.content_part.done"],
    ),
    "reasoning": (
        ["response.reasoning_summary_part.added"],
        "response.reasoning_summary_text.delta",
        ["response.reasoning_summary_text.done", "response.reasoning_summary_part.done"],
    ),
    "function_call": ([], "response.function_call_arguments.delta", ["response.function_call_arguments.done"]),
}


def item_kinds(kind: str, deltas: int, *, closed: bool = True) -> list[str]:
    """The events of one output item with `deltas` deltas; `closed=False` leaves out its closing events."""
    opening, delta, _ = _ITEM_EVENTS[kind]
    out = ["response.output_item.added", *opening, *[delta] * deltas]
    return out + item_closing(kind) if closed else out


def item_closing(kind: str) -> list[str]:
    return [*_ITEM_EVENTS[kind][2], "response.output_item.done"]


def response_object(body: bytes) -> dict[str, Any]:
    """A translated JSON answer, valid as openai-python's `Response`."""
    import orjson

    answer: dict[str, Any] = orjson.loads(body)
    Response.model_validate(answer)
    assert answer["object"] == "response" and answer["store"] is False
    return answer
