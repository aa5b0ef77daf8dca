"""The read model (as cosmicpython's `views.py`): every read the entry points make of the network.

`NetworkViews` answers from the engine and never touches the store. It also offers the "one
consistent version per request" context: inside `consistent()` (or `consistent_now()`, which only
takes the engine if it is free this instant) no write swaps the network, so every read of one
request sees one data version. Entry points use this module and `NetworkService`, never the engine.

May import: the domain and the engine (its value types and `NetworkEngine`); nothing above.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from graph_service.domain.model import Division, Station
from graph_service.engine import LevelCoverage, NetworkEngine, Page, Rollup, StoredProblem, page_of

__all__ = ["LevelCoverage", "NetworkViews", "Page", "Rollup"]
"""The engine's value types are re-exported: the entry points take them from here."""


class NetworkViews:
    """The reads of the network as it stands in memory, and the context that holds it still."""

    def __init__(self, engine: NetworkEngine) -> None:
        self._engine = engine

    # --- one version per request -------------------------------------------------------------------

    @contextmanager
    def consistent(self) -> Iterator[int]:
        """Hold the network still (waiting for a write being swapped in); yields the data version
        every read inside sees."""
        with self._engine.lock:
            yield self._engine.version

    @contextmanager
    def consistent_now(self) -> Iterator[bool]:
        """Hold the network still only if it is free this instant: yields True when held (reads
        inside see one version), False when busy (nothing held; the caller goes another way)."""
        lock = self._engine.lock
        held = lock.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                lock.release()

    # --- the state of the data ---------------------------------------------------------------------

    @property
    def version(self) -> int:
        """The data version the network in memory is at."""
        return self._engine.version

    @property
    def problems(self) -> list[StoredProblem]:
        """Stored rows today's rules refuse (left out of every answer)."""
        return self._engine.problems

    def division_records(self) -> Iterator[Division]:
        """Every division, by code."""
        return self._engine.division_records()

    def station_records(self) -> Iterator[Station]:
        """Every station, by id."""
        return self._engine.station_records()

    # --- lookups and pages -------------------------------------------------------------------------

    def division(self, code: str) -> Division | None:
        """The division with this code, or None."""
        return self._engine.division(code)

    def station(self, station_id: str) -> Station | None:
        """The station with this id, or None."""
        return self._engine.station(station_id)

    def ancestors(self, code: str) -> list[Division]:
        """Every division above `code`, root first."""
        return self._engine.ancestors(code)

    def children(self, code: str, after: str | None, first: int, day: date | None = None) -> Page[Division]:
        """The divisions directly below `code` (valid on `day`, when given), by code: the `first`
        after the code `after`."""
        return self._engine.children(code, after, first, day)

    def stations_in(self, code: str, after: str | None, first: int) -> Page[Station]:
        """The stations sitting in division `code` itself, by id: the `first` after the id `after`."""
        return self._engine.stations_in(code, after, first)

    def reporting_stations(
        self, station_id: str, after: str | None, first: int, day: date | None = None
    ) -> Page[Station]:
        """The stations reporting to `station_id` (on `day`, when given: by their reporting line
        valid that day, spec §6; else by their latest one), by id: the `first` after the id `after`."""
        by_id = {station.id: station for station in self._engine.stations_reporting_to(station_id, day)}
        return page_of(list(by_id), after, first, by_id.__getitem__)

    # --- figures on a day --------------------------------------------------------------------------

    def covered(self, code: str, day: date) -> bool | None:
        """Whether an active station of the division's own level sits in it on `day` (None: a province)."""
        return self._engine.covered(code, day)

    def coverage(self, code: str, day: date) -> list[LevelCoverage]:
        """For each level below `code`, top-down: how many of its divisions are covered on `day`."""
        return self._engine.coverage(code, day)

    def rollup(self, code: str, day: date) -> Rollup:
        """The stations active on `day` in `code` or below it: counts per level, staff sums."""
        return self._engine.rollup(code, day)
