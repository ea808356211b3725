"""Where the deployment files live, how tests/deploy reads them, and the checks its modules share.

The Dockerfile is read with dockerfile-parse (continuation lines joined, comments kept apart); YAML
manifests with PyYAML's safe loader, as kubectl and docker-compose v1 read them. Envoy configs are
checked with the pinned Envoy's `--mode validate`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from dockerfile_parse import DockerfileParser

from brightstaff.config import Config
from brightstaff.proxy.bootstrap import find_ca_bundle
from brightstaff.proxy.envoy_process import validate_envoy_config

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE_FILE = ROOT / "docker-compose.yml"
K8S = ROOT / "deploy" / "kubernetes"
ISTIO = K8S / "istio"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
# The CA bundle inside the envoyproxy/envoy image (Ubuntu): what https provider clusters must name,
# whatever the machine that renders them has.
ENVOY_IMAGE_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def yaml_docs(path: Path) -> list[dict[str, Any]]:
    """The documents of a (multi-document) YAML file, empty ones left out."""
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def find_object(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def access_key_vars(config: Config) -> set[str]:
    """The environment variables a config's `access_key: $VAR` entries read."""
    sources = (p.access_key_source or "" for p in config.providers)
    return {source[1:] for source in sources if source.startswith("$")}


def envoy_validate(bootstrap: dict[str, Any], tmp_path: Path) -> None:
    """`envoy --mode validate`, with the image's CA path swapped for a local one if this machine lacks it."""
    text = yaml.safe_dump(bootstrap, sort_keys=False)
    if ENVOY_IMAGE_CA_BUNDLE in text and not Path(ENVOY_IMAGE_CA_BUNDLE).is_file():
        text = text.replace(ENVOY_IMAGE_CA_BUNDLE, find_ca_bundle())
    path = tmp_path / "envoy.yaml"
    path.write_text(text, encoding="utf-8")
    ok, output = validate_envoy_config(path)
    assert ok, f"envoy --mode validate rejected the config:\n{output}"


class Dockerfile:
    """A Dockerfile's instructions, in order and per stage; the last stage is the runtime image."""

    def __init__(self, path: Path) -> None:
        self.text = path.read_text(encoding="utf-8")
        with path.open("rb") as file:
            structure = DockerfileParser(fileobj=file, env_replace=False).structure
        # (INSTRUCTION, value): the value with continuation lines joined, as the builder sees it.
        self.instructions: list[tuple[str, str]] = [
            (item["instruction"], item["value"]) for item in structure if item["instruction"] != "COMMENT"
        ]
        self.args: dict[str, str] = {}  # ARGs before the first FROM (usable in FROM lines)
        self.stages: list[list[tuple[str, str]]] = []
        for keyword, value in self.instructions:
            if keyword == "FROM":
                self.stages.append([])
            if self.stages:
                self.stages[-1].append((keyword, value))
            elif keyword == "ARG":
                name, _, default = value.partition("=")
                self.args[name.strip()] = default.strip()

    def stage_names(self) -> list[str | None]:
        """Each stage's `AS` name (None when it has none), in order."""
        names: list[str | None] = []
        for stage in self.stages:
            words = stage[0][1].split()
            upper = [word.upper() for word in words]
            names.append(words[upper.index("AS") + 1] if "AS" in upper else None)
        return names

    def runtime(self, keyword: str) -> list[str]:
        return [value for key, value in self.stages[-1] if key == keyword]

    def base_image(self) -> str:
        image = self.runtime("FROM")[0].split()[0]
        return re.sub(r"\$\{(\w+)\}", lambda m: self.args[m.group(1)], image)
