"""Brute-force recounts of spec §3 straight from a store's rows, to check the service's answers.

The definitions are those of tests/support/oracle.py (every question answered by walking the records,
no aggregates, no timelines), indexed by parent so that one question at national scale walks only the
asked division's subtree. The rows come from the store's own streaming load (`Store.load`), in a
process of the benchmark's own, not from the engine being checked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date

from graph_service.bootstrap import open_store
from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division, Station
from graph_service.service_layer.settings import Settings


class Recount:
    """Every division and station of a store, answering coverage, roll-up and gap lists by walking them."""

    def __init__(self) -> None:
        self.divisions: dict[str, Division] = {}
        self.children: dict[str, list[str]] = defaultdict(list)
        self.stations_in: dict[str, list[Station]] = defaultdict(list)
        self.stations: dict[str, Station] = {}

    @classmethod
    def from_store(cls, store_url: str) -> Recount:
        """Read the whole store as it is now."""
        recount = cls()
        store = open_store(Settings.from_env(store_url=store_url))
        try:
            store.load(recount)
        finally:
            store.close()
        return recount

    # SnapshotSink
    def add_division(self, division: Division) -> None:
        self.divisions[division.code] = division
        if division.parent_code is not None:
            self.children[division.parent_code].append(division.code)

    def add_station(self, station: Station) -> None:
        self.stations[station.id] = station
        self.stations_in[station.division_code].append(station)

    def add_successors(self, old_code: str, new_codes: list[str]) -> None:
        """Successor links (spec §6) are not part of this recount of spec §3."""

    def forget(self, codes: Collection[str], ids: Collection[str]) -> None:
        """Drop the divisions `codes` and the stations `ids`: a store that read without holding writers
        back (Neo4j) gives them again, as they are now."""
        for code in codes:
            division = self.divisions.pop(code, None)
            if division is not None and division.parent_code is not None:
                self.children[division.parent_code].remove(code)
        for station_id in ids:
            station = self.stations.pop(station_id, None)
            if station is not None:
                self.stations_in[station.division_code].remove(station)

    # --- spec §3 ---------------------------------------------------------------------------------

    def subtree(self, code: str) -> list[Division]:
        """`code` and every division below it."""
        found: list[Division] = []
        stack = [code]
        while stack:
            current = stack.pop()
            found.append(self.divisions[current])
            stack.extend(self.children.get(current, ()))
        return found

    def is_covered(self, division: Division, day: date) -> bool:
        """An active station of the division's own level sits in it on `day`."""
        return any(
            s.level.division_level is division.level and s.is_active_on(day)
            for s in self.stations_in.get(division.code, ())
        )

    def coverage(self, code: str, day: date) -> list[tuple[str, int, int]]:
        """(level, total, covered) for each level below `code`'s, top-down."""
        below = self.subtree(code)
        return [
            (
                str(level),
                sum(d.level is level for d in below),
                sum(d.level is level and self.is_covered(d, day) for d in below),
            )
            for level in self.divisions[code].level.levels_below
        ]

    def rollup(self, code: str, day: date) -> tuple[int, ...]:
        """Active stations per station level (top-down), then the staff, certified and volunteer sums."""
        active = [
            s for d in self.subtree(code) for s in self.stations_in.get(d.code, ()) if s.is_active_on(day)
        ]
        counts = tuple(sum(s.level.rank == rank for s in active) for rank in range(4))
        return counts + (
            sum(s.staff for s in active),
            sum(s.certified_staff for s in active),
            sum(s.volunteers for s in active),
        )

    def uncovered(self, code: str, level: DivisionLevel, day: date) -> list[str]:
        """The level-`level` divisions under `code` not covered on `day`, by code."""
        return sorted(d.code for d in self.subtree(code) if d.level is level and not self.is_covered(d, day))
