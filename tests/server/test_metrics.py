"""/metrics through prometheus_client: base units, process and build-info series, a route label on decisions,
counters at zero from start-up, one registry per app."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from seed_data import SEED_ENV, seed_config_data

from brightstaff import __version__
from brightstaff.config import Config, parse_config
from brightstaff.core.decision import Affinity, Decision
from brightstaff.core.request import RequestFacts
from brightstaff.metrics import AFFINITY_OUTCOMES, CLIENT_ERROR_CODES, FAMILIES, Metrics
from brightstaff.server.app import build_app
from brightstaff.server.handler import RequestHandler

SEED_ROUTES = {
    ("openai/gpt-4o", "complex_reasoning"),
    ("anthropic/claude-sonnet-4-20250514", "code_generation"),
    ("openai/gpt-4o-mini", "default"),
}
PACKAGE = Path(__file__).resolve().parents[2] / "brightstaff"


async def scrape(config: Config, requests: Sequence[tuple[str, str | None]] = ()) -> tuple[str, str]:
    """Build an app, send `requests` (text, affinity id) through its handler, and GET its /metrics."""
    app = build_app(config)
    try:
        for text, affinity in requests:
            body = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"%s"}]}' % text.encode()
            await app.handler.handle(RequestFacts("POST", "/v1/chat/completions", affinity=affinity), body)
        port = await app.admin.start("127.0.0.1", 0)
        async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
            response = await client.get(f"http://127.0.0.1:{port}/metrics")
        return response.headers["content-type"], response.text
    finally:
        await app.stop(0)


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


@pytest.mark.anyio
async def test_metrics_are_in_base_units_with_process_and_build_info(config: Config) -> None:
    content_type, text = await scrape(config)
    assert content_type.startswith("text/plain; version=0.0.4")
    types = {family.name: family.type for family in text_string_to_metric_families(text)}
    assert types["brightstaff_decision_seconds"] == "histogram"
    assert types["brightstaff_router_seconds"] == "histogram"
    assert not [name for name in types if name.endswith("_ms")]
    assert "_ms" not in text  # no millisecond series, and no help text still speaking of them
    build = [key for key in samples(text) if key[0] == "brightstaff_build_info"]
    assert len(build) == 1 and ("version", __version__) in build[0][1]
    assert value(text, "brightstaff_build_info", **dict(build[0][1])) == 1
    assert value(text, "process_cpu_seconds_total") is not None
    assert (value(text, "process_resident_memory_bytes") or 0) > 0
    assert value(text, "brightstaff_decision_seconds_bucket", le="0.001") == 0
    assert not [name for name in types if name.endswith("_created")]


@pytest.mark.anyio
async def test_counters_are_present_at_zero_from_start_up(config: Config) -> None:
    _, text = await scrape(config)
    for affinity in AFFINITY_OUTCOMES:
        for provider, route in SEED_ROUTES:
            assert value(text, "brightstaff_requests_total", affinity=affinity, provider=provider, route=route) == 0
    for code in ("invalid_json", "invalid_affinity_id", "model_not_found", "request_too_large"):
        assert value(text, "brightstaff_client_errors_total", code=code) == 0
    assert value(text, "brightstaff_internal_errors_total") == 0
    assert value(text, "brightstaff_pin_races_total") == 0
    assert value(text, "brightstaff_router_calls_total", router="embedded", reason="preference", confidence="high") == 0
    assert value(text, "brightstaff_router_failures_total", router="embedded", kind="exception") == 0
    assert value(text, "brightstaff_pin_store_errors_total", op="get") == 0
    assert value(text, "brightstaff_pins") == 0
    # Bounded: affinity outcomes x configured routes, nothing per request or per id.
    requests = [key for key in samples(text) if key[0] == "brightstaff_requests_total"]
    assert len(requests) == len(AFFINITY_OUTCOMES) * len(SEED_ROUTES)


@pytest.mark.anyio
async def test_a_decision_counts_under_its_route(config: Config) -> None:
    _, text = await scrape(config, [("write code", "run-1"), ("write code", "run-1"), ("hello", None)])
    claude = "anthropic/claude-sonnet-4-20250514"
    assert value(text, "brightstaff_requests_total", affinity="new", provider=claude, route="code_generation") == 1
    assert value(text, "brightstaff_requests_total", affinity="pinned", provider=claude, route="code_generation") == 1
    assert value(text, "brightstaff_decision_seconds_count") == 3
    assert (value(text, "brightstaff_decision_seconds_sum") or 1) < 1  # seconds, not milliseconds


def test_a_route_the_config_does_not_name_is_counted_as_other(config: Config) -> None:
    metrics = Metrics()
    metrics.start_at_zero(config, "embedded")
    stale = Decision(config.providers[1], "a_route_renamed_since", Affinity.PINNED, "pinned")
    metrics.decided(stale, 0.0002)
    metrics.decided(Decision(config.providers[0], None, Affinity.PINNED, "pinned"), 0.0002)
    assert metrics.get("brightstaff_requests_total", route="other") == 1
    assert metrics.get("brightstaff_requests_total", route="pinned") == 1  # the header's value, a fixed word
    assert metrics.get("brightstaff_requests_total", route="a_route_renamed_since") == 0


def test_every_app_has_its_own_registry(config: Config) -> None:
    first, second = build_app(config), build_app(config)
    first.metrics.inc("brightstaff_internal_errors_total")
    assert first.metrics.get("brightstaff_internal_errors_total") == 1
    assert second.metrics.get("brightstaff_internal_errors_total") == 0
    assert first.metrics.registry is not second.metrics.registry


@pytest.mark.anyio
async def test_a_shared_store_starts_its_own_series_at_zero_and_has_no_pin_count() -> None:
    data: dict[str, Any] = seed_config_data()
    data["routing"] = {"session_cache": {"type": "redis", "url": "redis://127.0.0.1:1/0"}}
    _, text = await scrape(parse_config(data, SEED_ENV))
    assert value(text, "brightstaff_pin_store_errors_total", op="startup") == 0
    assert value(text, "brightstaff_pin_store_short_circuits_total", op="claim") == 0
    assert value(text, "brightstaff_pin_store_circuit_open") == 0
    assert "brightstaff_pins" not in {family.name for family in text_string_to_metric_families(text)}


def test_every_client_error_code_in_the_package_starts_at_zero() -> None:
    """CLIENT_ERROR_CODES is the label's bounded list: every code the source can raise is on it."""
    codes = {
        match
        for path in PACKAGE.rglob("*.py")
        for match in re.findall(r'\bcode="([a-z_]+)"', path.read_text(encoding="utf-8"))
    }
    assert codes and codes <= set(CLIENT_ERROR_CODES)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_family_is_documented_in_the_readme(name: str) -> None:
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    row = next((line for line in readme.splitlines() if line.startswith(f"| `{name}` |")), None)
    assert row is not None, f"{name} has no row in the README's metrics table"
    assert f"| {FAMILIES[name].type} |" in row
    for label in FAMILIES[name].labels:
        assert label in row


@pytest.mark.anyio
async def test_the_handler_counts_a_router_exception_with_its_kind(config: Config) -> None:
    class Broken:
        name = "broken"

        async def route(self, conversation: object) -> object:
            raise RuntimeError("router exploded")

    from brightstaff.pins.memory import MemoryPinStore

    handler = RequestHandler(config, MemoryPinStore(max_entries=5, ttl_seconds=5), Broken(), Metrics())  # type: ignore[arg-type]
    body = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
    await handler.handle(RequestFacts("POST", "/v1/chat/completions"), body)
    assert handler.metrics.get("brightstaff_router_failures_total", router="broken", kind="exception") == 1
