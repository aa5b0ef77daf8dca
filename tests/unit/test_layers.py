"""The dependency rule: each package of `graph_service` imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import REPO

PACKAGE = REPO / "graph_service"

ALLOWED = {
    "domain": {"domain"},
    "ports": {"domain", "ports"},
    "engine": {"domain", "engine"},
    "service_layer": {"domain", "ports", "engine", "service_layer"},
    "adapters": {"domain", "ports", "adapters"},
    "entrypoints": {"domain", "ports", "service_layer", "entrypoints", "bootstrap"},
    "bootstrap": {"domain", "ports", "engine", "service_layer", "adapters", "bootstrap"},
}
"""For each part of the package, the parts its modules may import."""


def imported_parts(path: Path) -> set[str]:
    """The parts of `graph_service` (first name under it) the module at `path` imports, lazily or not."""
    parts: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom) and node.level == 0
            else []
        )
        parts.update(name.split(".")[1] for name in names if name.startswith("graph_service."))
    return parts


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        part = relative.parts[0].removesuffix(".py")
        if part == "__init__":
            continue
        for imported in imported_parts(path) - ALLOWED[part]:
            wrong.append(f"{relative} imports graph_service.{imported}")
    assert wrong == []


def test_the_engine_depends_on_the_domain_only() -> None:
    """The engine takes plain data (a snapshot, changes) and never reads a store: no module of it
    imports the ports, an adapter or anything above it (the service layer feeds it)."""
    for path in sorted((PACKAGE / "engine").rglob("*.py")):
        assert imported_parts(path) <= {"domain", "engine"}, path.name
