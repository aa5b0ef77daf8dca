"""The use cases of the service: reading the network on a day, changing stations, importing files.

`NetworkService` owns one store and the engine built from it. Reads answer from the engine and never
touch the store; `refresh()` catches up with another process's writes (a server calls it from a
background thread: `service_layer.following`). Every write is validated whole, access-checked, written
in one store transaction, then applied to the engine, so the very next read reflects it. A store that
is busy or unreachable makes a write fail with `Unavailable` (nothing written, safe to retry).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from graph_service.domain import calendar
from graph_service.domain.calendar import Interval
from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division
from graph_service.engine import LevelCoverage, Page
from graph_service.service_layer.auditing import AuditPage, AuditReads
from graph_service.service_layer.errors import BadUserInput
from graph_service.service_layer.importing import ImportProgress, ImportReport, Imports
from graph_service.service_layer.station_writes import StationWrites

__all__ = ["MAX_TREND_POINTS", "AuditPage", "ImportProgress", "ImportReport", "NetworkService"]

MAX_TREND_POINTS = 1_000
"""The most points one coverage trend may hold (spec §8)."""


class NetworkService(AuditReads, StationWrites, Imports):
    """The use cases over one store and its engine (the parts: `base`, `auditing`, `station_writes`,
    `importing`)."""

    def uncovered(
        self, under: str, level: DivisionLevel, as_of: date | None, after: str | None, first: int
    ) -> Page[Division]:
        """Spec §3's uncovered divisions of `level` under `under` on `as_of` (default today), one page."""
        self.require_division(under)
        if level is DivisionLevel.PROVINCE:
            raise BadUserInput("provinces have no station level, so they are never covered or uncovered")
        return self.engine.uncovered(under, level, as_of or self.today(), after, first)

    def coverage_trend(
        self, code: str, level: DivisionLevel, start: date, end: date, every: Interval
    ) -> list[tuple[date, LevelCoverage]]:
        """The coverage of `level` under the division on each day of the series from `start` to `end`
        (spec §8): at most MAX_TREND_POINTS points, each one engine lookup."""
        division = self.require_division(code)
        if level not in division.level.levels_below:
            raise BadUserInput(
                f"level: {level} is not below {division.code} {division.name} (a {division.level})"
            )
        if end < start:
            raise BadUserInput(f"to ({end.isoformat()}) is before from ({start.isoformat()})")
        if calendar.count(start, end, every, MAX_TREND_POINTS) > MAX_TREND_POINTS:
            raise BadUserInput(
                f"from {start.isoformat()} to {end.isoformat()} every {every} is more than "
                f"{MAX_TREND_POINTS} points: ask for a shorter span or a longer interval"
            )
        days = list(calendar.series(start, end, every))
        return list(zip(days, self.engine.coverage_trend(code, level, days), strict=True))

    def search(
        self,
        name_contains: str,
        level: DivisionLevel | None,
        under: str | None,
        after: str | None,
        first: int,
        day: date | None = None,
    ) -> Page[Division]:
        """Divisions whose name contains the text (valid on `day`, when given), by code, one page."""
        if not name_contains.strip():
            raise BadUserInput("nameContains must not be empty")
        if under is not None:
            self.require_division(under)
        return self.engine.search(name_contains.strip(), level, under, after, first, day)


ProgressCallback = Callable[[int], None]
