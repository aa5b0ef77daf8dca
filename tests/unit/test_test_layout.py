"""The tests' own layout: every test module in one of the three layers, fixtures shared through
conftest.py (never imported), helpers imported from helper modules (never from a test module)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.support.paths import REPO

TESTS = REPO / "tests"
LAYERS = ("unit", "integration", "e2e")


def imported_modules(path: Path) -> list[str]:
    """The `tests.` modules the module at `path` imports, lazily or not."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return [name for name in names if name == "tests" or name.startswith("tests.")]


def test_every_test_module_sits_in_a_layer() -> None:
    outside = [
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("test_*.py")
        if path.relative_to(TESTS).parts[0] not in LAYERS
    ]
    assert outside == [], f"put these under tests/unit, tests/integration or tests/e2e: {outside}"


def test_fixtures_and_helpers_are_not_imported_from_conftest_or_test_modules() -> None:
    wrong = []
    for path in sorted(TESTS.rglob("*.py")):
        for module in imported_modules(path):
            last = module.rsplit(".", 1)[-1]
            if last == "conftest" or last.startswith("test_"):
                wrong.append(f"{path.relative_to(TESTS)} imports {module}")
        if re.search(r"#\s*noqa:\s*(F401|F811)", path.read_text(encoding="utf-8")):
            wrong.append(f"{path.relative_to(TESTS)} silences an unused or redefined import (a fixture?)")
    assert wrong == [], "fixtures belong in a conftest.py, helpers in tests/support/: " + "; ".join(wrong)
