"""Brute-force recounts of spec §3, straight from the definitions, to check the engine against; on a
day, only the divisions valid that day are counted, covered or listed (spec §6)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from graph_service.domain.levels import COVERAGE_LEVELS, DivisionLevel
from graph_service.domain.model import Division, Station
from graph_service.domain.validity import is_valid_on


class Oracle:
    """Answers spec §3 questions by walking every record on every call."""

    def __init__(self, divisions: Iterable[Division], stations: Iterable[Station]) -> None:
        self.divisions = {d.code: d for d in divisions}
        self.stations = {s.id: s for s in stations}

    def subtree(self, code: str) -> list[Division]:
        """`code` and every division below it."""
        result = []
        for division in self.divisions.values():
            current: str | None = division.code
            while current is not None:
                if current == code:
                    result.append(division)
                    break
                current = self.divisions[current].parent_code
        return result

    def covered(self, code: str, day: date) -> bool | None:
        division = self.divisions[code]
        if division.level is DivisionLevel.PROVINCE:
            return None
        return is_valid_on(division, day) and any(
            s.division_code == code and s.level.division_level is division.level and s.is_active_on(day)
            for s in self.stations.values()
        )

    def coverage(self, code: str, day: date) -> list[tuple[DivisionLevel, int, int]]:
        below = self.subtree(code)
        return [
            (
                level,
                sum(d.level is level and is_valid_on(d, day) for d in below),
                sum(d.level is level and self.covered(d.code, day) for d in below),
            )
            for level in self.divisions[code].level.levels_below
        ]

    def rollup(self, code: str, day: date) -> tuple[int, ...]:
        inside = {d.code for d in self.subtree(code)}
        active = [s for s in self.stations.values() if s.division_code in inside and s.is_active_on(day)]
        counts = tuple(sum(s.level.rank == rank for s in active) for rank in range(4))
        return counts + (
            sum(s.staff for s in active),
            sum(s.certified_staff for s in active),
            sum(s.volunteers for s in active),
        )

    def uncovered(self, code: str, level: DivisionLevel, day: date) -> list[str]:
        assert level in COVERAGE_LEVELS
        return sorted(
            d.code
            for d in self.subtree(code)
            if d.level is level and is_valid_on(d, day) and not self.covered(d.code, day)
        )

    def children(self, code: str, day: date) -> list[str]:
        """The codes of the divisions directly under `code` valid on `day`, sorted."""
        return sorted(
            d.code for d in self.divisions.values() if d.parent_code == code and is_valid_on(d, day)
        )
