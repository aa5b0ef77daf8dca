"""The audit trail's pure parts: rows as JSON text, and where a row sits (`within`)."""

from __future__ import annotations

import json

import pytest

from graph_service.domain.audit import DivisionPaths, division_json, within_of, within_pattern
from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division


@pytest.mark.parametrize("name", ["贵阳市", 'a "quoted", back\\slash name', "tab\tand\u2028separator"])
@pytest.mark.parametrize("parent", [None, "52"])
def test_division_json_is_the_row_object(name: str, parent: str | None) -> None:
    division = Division("5201", name, DivisionLevel.CITY, parent)
    assert json.loads(division_json(division)) == {
        "code": "5201",
        "name": name,
        "level": "city",
        "parent_code": parent,
    }


def test_within_lists_every_code_on_the_paths_once() -> None:
    parents = {"52": None, "5201": "52", "520102": "5201", "5223": "52"}
    paths = DivisionPaths(parents.get)
    assert paths.path("520102") == ("52", "5201", "520102")
    assert paths.within("520102") == paths.within_one("520102") == "|52|5201|520102|"
    assert paths.within("520102", "5223") == "|52|5201|520102|5223|"
    assert paths.within(None, "5223") == within_of(("52", "5223"))
    assert within_pattern("5201") in paths.within("520102")
    assert within_pattern("520") not in paths.within("520102")
