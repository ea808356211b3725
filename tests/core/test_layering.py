"""core/ is the bottom layer: its modules import only the standard library, msgspec, orjson, each other and
the leaf config model. Parsed from the source, so an import hidden inside a function counts too."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "brightstaff" / "core"
ALLOWED_THIRD_PARTY = {"msgspec", "orjson"}
ALLOWED_BRIGHTSTAFF = ("brightstaff.core", "brightstaff.config.model")
# Standard-library modules that do I/O, concurrency or time: the core decides, it never waits or reads.
FORBIDDEN_STDLIB = {"asyncio", "socket", "threading", "subprocess", "time", "os", "pathlib", "logging", "selectors"}


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.ImportFrom):
            names.append("brightstaff.core" + ("." + node.module if node.module else ""))  # relative: inside core
    return names


def refused(module: str) -> str | None:
    top = module.split(".")[0]
    if module == "__future__":
        return None
    if top == "brightstaff":
        ok = any(module == allowed or module.startswith(allowed + ".") for allowed in ALLOWED_BRIGHTSTAFF)
        return None if ok else "imports a brightstaff layer above core"
    if top in FORBIDDEN_STDLIB:
        return "imports standard-library I/O, concurrency or clocks"
    if top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY:
        return None
    return "imports a third-party package other than msgspec and orjson"


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_imports_nothing_above_it(path: Path) -> None:
    problems = [f"{module}: {why}" for module in imported_modules(path) if (why := refused(module))]
    assert not problems, f"{path.name}: {problems}"


@pytest.mark.parametrize(
    ("module", "ok"),
    [
        ("brightstaff.core.errors", True),
        ("brightstaff.config.model", True),
        ("brightstaff.config", False),
        ("brightstaff.config.load", False),
        ("brightstaff.pins.base", False),
        ("brightstaff.routing.base", False),
        ("grpc", False),
        ("yaml", False),
        ("asyncio", False),
        ("msgspec", True),
        ("dataclasses", True),
    ],
)
def test_the_rule_itself(module: str, ok: bool) -> None:
    assert (refused(module) is None) == ok
