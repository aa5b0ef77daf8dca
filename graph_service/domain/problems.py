"""What validation reports, and what it reads of the stored network: `Problem` (one thing wrong with
the input: row, column, why) and `NetworkView`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from graph_service.domain.model import Division, Station


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input: where (row, column) and why."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class NetworkView(Protocol):
    """What validation needs to know of the stored network."""

    def division(self, code: str) -> Division | None: ...

    def station(self, station_id: str) -> Station | None: ...

    def stations_reporting_to(self, station_id: str) -> Iterable[Station]: ...

    def stations_below(self, code: str) -> Iterable[Station]:
        """The stations sitting in division `code` or anywhere below it."""
        ...


class EmptyNetwork:
    """A `NetworkView` of a store that holds nothing yet."""

    def division(self, code: str) -> Division | None:
        return None

    def station(self, station_id: str) -> Station | None:
        return None

    def stations_reporting_to(self, station_id: str) -> Iterable[Station]:
        return ()

    def stations_below(self, code: str) -> Iterable[Station]:
        return ()
