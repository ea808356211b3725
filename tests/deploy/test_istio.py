"""The Istio example (deploy/kubernetes/istio/) is complete, and gives its gateway brightstaff's own Envoy settings.

No Istio and no cluster run here. The example is held to the renderer of brightstaff's tested Envoy:
- the generated files are what render_istio.py makes of istio/config.yaml today;
- the EnvoyFilter, applied as Istio applies patches (tests/istio_patches.py) to a gateway that lacks
  brightstaff's parts, gives back exactly the bootstrap render_envoy produces for that config (ext_proc's
  cluster name aside), and that passes `envoy --mode validate`;
- read on its own: bodies up to max_request_body_bytes pass the listener (Envoy's default is 1 MiB),
  the decision headers come from ext_proc's dynamic metadata, ext_proc runs as render_envoy sets it up;
- the hand-written half (brightstaff's Deployment and Service, the gateway) is wired to it, and every
  provider has a route on the decision header to a mesh host.
The resources' schemas (Kubernetes, Istio CRDs) are test_schemas.py's.
"""

from __future__ import annotations

import copy
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from deploy_files import (
    ENVOY_IMAGE_CA_BUNDLE,
    ISTIO,
    K8S,
    access_key_vars,
    envoy_validate,
    find_object,
    yaml_docs,
)
from istio_patches import apply_envoy_filter, without_brightstaff

from brightstaff.config import Config, parse_config
from brightstaff.core.headers import INTERNAL_HEADER_PREFIX, METADATA_NAMESPACE, PROVIDER_HEADER, RESPONSE_HEADERS
from brightstaff.extproc.http2.connection import MAX_CONCURRENT_STREAMS
from brightstaff.proxy.bootstrap import EXTPROC_CLUSTER, render_envoy

ENVOY_DEFAULT_BUFFER_LIMIT = 1024 * 1024
EXT_PROC = "envoy.filters.http.ext_proc"
HEADER_MUTATION = "envoy.filters.http.header_mutation"
ROUTER = "envoy.filters.http.router"
NAMESPACE = "brightstaff"


def load_render_istio() -> ModuleType:
    """deploy/kubernetes/render_istio.py, which imports its neighbour render_configmaps.py as a script does."""
    if str(K8S) not in sys.path:
        sys.path.insert(0, str(K8S))
    return importlib.import_module("render_istio")


def istio_config() -> Config:
    return parse_config(yaml.safe_load((ISTIO / "config.yaml").read_text(encoding="utf-8")), env={})


def docs(name: str) -> list[dict[str, Any]]:
    return yaml_docs(ISTIO / name)


def envoy_filter() -> dict[str, Any]:
    return find_object(docs("envoyfilter.yaml"), "EnvoyFilter", "brightstaff")


def patches(apply_to: str, operation: str) -> list[dict[str, Any]]:
    return [
        p["patch"]["value"]
        for p in envoy_filter()["spec"]["configPatches"]
        if p["applyTo"] == apply_to and p["patch"]["operation"] == operation
    ]


def inserted_filters() -> dict[str, dict[str, Any]]:
    """The HTTP filters the EnvoyFilter inserts, by name, in insertion order."""
    return {value["name"]: value for value in patches("HTTP_FILTER", "INSERT_BEFORE")}


def rendered_http_filters(config: Config) -> dict[str, dict[str, Any]]:
    bootstrap = render_envoy(config, ca_bundle=ENVOY_IMAGE_CA_BUNDLE)
    hcm = bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    return {f["name"]: f for f in hcm["http_filters"]}


def extproc_service_cluster() -> str:
    """Istio's cluster name for the Service brightstaff.yaml declares: outbound|<port>||<FQDN>."""
    service = find_object(docs("brightstaff.yaml"), "Service", "brightstaff-extproc")
    (port,) = service["spec"]["ports"]
    return (
        f"outbound|{port['port']}||{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local"
    )


# --------------------------------------------------------------------------------------------------
# Generated from the renderer, and equal to it once patched in


