"""Every deployment file fits the schema of the tool that reads it: offline, with no cluster and no engine.

- Kubernetes manifests (every resource under deploy/kubernetes/): the Kubernetes API's own JSON schemas as
  kubernetes-validate ships them, strict (a field the API does not know fails, as with `kubectl apply`'s
  strict field validation), for each version in K8S_VERSIONS.
- Istio resources: the openAPIV3Schema of Istio's CRDs (vendored, see schemas/README.md), also strict,
  and the apiVersion must be one the CRD serves. Their metadata is checked as Kubernetes ObjectMeta.
- docker-compose.yml: the Compose Specification's schema (Compose v2) and docker-compose v1's own schema,
  validated the way each tool validates it.
What a schema cannot see (the CRDs' CEL rules, the Envoy config inside EnvoyFilter patches) is checked
elsewhere: test_istio.py runs the patches through `envoy --mode validate`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from deploy_files import COMPOSE_FILE, K8S, SCHEMAS, yaml_docs

# The Kubernetes versions the manifests are validated against (kubernetes-validate is pinned in
# pyproject.toml; it ships the schemas): an older release still widely run, and the newest it knows.
K8S_VERSIONS = ("1.31", "1.37")
ISTIO_CRDS = SCHEMAS / "istio" / "crd-1.30.3.yaml"
COMPOSE_V2_SCHEMA = SCHEMAS / "compose-spec" / "compose-spec.json"
COMPOSE_V1_SCHEMA = SCHEMAS / "docker-compose-1.29.2" / "compose_spec.json"
# brightstaff's own configs and kustomize's file live beside the manifests but are not cluster resources.
NOT_RESOURCES = {"config.yaml", "kustomization.yaml"}


def manifest_files() -> list[Path]:
    files = sorted(p for p in K8S.rglob("*.yaml") if p.name not in NOT_RESOURCES)
    assert files, "no manifests found"
    return files


def resources() -> list[tuple[str, dict[str, Any]]]:
    """(file:kind/name, resource) for every resource of every manifest."""
    found = []
    for path in manifest_files():
        for doc in yaml_docs(path):
            label = f"{path.relative_to(K8S)}:{doc['kind']}/{doc['metadata']['name']}"
            found.append((label, doc))
    return found


def messages(errors: Iterable[jsonschema.ValidationError]) -> list[str]:
    return [f"{'.'.join(str(p) for p in error.path)}: {error.message}" for error in errors]


def is_istio(resource: dict[str, Any]) -> bool:
    return str(resource["apiVersion"]).split("/")[0].endswith(".istio.io")


# --------------------------------------------------------------------------------------------------
# Kubernetes


def k8s_errors(resource: dict[str, Any], version: str) -> str | None:
    try:
        kubernetes_validate.validate(resource, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        return f"{'.'.join(str(p) for p in error.path)}: {error.message}"
    return None


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_kubernetes_resources_fit_the_api_schemas(version: str) -> None:
    checked = [label for label, resource in resources() if not is_istio(resource)]
    assert checked, "no Kubernetes resources found"
    for label, resource in resources():
        if not is_istio(resource):
            error = k8s_errors(resource, version)
            assert error is None, f"{label} is not a valid {resource['kind']} in Kubernetes {version}: {error}"
    # The validator is strict: a misspelt field fails, as it would at `kubectl apply`.
    misspelt = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"selectr": {}}}
    assert k8s_errors(misspelt, version) is not None


# --------------------------------------------------------------------------------------------------
# Istio


def _strict(schema: Any) -> Any:
    """A CRD schema that refuses unknown fields (the API server's strict field validation), except where
    the CRD keeps them on purpose (x-kubernetes-preserve-unknown-fields, e.g. an EnvoyFilter patch value)."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {key: _strict(value) for key, value in schema.items()}
    if (
        isinstance(schema.get("properties"), dict)
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        strict["additionalProperties"] = False
    return strict


@cache
def istio_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the strict schema of that served CRD version."""
    found = {}
    for crd in yaml_docs(ISTIO_CRDS):
        spec = crd["spec"]
        for version in spec["versions"]:
            if version["served"]:
                schema = _strict(version["schema"]["openAPIV3Schema"])
                found[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = schema
    return found


def istio_errors(resource: dict[str, Any]) -> list[str]:
    schema = istio_schemas().get((resource["apiVersion"], resource["kind"]))
    if schema is None:
        return [f"no served CRD version {resource['apiVersion']} of {resource['kind']} in {ISTIO_CRDS.name}"]
    # The CRD schema covers spec (and status); metadata is ObjectMeta, the same for every kind.
    body = {key: value for key, value in resource.items() if key not in ("apiVersion", "kind", "metadata")}
    errors = messages(jsonschema.Draft7Validator(schema).iter_errors(body))
    meta = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": resource["metadata"]}
    meta_error = k8s_errors(meta, K8S_VERSIONS[-1])
    return errors + ([meta_error] if meta_error else [])


def test_istio_resources_fit_istios_crds() -> None:
    checked = [(label, resource) for label, resource in resources() if is_istio(resource)]
    assert {resource["kind"] for _, resource in checked} >= {
        "EnvoyFilter",
        "Gateway",
        "VirtualService",
        "ServiceEntry",
        "DestinationRule",
    }
    for label, resource in checked:
        errors = istio_errors(resource)
        assert not errors, f"{label} does not fit Istio's CRD:\n" + "\n".join(errors)
    # Strict here too: a misspelt field fails.
    misspelt = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "x"},
        "spec": {"hosts": ["*"], "http": [{"route": [{"destination": {"hots": "a"}}]}]},
    }
    assert istio_errors(misspelt)


# --------------------------------------------------------------------------------------------------
# docker-compose.yml: Compose v2 and docker-compose v1


def compose_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return data


def compose_v2_errors(data: dict[str, Any]) -> list[str]:
    schema = json.loads(COMPOSE_V2_SCHEMA.read_text(encoding="utf-8"))
    return messages(jsonschema.Draft7Validator(schema).iter_errors(data))


def compose_v1_errors(data: dict[str, Any]) -> list[str]:
    """As docker-compose 1.29.2 validates: Draft 4, its `expose` format, then each service's constraints."""
    schema = json.loads(COMPOSE_V1_SCHEMA.read_text(encoding="utf-8"))
    formats = jsonschema.FormatChecker(formats=())

    @formats.checks("expose")
    def _expose(instance: object) -> bool:
        return not isinstance(instance, str) or re.match(r"^\d+(\-\d+)?(\/[a-zA-Z]+)?$", instance) is not None

    validator = jsonschema.Draft4Validator(schema, format_checker=formats)
    errors = messages(validator.iter_errors(data))
    constraints = jsonschema.Draft4Validator(schema["definitions"]["constraints"]["service"])
    for name, service in data.get("services", {}).items():
        errors += [f"services.{name}: {e.message}" for e in constraints.iter_errors(service)]
    return errors


def test_compose_file_fits_the_compose_specification_v2() -> None:
    errors = compose_v2_errors(compose_data())
    assert not errors, "docker-compose.yml does not fit the Compose Specification:\n" + "\n".join(errors)
    assert compose_v2_errors({"services": {"a": {"image": "x", "buidl": "."}}}), "the schema refuses unknown keys"


def test_compose_file_fits_docker_compose_v1() -> None:
    data = compose_data()
    # docker-compose v1 reads a file without `version` but with `services` as the Compose Specification
    # (1.27 onwards; `profiles` needs 1.28), the same schema it applies to `version: "2.x"/"3.x"` files.
    # Compose v2 warns that `version` is obsolete, so the file has none.
    assert "version" not in data, "Compose v2 warns about `version`; docker-compose v1 (>= 1.27) needs none"
    assert "services" in data
    errors = compose_v1_errors(data)
    assert not errors, "docker-compose v1 would refuse docker-compose.yml:\n" + "\n".join(errors)
    # Keys newer than docker-compose v1 fail here (`develop`, `depends_on.*.restart`, ...).
    assert compose_v1_errors({"services": {"a": {"image": "x", "develop": {}}}})
    assert compose_v1_errors({"services": {"a": {"image": "x", "expose": ["80:80"]}}})
