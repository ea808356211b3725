"""Two Envoy + brightstaff replicas sharing one real Redis, driven by the openai SDK.

A pin made through one replica holds through the other; first requests racing on both replicas end on
one model; Redis killed and restarted under load costs affinity for the outage window, never a request.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from e2e_stack import Providers, Stack, e2e_config, launch, retire
from openai import OpenAI
from test_e2e_openai_sdk import ANALYSIS, CODE, ask

from harness.free_port import free_port
from harness.redis_server import RedisServer

pytestmark = pytest.mark.e2e

# Short fault settings so the test sees the circuit open and close within seconds.
FAULT_SETTINGS = {"timeout_ms": 100, "circuit_failures": 3, "circuit_cooldown_ms": 300}

RedisStackFactory = Callable[..., Stack]


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis-e2e")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def make_redis_stack(
    tmp_path_factory: pytest.TempPathFactory, providers: Providers, redis: RedisServer
) -> Iterator[RedisStackFactory]:
    """A stack whose pins live in Redis (the module's server unless `url` says otherwise)."""
    started: list[Stack] = []

    def make(url: str | None = None) -> Stack:
        config = e2e_config(providers.openai, providers.anthropic)
        config["routing"]["session_cache"] = {"type": "redis", "url": url or redis.url, **FAULT_SETTINGS}
        started.append(launch(tmp_path_factory.mktemp("redis-stack"), config))
        return started[-1]

    yield make
    for stack in started:
        retire(stack)


@pytest.fixture(scope="module")
def replicas(make_redis_stack: RedisStackFactory) -> tuple[Stack, Stack]:
    return make_redis_stack(), make_redis_stack()


def outcome(headers: dict[str, str]) -> tuple[str, str]:
    return headers["x-brightstaff-provider"], headers["x-brightstaff-affinity"]


def test_a_pin_made_through_one_replica_holds_through_the_other(replicas: tuple[Stack, Stack]) -> None:
    a, b = replicas
    session = f"agent-{uuid.uuid4()}"
    first = outcome(ask(a, CODE, session)[1])
    # Replica B's router would pick gpt-4o for this prompt; the shared pin wins.
    later = [outcome(ask(stack, ANALYSIS, session)[1]) for stack in (b, a, b)]
    assert first == ("anthropic/claude-sonnet-4-20250514", "new")
    assert later == [("anthropic/claude-sonnet-4-20250514", "pinned")] * 3
    assert b.metric("brightstaff_pin_store_errors_total") == 0


def test_concurrent_first_requests_on_both_replicas_end_on_one_model(replicas: tuple[Stack, Stack]) -> None:
    a, b = replicas
    rounds, per_replica = 6, 8
    routed_before = a.metric("brightstaff_router_calls_total") + b.metric("brightstaff_router_calls_total")
    with ThreadPoolExecutor(2 * per_replica) as pool:
        for _ in range(rounds):
            session = f"race-{uuid.uuid4()}"
            barrier = threading.Barrier(2 * per_replica)

            def turn(i: int, session: str = session, barrier: threading.Barrier = barrier) -> tuple[str, str]:
                stack, text = (a, CODE) if i % 2 == 0 else (b, ANALYSIS)  # the routers disagree on purpose
                barrier.wait(10)
                return outcome(ask(stack, text, session)[1])

            results = list(pool.map(turn, range(2 * per_replica)))
            assert len({provider for provider, _ in results}) == 1, results
            news = Counter(affinity for _, affinity in results)["new"]
            assert 1 <= news <= 2, results  # at most one leader per replica routes; everyone else follows
    routed = a.metric("brightstaff_router_calls_total") + b.metric("brightstaff_router_calls_total") - routed_before
    assert routed <= 2 * rounds


class Load:
    """Bounded load over both replicas: every client-visible failure is recorded, none retried."""

    def __init__(self, stacks: tuple[Stack, Stack], workers: int, max_requests: int, seconds: float) -> None:
        self.stacks = stacks
        self.workers = workers
        self.max_requests = max_requests  # per worker
        self.deadline = time.monotonic() + seconds
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.errors: list[str] = []
        self.outcomes: Counter[str] = Counter()
        self.slowest = 0.0
        self.sessions = [f"load-{uuid.uuid4()}" for _ in range(6)]
        self._threads = [threading.Thread(target=self._worker, args=(i,), daemon=True) for i in range(workers)]

    def _worker(self, index: int) -> None:
        clients = [
            OpenAI(base_url=f"{stack.base_url}/v1", api_key="client-own-key", max_retries=0, timeout=10)
            for stack in self.stacks
        ]
        try:
            for n in range(self.max_requests):
                if self.stop.is_set() or time.monotonic() > self.deadline:
                    return
                session = self.sessions[(index + n) % len(self.sessions)]
                started = time.monotonic()
                try:
                    raw = clients[(index + n) % 2].chat.completions.with_raw_response.create(
                        model="gpt-4o-mini",
                        messages=[{"role": "user", "content": CODE if n % 2 else ANALYSIS}],
                        extra_headers={"X-Model-Affinity": session},
                    )
                    raw.parse()
                    affinity = raw.headers.get("x-brightstaff-affinity", "missing")
                except Exception as exc:  # every failure a client could see
                    with self.lock:
                        self.errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                with self.lock:
                    self.outcomes[affinity] += 1
                    self.slowest = max(self.slowest, time.monotonic() - started)
        finally:
            for client in clients:
                client.close()

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(30)

    def total(self) -> int:
        with self.lock:
            return sum(self.outcomes.values()) + len(self.errors)


def affinity_works(a: Stack, b: Stack) -> bool:
    session = f"probe-{uuid.uuid4()}"
    return outcome(ask(a, CODE, session)[1])[1] == "new" and outcome(ask(b, ANALYSIS, session)[1])[1] == "pinned"


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_redis_killed_and_restarted_under_load_fails_no_request(
    replicas: tuple[Stack, Stack], redis: RedisServer
) -> None:
    a, b = replicas
    opens_before = a.metric("brightstaff_pin_store_circuit_opens_total") + b.metric(
        "brightstaff_pin_store_circuit_opens_total"
    )
    with Load(replicas, workers=6, max_requests=400, seconds=40) as load:
        assert wait_until(lambda: load.outcomes["pinned"] >= 20, 10), load.outcomes
        redis.kill()
        served_before_outage = load.total()
        time.sleep(1.5)  # the outage: requests keep coming
        outage_served = load.total() - served_before_outage
        redis.start()  # same port, empty
        restarted = time.monotonic()
        recovered = wait_until(lambda: affinity_works(a, b), 10)
        recovery = time.monotonic() - restarted
        time.sleep(0.5)  # some load after the recovery too
    print(
        f"load: {dict(load.outcomes)}, errors {len(load.errors)}, slowest {load.slowest * 1000:.0f} ms, "
        f"{outage_served} served during the 1.5 s outage, affinity back {recovery:.2f} s after the restart"
    )
    assert load.errors == []
    assert outage_served > 0
    assert load.outcomes["unpinned"] > 0  # served without affinity while Redis was gone
    assert recovered, "affinity did not come back after Redis restarted"
    assert load.slowest < 1.0  # the per-call timeout and the circuit bound the delay
    opens = a.metric("brightstaff_pin_store_circuit_opens_total") + b.metric(
        "brightstaff_pin_store_circuit_opens_total"
    )
    assert opens > opens_before
    assert a.metric("brightstaff_pin_store_errors_total") + b.metric("brightstaff_pin_store_errors_total") > 0
    for stack in replicas:
        assert "brightstaff_pin_store_circuit_open 0" in stack.admin_get("/metrics")[1]
        assert stack.brightstaff is not None and stack.brightstaff.poll() is None


def test_a_redis_down_at_start_up_does_not_stop_serving_and_is_picked_up(
    make_redis_stack: RedisStackFactory, tmp_path: Path
) -> None:
    port = free_port()
    stack = make_redis_stack(f"redis://127.0.0.1:{port}/0")  # nothing listens there yet
    assert stack.admin_get("/readyz")[0] == 200
    _, headers = ask(stack, CODE, f"early-{uuid.uuid4()}")
    assert outcome(headers) == ("anthropic/claude-sonnet-4-20250514", "unpinned")
    assert "unreachable at start-up" in stack.brightstaff_log.read_text()
    assert 'brightstaff_pin_store_errors_total{op="startup"} 1' in stack.admin_get("/metrics")[1]
    late = RedisServer(tmp_path, port=port).start()
    try:
        session = f"late-{uuid.uuid4()}"
        assert wait_until(lambda: outcome(ask(stack, CODE, session)[1])[1] == "new", 5)
        assert outcome(ask(stack, ANALYSIS, session)[1]) == ("anthropic/claude-sonnet-4-20250514", "pinned")
    finally:
        late.stop()
