"""The engine's value types: what it answers (coverage, roll-ups), what it reports (problems, sums
too large) and what it is built from (a `Snapshot`). Plain data, imported by every engine module."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division, Station

StationNode = tuple[str, str]
Node = str | StationNode
"""A graph node: a division's code, or a station's `station_node`."""
Attributes = dict[str, Any]
"""A node's attributes (division, totals, timeline; or station), or an edge's data (always empty)."""
Links = dict[Node, Attributes]
"""A node's successors or predecessors, each with the edge's data."""


def station_node(station_id: str) -> StationNode:
    """The graph node of a station (a tuple, so it never collides with a division code)."""
    return ("station", station_id)


class PartialNetwork(Exception):
    """An engine built from part of the network (`NetworkEngine.load_part`) was asked for what only
    the whole network can tell: aggregates, to check a write whose sums its bound does not clear."""


class EngineLoadError(Exception):
    """The stored network breaks the rules of spec §1–§2; `problems` lists every one found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = "\n  ".join(self.problems[:50])
        more = f"\n  … and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"the stored network is invalid ({len(self.problems)} problems):\n  {shown}{more}")


@dataclass(frozen=True, slots=True)
class StoredProblem:
    """A stored record that today's rules refuse (or a roll-up sum too large to answer): the engine
    leaves the record out, with whatever depends on it, and lists it here instead of failing.

    `kind` is "division" or "station", `key` its code or id, `column` the field to blame (if one),
    `version` the stored version of a station (so a corrected import can replace it).
    """

    kind: str
    key: str
    column: str | None
    message: str
    version: int | None = None

    def __str__(self) -> str:
        return f"{self.kind} {self.key}" + (f", {self.column}" if self.column else "") + f": {self.message}"

    def as_json(self) -> dict[str, str | None]:
        return {"kind": self.kind, "key": self.key, "column": self.column, "message": self.message}


class Snapshot:
    """A whole stored network as a store streams it (a `SnapshotSink`: every division, then every
    station, and the rows that could not even be read as records), for `NetworkEngine.load`."""

    def __init__(self) -> None:
        self.divisions: list[Division] = []
        self.stations: list[Station] = []
        self.problems: list[StoredProblem] = []
        self.successors: dict[str, list[str]] = {}

    def add_division(self, division: Division) -> None:
        """Take one division."""
        self.divisions.append(division)

    def add_station(self, station: Station) -> None:
        """Take one station."""
        self.stations.append(station)

    def add_successors(self, old_code: str, new_codes: list[str]) -> None:
        """Take the successors of one retired division, in order (spec §6)."""
        self.successors[old_code] = new_codes

    def reject(self, kind: str, key: str, message: str, version: int | None = None) -> None:
        """A stored row that could not even be read as a record (a bad date, level…)."""
        self.problems.append(StoredProblem(kind, key, None, message, version))

    def forget(self, codes: Collection[str], ids: Collection[str]) -> None:
        """Drop what was taken of the divisions `codes` (with their successor links) and the stations
        `ids`, rejections included (they are given again)."""
        if codes:
            self.divisions = [division for division in self.divisions if division.code not in codes]
            for code in codes:
                self.successors.pop(code, None)
        if ids:
            self.stations = [station for station in self.stations if station.id not in ids]
        self.problems = [
            problem
            for problem in self.problems
            if problem.key not in (codes if problem.kind == "division" else ids)
        ]


@dataclass(frozen=True, slots=True)
class SumExcess:
    """A roll-up total that a write would take over `MAX_SUM`: where, which column, when, how much."""

    code: str
    column: str
    day: date
    value: int


@dataclass(frozen=True, slots=True)
class LevelCoverage:
    level: DivisionLevel
    total: int
    covered: int

    @property
    def rate(self) -> float | None:
        return self.covered / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class Rollup:
    guidance_centres: int = 0
    general_stations: int = 0
    township_stations: int = 0
    village_rooms: int = 0
    staff: int = 0
    certified_staff: int = 0
    volunteers: int = 0
