"""config/model.py is a leaf the sans-IO core may import: the standard library only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import brightstaff.config.model as model

MODEL = Path(model.__file__)


def imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.append("." * node.level + (node.module or ""))
    return names


def test_the_model_imports_only_the_standard_library() -> None:
    imports = imported_modules(MODEL)
    assert "typing" in imports  # the parse saw the imports
    outside = [name for name in imports if name.split(".")[0] not in sys.stdlib_module_names]
    assert outside == []


def test_every_kind_lists_its_literal_values_in_order() -> None:
    assert model.FAILURE_MODES == ("closed", "open")
    assert model.TRANSPORTS == ("native", "grpcio")
    assert model.TTL_MODES == ("sliding", "fixed")
    assert model.ROUTER_FORMATS == ("arch_router", "orchestrator_v1")
    assert model.ROUTER_TYPES == ("embedded", "llm")
    assert model.PIN_STORE_TYPES == ("memory", "redis")
    assert set(model.ROUTER_CONTEXT_TOKENS) == set(model.ROUTER_FORMATS)


def test_the_llm_router_default_budget_is_its_default_format_s() -> None:
    settings = model.LlmRouterSettings(base_url="http://h/v1", model="m")
    assert settings.max_context_tokens == model.ROUTER_CONTEXT_TOKENS[settings.format]


def test_a_redis_url_and_secrets_stay_out_of_repr() -> None:
    settings = model.RedisPinStoreSettings(url="redis://app:s3cret@cache:6380/2")
    assert "s3cret" not in repr(settings)
    assert settings.display_url == "redis://cache:6380/2"
    assert model.RedisPinStoreSettings(url="unix:///run/redis.sock").display_url == "unix:///run/redis.sock"
    assert model.RedisPinStoreSettings(url="redis://[::1]").display_url == "redis://[::1]:6379/0"
    assert "k-1" not in repr(model.LlmRouterSettings(base_url="http://h", model="m", access_key=model.Secret("k-1")))


def test_importing_the_model_loads_neither_yaml_nor_the_parsers() -> None:
    """`brightstaff.config` runs first when the model is imported; it must not pull in the parsing side."""
    probe = (
        "import sys, brightstaff.config.model; "
        "print(sorted(m for m in sys.modules if m.startswith('brightstaff') or m == 'yaml'))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.strip() == "['brightstaff', 'brightstaff.config', 'brightstaff.config.model']"


def test_the_parsing_side_is_still_importable_from_the_package() -> None:
    from brightstaff.config import PLANO_ONLY_KEYS, ROUTER_TIMEOUT_HEADROOM_MS, load_config, parse_config

    assert callable(load_config) and callable(parse_config)
    assert "ratelimits" in PLANO_ONLY_KEYS and ROUTER_TIMEOUT_HEADROOM_MS == 100