def test_generated_files_are_what_render_istio_produces() -> None:
    generator = load_render_istio()
    wanted = generator.render_istio((ISTIO / "config.yaml").read_text(encoding="utf-8"))
    assert set(wanted) == {"configmap.yaml", "envoyfilter.yaml", "routing.yaml"}
    for name, text in wanted.items():
        assert (ISTIO / name).read_text(encoding="utf-8") == text, (
            f"deploy/kubernetes/istio/{name} is stale. Regenerate it with:\n  python deploy/kubernetes/render_istio.py"
        )


def test_envoy_filter_gives_the_gateway_brightstaffs_own_envoy(tmp_path: Path) -> None:
    rendered = render_envoy(istio_config(), ca_bundle=ENVOY_IMAGE_CA_BUNDLE)
    gateway = without_brightstaff(rendered)
    assert gateway != rendered
    patched = apply_envoy_filter(gateway, envoy_filter())
    hcm = patched["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    (ext_proc,) = [f for f in hcm["http_filters"] if f["name"] == EXT_PROC]
    envoy_grpc = ext_proc["typed_config"]["grpc_service"]["envoy_grpc"]
    # The one difference: in the mesh, brightstaff is Istio's cluster for the brightstaff-extproc Service.
    assert envoy_grpc["cluster_name"] == extproc_service_cluster()
    envoy_grpc["cluster_name"] = EXTPROC_CLUSTER
    assert patched == rendered, "the patched gateway differs from the Envoy brightstaff renders for itself"
    envoy_validate(patched, tmp_path)


# --------------------------------------------------------------------------------------------------
# The three things the old example lacked, read from the committed EnvoyFilter itself


def test_listener_buffer_holds_the_largest_body_brightstaff_takes() -> None:
    server = istio_config().server
    assert server.max_request_body_bytes > ENVOY_DEFAULT_BUFFER_LIMIT
    limit = server.envoy_body_limit_bytes  # the largest body plus room for brightstaff's rewrite
    assert limit > server.max_request_body_bytes
    # ext_proc BUFFERS whole bodies; over the listener's limit Envoy answers 413 before brightstaff sees them.
    values = [v.get("per_connection_buffer_limit_bytes") for v in patches("LISTENER", "MERGE")]
    assert values == [limit], f"no listener patch raising Envoy's buffer limit to {limit} (found {values})"


def test_clients_get_the_decision_headers_from_extproc_metadata() -> None:
    wanted = {header: f"%DYNAMIC_METADATA({METADATA_NAMESPACE}:{field})%" for header, field in RESPONSE_HEADERS.items()}
    found = {
        option["header"]["key"]: option["header"]["value"]
        for value in patches("VIRTUAL_HOST", "MERGE")
        for option in value.get("response_headers_to_add", [])
    }
    assert found == wanted, "the x-brightstaff-* response headers are not added from ext_proc's metadata"
    ext_proc = inserted_filters()[EXT_PROC]["typed_config"]
    assert METADATA_NAMESPACE in ext_proc["metadata_options"]["receiving_namespaces"]["untyped"]


def test_extproc_filter_is_render_envoys() -> None:
    config = istio_config()
    inserted = inserted_filters()
    rendered = rendered_http_filters(config)
    assert list(inserted) == [name for name in rendered if name != ROUTER], "the gateway's filters are render_envoy's"
    names = list(inserted)
    assert (names[0], names[-1]) == (HEADER_MUTATION, EXT_PROC), "the strip first, ext_proc last"
    for name in inserted:
        if name != EXT_PROC:
            assert inserted[name] == rendered[name], name
    removed = [
        m["remove_on_match"]["key_matcher"]["prefix"]
        for m in inserted[HEADER_MUTATION]["typed_config"]["mutations"]["request_mutations"]
    ]
    assert removed == [INTERNAL_HEADER_PREFIX]

    example = copy.deepcopy(inserted[EXT_PROC])
    example["typed_config"]["grpc_service"]["envoy_grpc"]["cluster_name"] = EXTPROC_CLUSTER
    assert example == rendered[EXT_PROC], "the EnvoyFilter's ext_proc differs from render_envoy's"
    mode = example["typed_config"]["processing_mode"]
    assert (mode["request_header_mode"], mode["request_body_mode"]) == ("SEND", "BUFFERED")
    assert (mode["response_header_mode"], mode["response_body_mode"]) == ("SKIP", "NONE")


# --------------------------------------------------------------------------------------------------
# The hand-written half is wired to the generated one


def pod(deployment: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def test_brightstaff_deployment_and_service_serve_the_extproc_cluster() -> None:
    config = istio_config()
    manifests = docs("brightstaff.yaml")
    deployment = find_object(manifests, "Deployment", "brightstaff-extproc")
    service = find_object(manifests, "Service", "brightstaff-extproc")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    (container,) = pod(deployment)["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}

    # The Service: what the EnvoyFilter's cluster names, HTTP/2 (gRPC) by its port name, on brightstaff's port.
    (port,) = service["spec"]["ports"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert port["name"].startswith("grpc") and port.get("appProtocol") == "grpc"
    assert port["port"] == config.server.grpc_port == ports[port["targetPort"]]
    ext_proc = inserted_filters()[EXT_PROC]["typed_config"]
    assert ext_proc["grpc_service"]["envoy_grpc"]["cluster_name"] == extproc_service_cluster()
    assert config.server.grpc_host == "0.0.0.0", "the gateway is another pod"

    # The config: the generated ConfigMap, mounted where the command reads it.
    command = container["command"]
    assert command[:2] == ["brightstaff", "serve"]
    (mount,) = container["volumeMounts"]
    assert command[2] == f"{mount['mountPath'].rstrip('/')}/config.yaml"
    volumes = {v["name"]: v["configMap"]["name"] for v in pod(deployment)["volumes"]}
    config_map = find_object(docs("configmap.yaml"), "ConfigMap", volumes[mount["name"]])
    assert config_map["data"]["config.yaml"] == (ISTIO / "config.yaml").read_text(encoding="utf-8")

    # Keys from the Secret, every one the config reads; probes on the admin port.
    assert {e["name"] for e in container["env"] if "secretKeyRef" in e["valueFrom"]} == access_key_vars(config)
    assert config.server.admin_host == "0.0.0.0"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe"):
        assert ports[container[probe]["httpGet"]["port"]] == config.server.admin_port

    # The keys travel in ext_proc answers: a sidecar, mTLS only, and only the gateway may call.
    assert labels.get("sidecar.istio.io/inject") == "true"
    peer = find_object(manifests, "PeerAuthentication", "brightstaff-extproc")
    assert peer["spec"]["mtls"]["mode"] == "STRICT"
    assert peer["spec"]["selector"]["matchLabels"].items() <= labels.items()
    policy = find_object(manifests, "AuthorizationPolicy", "brightstaff-extproc")
    assert policy["spec"]["selector"]["matchLabels"].items() <= labels.items()
    gateway = find_object(docs("gateway.yaml"), "Deployment", "llm-gateway")
    identity = f"cluster.local/ns/{gateway['metadata']['namespace']}/sa/{pod(gateway)['serviceAccountName']}"
    (rule,) = policy["spec"]["rules"]
    assert rule["from"] == [{"source": {"principals": [identity]}}]
    assert rule["to"] == [{"operation": {"ports": [str(config.server.grpc_port)]}}]


def test_gateway_is_the_workload_the_envoy_filter_and_routes_select() -> None:
    manifests = docs("gateway.yaml")
    deployment = find_object(manifests, "Deployment", "llm-gateway")
    gateway = find_object(manifests, "Gateway", "llm-gateway")
    service = find_object(manifests, "Service", "llm-gateway")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert gateway["spec"]["selector"].items() <= labels.items()
    assert envoy_filter()["spec"]["workloadSelector"]["labels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    (server,) = gateway["spec"]["servers"]
    (port,) = service["spec"]["ports"]
    assert server["port"]["number"] == port["port"] == port["targetPort"]
    virtual_service = find_object(docs("routing.yaml"), "VirtualService", "brightstaff-models")
    assert virtual_service["spec"]["gateways"] == [gateway["metadata"]["name"]]
    assert set(virtual_service["spec"]["hosts"]) <= set(server["hosts"])


def test_every_provider_has_a_route_to_a_mesh_host() -> None:
    config = istio_config()
    routing = docs("routing.yaml")
    virtual_service = find_object(routing, "VirtualService", "brightstaff-models")
    entries = {h: d for d in routing if d["kind"] == "ServiceEntry" for h in d["spec"]["hosts"]}
    rules = {d["spec"]["host"]: d for d in routing if d["kind"] == "DestinationRule"}
    routes = virtual_service["spec"]["http"]
    by_header = {
        match["headers"][PROVIDER_HEADER]["exact"]: route for route in routes for match in route.get("match", [])
    }
    assert set(by_header) == {p.cluster for p in config.providers}
    for provider in config.providers:
        route = by_header[provider.cluster]
        ((destination,),) = [[r["destination"] for r in route["route"]]]
        assert destination["host"] == provider.host
        assert route["rewrite"]["authority"] == provider.host
        assert PROVIDER_HEADER in route["headers"]["request"]["remove"], "providers need not see the decision"
        entry_ports = {p["number"]: p for p in entries[provider.host]["spec"]["ports"]}
        port = entry_ports[destination["port"]["number"]]
        assert port.get("targetPort", port["number"]) == provider.port
        if provider.scheme == "https":
            (setting,) = rules[provider.host]["spec"]["trafficPolicy"]["portLevelSettings"]
            assert setting["port"]["number"] == port["number"]
            assert setting["tls"] == {"mode": "SIMPLE", "sni": provider.host, "subjectAltNames": [provider.host]}
    # Whatever brightstaff did not route (closed: the 503) comes last and matches everything.
    assert "match" not in routes[-1]
    assert config.server.failure_mode == "closed" and routes[-1]["directResponse"]["status"] == 503


def test_one_namespace_and_kustomization_applies_every_manifest() -> None:
    manifests = sorted(p.name for p in ISTIO.glob("*.yaml") if p.name not in ("config.yaml", "kustomization.yaml"))
    kustomization = yaml.safe_load((ISTIO / "kustomization.yaml").read_text(encoding="utf-8"))
    assert sorted(kustomization["resources"]) == manifests
    for name in manifests:
        for doc in docs(name):
            assert doc["metadata"].get("namespace") == NAMESPACE, f"{name}: {doc['kind']} {doc['metadata']['name']}"


def test_the_extproc_service_has_render_envoys_limits() -> None:
    """Held requests: Istio's cluster for brightstaff gets the breakers and streams per connection of
    render_envoy's ext_proc cluster, not Istio's defaults."""
    bootstrap = render_envoy(istio_config(), ca_bundle=ENVOY_IMAGE_CA_BUNDLE)
    (cluster,) = [c for c in bootstrap["static_resources"]["clusters"] if c["name"] == EXTPROC_CLUSTER]
    (limits,) = cluster["circuit_breakers"]["thresholds"]
    rule = find_object(docs("routing.yaml"), "DestinationRule", "brightstaff-extproc")
    assert rule["spec"]["host"] == extproc_service_cluster().split("||")[1]
    pool = rule["spec"]["trafficPolicy"]["connectionPool"]
    assert pool["tcp"]["maxConnections"] == limits["max_connections"] > 1024
    assert pool["http"]["http2MaxRequests"] == limits["max_requests"] > 1024
    assert pool["http"]["http1MaxPendingRequests"] == limits["max_pending_requests"]
    assert pool["http"]["maxConcurrentStreams"] == MAX_CONCURRENT_STREAMS
