"""The network engine: divisions and stations in one networkx graph, with per-subtree aggregates.

Graph layout (edges point up, as in the store):
- a division is the node `code` (a str) with attributes `division`, `totals`, `timeline`;
  `code -> parent_code` is PART_OF;
- a station is the node `("station", id)` with attribute `station`; `station -> division` is SITS_IN
  and `station -> ("station", parent_id)` is REPORTS_TO (its latest reporting line; the stations with
  a dated history, spec §6, are also listed under every station it names, in `graph.graph["reporters"]`).

Aggregates: every division keeps `totals` (how many divisions of each level its subtree holds, itself
included) and a `Timeline` of counters (active stations per level, staff sums, covered divisions per
level) over the days on which anything in its subtree changed. Every answer of spec §3 is then one
binary search at one node, for today or any past day; a write touches only the timelines of the
division it concerns and that division's ancestors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from graph_service.domain.model import Division, Station
from graph_service.engine.applying import SMALL_CHANGE, Applying
from graph_service.engine.building import Building
from graph_service.engine.bulk import BulkApplying
from graph_service.engine.daily import totals_bound
from graph_service.engine.graphs import collector_paused
from graph_service.engine.limits import Limits
from graph_service.engine.paging import Page
from graph_service.engine.queries import Queries
from graph_service.engine.values import (
    EngineLoadError,
    LevelCoverage,
    PartialNetwork,
    Rollup,
    Snapshot,
    StationNode,
    StoredProblem,
    SumExcess,
    station_node,
)

__all__ = [
    "SMALL_CHANGE",
    "EngineLoadError",
    "LevelCoverage",
    "NetworkEngine",
    "Page",
    "PartialNetwork",
    "Rollup",
    "Snapshot",
    "StationNode",
    "StoredProblem",
    "SumExcess",
    "collector_paused",
    "station_node",
]


class NetworkEngine(Building, Queries, Limits, Applying, BulkApplying):
    """The whole network as a networkx graph, answering spec §3 from aggregates kept on the graph.

    Built once from a stored network (`load`) or from records (`from_records`), then kept current
    with `apply(changes)` after every write (its own or another process's): it updates only the
    aggregates of the divisions concerned and their ancestors. It knows nothing of stores: the
    service layer asks the store for versions and changes and hands them over. Its parts: `building`,
    `queries`, `limits`, `applying` and `bulk`, over the graph and locks of `state.EngineState`.
    """

    @classmethod
    def load(cls, snapshot: Snapshot, version: int, *, aggregates: bool = True) -> NetworkEngine:
        """Build from a whole stored network (`snapshot`, as a store streamed it) at data `version`.
        Records that today's rules refuse are left out (with what depends on them) and listed in
        `problems`, never fatal.

        `aggregates=False` is for a process that only checks writes against the network (an import
        command): the aggregates are left unbuilt unless they are needed to tell which stored records
        break the rules, and are built when a write's sums or an `apply` need them; until then the
        coverage questions refuse (`RuntimeError`). That saves about 40% of the load's CPU."""
        return cls._built(snapshot, version, aggregates=aggregates)

    @classmethod
    def load_part(
        cls,
        snapshot: Snapshot,
        version: int,
        *,
        stations: int,
        staff: int,
        certified_staff: int,
        volunteers: int,
    ) -> NetworkEngine:
        """Build from part of a stored network (`snapshot`: what checking a write needs of it, each
        record with everything above it) at data `version`, to check writes against, as `load` with
        `aggregates=False` does. The whole network holds at most `stations` stations, whose staff,
        certified staff and volunteers add up to at most those: a write is checked against that bound
        only, and one it does not clear raises `PartialNetwork` (its sums need the whole network).
        Records of the part that today's rules refuse are left out and listed in `problems`."""
        return cls._built(snapshot, version, bound=totals_bound(stations, staff, certified_staff, volunteers))

    @classmethod
    def _built(
        cls, snapshot: Snapshot, version: int, *, aggregates: bool = True, bound: list[int] | None = None
    ) -> NetworkEngine:
        """An engine built from `snapshot` at data `version` (`Building._build` with `aggregates`
        and `bound`), taking its records (the snapshot is left empty)."""
        engine = cls()
        engine._set_successors(snapshot.successors)
        engine._loading_divisions, engine._loading_stations = snapshot.divisions, snapshot.stations
        snapshot.divisions, snapshot.stations = [], []
        engine.problems.extend(snapshot.problems)
        engine.version = version
        with collector_paused():
            engine._build(aggregates, bound)
        return engine

    @classmethod
    def from_records(
        cls,
        divisions: Iterable[Division],
        stations: Iterable[Station],
        version: int = 0,
        successors: Mapping[str, Sequence[str]] | None = None,
    ) -> NetworkEngine:
        """Build from records in memory (any order), with the `successors` of retired divisions
        (spec §6); `EngineLoadError` if they break the rules."""
        engine = cls()
        engine._set_successors(successors or {})
        for division in divisions:
            engine.add_division(division)
        for station in stations:
            engine.add_station(station)
        engine.version = version
        with collector_paused():
            engine._build()
        if engine.problems:
            raise EngineLoadError([str(problem) for problem in engine.problems])
        return engine

    def add_division(self, division: Division) -> None:
        """Take one division of the records being built from (added and linked in `_build`)."""
        self._loading_divisions.append(division)

    def add_station(self, station: Station) -> None:
        """Take one station of the records being built from (added and linked in `_build`)."""
        self._loading_stations.append(station)
