"""The Istio example's EnvoyFilter, applied to a gateway, on a real Envoy with brightstaff and the fake providers.

No Istio runs here: the gateway is render_envoy's bootstrap with brightstaff's parts taken out (what a
control plane generates by itself: listener, routes, router), patched back by the committed
deploy/kubernetes/istio/envoyfilter.yaml as Istio applies patches (tests/istio_patches.py), its ext_proc
cluster pointed at this test's brightstaff. Through that gateway a body past Envoy's 1 MiB default buffer
is routed (the old example's gateway answered 413), and the client gets the decision headers.
"""

from __future__ import annotations

import asyncio
import copy
import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_stack import _STACKS, KEYS, Providers, Stack, e2e_config, retire
from istio_patches import apply_envoy_filter, without_brightstaff

from brightstaff.config import load_config
from brightstaff.core.headers import RESPONSE_HEADERS
from brightstaff.proxy.bootstrap import EXTPROC_CLUSTER, render_envoy
from brightstaff.proxy.envoy_process import EnvoyProcess

pytestmark = pytest.mark.e2e

ENVOY_FILTER = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes" / "istio" / "envoyfilter.yaml"
ENVOY_DEFAULT_BUFFER_LIMIT = 1024 * 1024
PROVIDER = "x-brightstaff-provider"


def local_envoy_filter() -> dict[str, Any]:
    """The committed EnvoyFilter, its ext_proc cluster (Istio's Service cluster) swapped for the local one."""
    (envoy_filter,) = [d for d in yaml.safe_load_all(ENVOY_FILTER.read_text(encoding="utf-8")) if d]
    local = copy.deepcopy(envoy_filter)
    for patch in local["spec"]["configPatches"]:
        value = patch["patch"]["value"]
        if value.get("name") == "envoy.filters.http.ext_proc":
            value["typed_config"]["grpc_service"]["envoy_grpc"]["cluster_name"] = EXTPROC_CLUSTER
    return local


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, providers: Providers) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("istio-gateway")
    stack = Stack(workdir, e2e_config(providers.openai, providers.anthropic))
    rendered = render_envoy(load_config(stack.config_path, env=KEYS), listener_port=stack.listener_port, admin_port=0)
    patched = apply_envoy_filter(without_brightstaff(rendered), local_envoy_filter())
    stack.envoy = EnvoyProcess(patched, workdir=workdir / "envoy", log_level="info")
    _STACKS.append(stack)
    try:
        stack.start_brightstaff()
        stack.envoy.start()
        asyncio.run(stack.envoy.wait_ready())
        yield stack
    finally:
        retire(stack)


def post(stack: Stack, body: bytes) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", stack.listener_port, timeout=60)
    try:
        conn.request("POST", "/v1/chat/completions", body=body, headers={"content-type": "application/json"})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_gateway_routes_a_body_past_envoys_default_buffer_and_returns_decision_headers(gateway: Stack) -> None:
    turns = [{"role": "user" if i % 2 else "assistant", "content": "context " * 5000} for i in range(60)]
    body = json.dumps({"model": "gpt-4o-mini", "messages": turns}).encode()
    assert 2 * ENVOY_DEFAULT_BUFFER_LIMIT < len(body) < 4 * ENVOY_DEFAULT_BUFFER_LIMIT
    status, headers, answer = post(gateway, body)
    assert status == 200, answer[:500]
    decision = {k: v for k, v in headers.items() if k in RESPONSE_HEADERS}
    assert set(decision) == set(RESPONSE_HEADERS), f"decision headers missing: {set(RESPONSE_HEADERS) - set(decision)}"
    provider = next(p for p in load_config(gateway.config_path, env=KEYS).providers if p.name == decision[PROVIDER])
    assert decision["x-brightstaff-model"] == provider.model
    assert json.loads(answer)["model"] == provider.model
