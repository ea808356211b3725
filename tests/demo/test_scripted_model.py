"""The scripted model (brightstaff/demo/scripted_model.py), as the pure functions it is: request in, plan out."""

from __future__ import annotations

from tool_specs import WEATHER_TOOLS

from brightstaff.demo.scripted_model import plan_reply, tool_rounds


def test_tool_rounds_count_since_the_latest_user_message() -> None:
    calls = {"role": "assistant", "tool_calls": [{"id": "1"}]}
    assert tool_rounds([{"role": "user"}, calls, {"role": "tool"}, calls]) == 2
    assert tool_rounds([{"role": "user"}, calls, {"role": "tool"}, {"role": "user"}]) == 0


def test_tool_choice_none_and_forced() -> None:
    base = {"model": "m", "messages": [{"role": "user", "content": "q"}], "tools": WEATHER_TOOLS}
    assert plan_reply({**base, "tool_choice": "none"}).tool_calls == ()
    forced = plan_reply({**base, "tool_choice": {"type": "function", "function": {"name": "get_time"}}})
    assert [c.name for c in forced.tool_calls] == ["get_time"]
    assert plan_reply(base) == plan_reply(base), "deterministic, ids included"
