"""Istio's EnvoyFilter patching, emulated for the Istio example's patches, on a bootstrap render_envoy made.

No Istio runs in the tests. To see what the example's EnvoyFilter does to a gateway, the tests take the
bootstrap brightstaff renders for itself, remove what brightstaff adds (`without_brightstaff`: what a
control plane generates on its own is a listener, a connection manager with routes and a router), and put
it back with the EnvoyFilter's patches (`apply_envoy_filter`), as Istio applies them:
- MERGE is protobuf merge: messages merged field by field, repeated fields appended, scalars replaced;
- INSERT_BEFORE puts the value before the HTTP filter the match names;
- patches apply in their order; `context: GATEWAY` with the workloadSelector means every listener here.
Operations and targets the example does not use are refused, so nothing is emulated by guess.
"""

from __future__ import annotations

import copy
from typing import Any

HCM = "envoy.filters.network.http_connection_manager"
ROUTER = "envoy.filters.http.router"
# What a control plane renders itself; the rest of the connection manager is brightstaff's.
_GENERATED_HCM = {"@type", "stat_prefix", "codec_type", "route_config"}


def proto_merge(base: dict[str, Any], patch: dict[str, Any]) -> None:
    """Merge `patch` into `base` in place, as protobuf's Merge does for the JSON form of a message."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            proto_merge(base[key], value)
        elif isinstance(value, list) and isinstance(base.get(key), list):
            base[key] = base[key] + copy.deepcopy(value)
        else:
            base[key] = copy.deepcopy(value)


def _hcm_filters(listener: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for chain in listener["filter_chains"] for f in chain["filters"] if f["name"] == HCM]


def without_brightstaff(bootstrap: dict[str, Any]) -> dict[str, Any]:
    """The bootstrap as a control plane would generate it: no buffer limit, HTTP filters, response headers."""
    stripped = copy.deepcopy(bootstrap)
    for listener in stripped["static_resources"]["listeners"]:
        listener.pop("per_connection_buffer_limit_bytes", None)
        for network_filter in _hcm_filters(listener):
            hcm = network_filter["typed_config"]
            for key in set(hcm) - _GENERATED_HCM:
                del hcm[key]
            router_type = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
            hcm["http_filters"] = [{"name": ROUTER, "typed_config": {"@type": router_type}}]
            for virtual_host in hcm["route_config"]["virtual_hosts"]:
                virtual_host.pop("response_headers_to_add", None)
    return stripped


def apply_envoy_filter(bootstrap: dict[str, Any], envoy_filter: dict[str, Any]) -> dict[str, Any]:
    """`bootstrap` with every configPatch of `envoy_filter` applied, in order."""
    patched = copy.deepcopy(bootstrap)
    for patch in envoy_filter["spec"]["configPatches"]:
        target, match = patch["applyTo"], patch["match"]
        operation, value = patch["patch"]["operation"], patch["patch"]["value"]
        assert match["context"] == "GATEWAY", match
        filter_match = match.get("listener", {}).get("filterChain", {}).get("filter", {})
        assert filter_match.get("name", HCM) == HCM, filter_match
        applied = 0
        for listener in patched["static_resources"]["listeners"]:
            if target == "LISTENER" and operation == "MERGE":
                proto_merge(listener, value)
                applied += 1
                continue
            for network_filter in _hcm_filters(listener):
                hcm = network_filter["typed_config"]
                if target == "NETWORK_FILTER" and operation == "MERGE":
                    proto_merge(network_filter, value)
                elif target == "VIRTUAL_HOST" and operation == "MERGE":
                    for virtual_host in hcm["route_config"]["virtual_hosts"]:
                        proto_merge(virtual_host, value)
                elif target == "HTTP_FILTER":
                    names = [f["name"] for f in hcm["http_filters"]]
                    index = names.index(filter_match["subFilter"]["name"])
                    if operation == "INSERT_BEFORE":
                        hcm["http_filters"].insert(index, copy.deepcopy(value))
                    elif operation == "MERGE":
                        proto_merge(hcm["http_filters"][index], value)
                    else:
                        raise NotImplementedError(f"HTTP_FILTER {operation}")
                else:
                    raise NotImplementedError(f"{target} {operation}")
                applied += 1
        assert applied, f"patch {target} {operation} matched nothing"
    return patched
