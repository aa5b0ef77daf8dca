"""The GraphQL output types: divisions, stations, their name and placement histories. The coverage and
roll-up types are in `coverage`, the audit and import types in `reports`; both are re-exported here."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry import UNSET

from graph_service.domain.calendar import Interval
from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division, Station
from graph_service.domain.validity import parent_on, placement_on
from graph_service.entrypoints.graphql.context import Info, day, service_of
from graph_service.entrypoints.graphql.coverage import CoveragePoint, LevelCoverageType, RollupType
from graph_service.entrypoints.graphql.limits import MAX_PAGE_SIZE
from graph_service.entrypoints.graphql.pagination import (
    DIVISION_CURSOR,
    STATION_CURSOR,
    Connection,
    audit_paging,
    connection,
    paging,
)
from graph_service.entrypoints.graphql.reports import (
    AuditEntryType,
    ImportErrorType,
    ImportReportType,
    audit_page,
)
from graph_service.entrypoints.graphql.scalars import (
    DivisionLevelEnum,
    IntervalEnum,
    StationLevelEnum,
    StationStatusEnum,
    convert,
)
from graph_service.service_layer.editions import division_links, division_names
from graph_service.service_layer.services import MAX_TREND_POINTS
from graph_service.service_layer.views import Page

__all__ = [
    "AuditEntryType",
    "CoveragePoint",
    "DivisionNameType",
    "DivisionType",
    "ImportErrorType",
    "ImportReportType",
    "LevelCoverageType",
    "PlacementType",
    "ReportingLineType",
    "RollupType",
    "StationType",
    "audit_page",
    "division_node",
    "division_or_none",
    "division_page",
    "station_node",
    "station_or_none",
    "station_page",
]

# --- output types --------------------------------------------------------------------------------


@strawberry.type(name="DivisionName", description="One name of a division's history (spec §6).")
class DivisionNameType:
    name: str
    valid_from: date | None = strawberry.field(
        description="The day it took this name (null: from the start)."
    )


@strawberry.type(name="Division", description="An administrative division (NBS code table).")
class DivisionType:
    record: strawberry.Private[Division]

    @strawberry.field(description="The NBS code: 2, 4, 6, 9 or 12 digits by level.")
    def code(self) -> str:
        return self.record.code

    @strawberry.field
    def name(self) -> str:
        return self.record.name

    @strawberry.field
    def level(self) -> DivisionLevelEnum:
        return convert(self.record.level, DivisionLevelEnum)

    @strawberry.field(description="The first day this division is valid (null: from the start; spec §6).")
    def valid_from(self) -> date | None:
        return self.record.valid_from

    @strawberry.field(
        description="The day this division stops being valid, retired by an edition (null: still valid)."
    )
    def valid_to(self) -> date | None:
        return self.record.valid_to

    @strawberry.field(
        description="The names this division has had, oldest first, each with the day it took it "
        "(null: from the start); the last is `name` (spec §6)."
    )
    def names(self, info: Info) -> list[DivisionNameType]:
        history = division_names(service_of(info), self.record)
        return [DivisionNameType(name=entry.name, valid_from=entry.valid_from) for entry in history]

    @strawberry.field(
        description="The divisions an edition named as this retired division's successors, in the "
        "order given (spec §6)."
    )
    def successors(self, info: Info) -> list[DivisionType]:
        return _linked(info, division_links(service_of(info), self.record.code)[0])

    @strawberry.field(description="The retired divisions whose successors include this one, by code.")
    def predecessors(self, info: Info) -> list[DivisionType]:
        return _linked(info, division_links(service_of(info), self.record.code)[1])

    @strawberry.field(description="The division directly above (null for a province).")
    def parent(self, info: Info) -> DivisionType | None:
        parent_code = self.record.parent_code
        return division_or_none(service_of(info).views.division(parent_code)) if parent_code else None

    @strawberry.field(description="Every division above this one, root first.")
    def ancestors(self, info: Info) -> list[DivisionType]:
        return [DivisionType(record=d) for d in service_of(info).views.ancestors(self.record.code)]

    @strawberry.field(description="The divisions directly below valid on `asOf` (default today), by code.")
    def children(
        self,
        info: Info,
        first: int | None = MAX_PAGE_SIZE,
        after: str | None = UNSET,
        as_of: date | None = UNSET,
    ) -> Connection[DivisionType]:
        size, key = paging(DIVISION_CURSOR, first, after)
        page = service_of(info).views.children(self.record.code, key, size, day(info, as_of))
        return division_page(page, key)

    @strawberry.field(
        description="Whether an active station of this division's own level sits in it on `asOf` "
        "(default today); null for a province, which has no station level."
    )
    def covered(self, info: Info, as_of: date | None = UNSET) -> bool | None:
        return service_of(info).views.covered(self.record.code, day(info, as_of))

    @strawberry.field(description="For each level below this one, top-down: how many are covered on `asOf`.")
    def coverage(self, info: Info, as_of: date | None = UNSET) -> list[LevelCoverageType]:
        coverage = service_of(info).views.coverage(self.record.code, day(info, as_of))
        return [LevelCoverageType.of(level) for level in coverage]

    @strawberry.field(
        description="The coverage of one level below this division on each day from `from` to `to`, "
        "one point per `every` (month, by default; a `from` on a month's last day steps month-end to "
        f"month-end). At most {MAX_TREND_POINTS} points."
    )
    def coverage_trend(
        self,
        info: Info,
        level: DivisionLevelEnum,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
        every: IntervalEnum = IntervalEnum.MONTH,
    ) -> list[CoveragePoint]:
        points = service_of(info).coverage_trend(
            self.record.code, convert(level, DivisionLevel), from_, to, convert(every, Interval)
        )
        return [CoveragePoint.of(day, coverage) for day, coverage in points]

    @strawberry.field(description="The stations active on `asOf` in this division or anywhere below it.")
    def rollup(self, info: Info, as_of: date | None = UNSET) -> RollupType:
        return RollupType.of(service_of(info).views.rollup(self.record.code, day(info, as_of)))

    @strawberry.field(description="The stations sitting in this division itself, by id.")
    def stations(
        self, info: Info, first: int | None = MAX_PAGE_SIZE, after: str | None = UNSET
    ) -> Connection[StationType]:
        size, key = paging(STATION_CURSOR, first, after)
        return station_page(service_of(info).views.stations_in(self.record.code, key, size), key)


@strawberry.type(name="Placement", description="A division a station sat in, and when (spec §6).")
class PlacementType:
    division: DivisionType
    from_: date | None = strawberry.field(
        name="from", description="The first day it sat there (null: from the start)."
    )
    to: date | None = strawberry.field(description="The day it moved away (null: it sits there still).")


@strawberry.type(name="ReportingLine", description="A station a station reported to, and when (spec §6).")
class ReportingLineType:
    parent: StationType | None = strawberry.field(description="The station it reported to (null: nobody).")
    from_: date | None = strawberry.field(
        name="from", description="The first day it reported there (null: from the start)."
    )
    to: date | None = strawberry.field(
        description="The day an edition changed its line (null: it reports there still)."
    )


@strawberry.type(name="Station", description="One station of the network, at its current version.")
class StationType:
    record: strawberry.Private[Station]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.record.id)

    @strawberry.field
    def name(self) -> str:
        return self.record.name

    @strawberry.field
    def level(self) -> StationLevelEnum:
        return convert(self.record.level, StationLevelEnum)

    @strawberry.field
    def status(self) -> StationStatusEnum:
        return convert(self.record.status, StationStatusEnum)

    @strawberry.field(description="The division the station sits in today.")
    def division(self, info: Info) -> DivisionType:
        code = placement_on(self.record.history(), day(info, None)) or self.record.division_code
        return DivisionType(record=service_of(info).require_division(code))

    @strawberry.field(
        description="Where the station sat through time, oldest first (spec §6): one placement per "
        "division, from the day an edition moved it there (null: always) until the day one moved it "
        "away (null: still there). A station no edition has moved has one placement, open both ways."
    )
    def placements(self, info: Info) -> list[PlacementType]:
        service = service_of(info)
        return [
            PlacementType(
                division=DivisionType(record=service.require_division(p.division_code)),
                from_=p.from_,
                to=p.to,
            )
            for p in self.record.history()
        ]

    @strawberry.field(
        description="The station this one reports to today (null for a guidance centre, or when it "
        "reports to nobody): an edition dated after today does not change it yet."
    )
    def parent(self, info: Info) -> StationType | None:
        return _station_of(info, parent_on(self.record.lines(), day(info, None)))

    @strawberry.field(
        description="Whom the station reported to through time, oldest first (spec §6): one line per "
        "parent, from the day an edition changed its line to it (null: always) until the day one "
        "changed it again (null: still). A station no edition has re-parented has one line, open both "
        "ways."
    )
    def reporting_lines(self, info: Info) -> list[ReportingLineType]:
        return [
            ReportingLineType(parent=_station_of(info, line.parent_id), from_=line.from_, to=line.to)
            for line in self.record.lines()
        ]

    @strawberry.field
    def opened_on(self) -> date | None:
        return self.record.opened_on

    @strawberry.field(description="The first day the station is no longer active.")
    def closed_on(self) -> date | None:
        return self.record.closed_on

    @strawberry.field
    def staff(self) -> int:
        return self.record.staff

    @strawberry.field
    def certified_staff(self) -> int:
        return self.record.certified_staff

    @strawberry.field
    def volunteers(self) -> int:
        return self.record.volunteers

    @strawberry.field(description="1 when created, +1 on every change: pass it as `expectedVersion`.")
    def version(self) -> int:
        return self.record.version

    @strawberry.field(
        description="The recorded changes of this station, newest first (admins; editors within "
        "their scope; viewers never)."
    )
    def history(
        self, info: Info, first: int | None = MAX_PAGE_SIZE, after: str | None = UNSET
    ) -> Connection[AuditEntryType]:
        info.context.caller_specific.add("history")
        service_of(info).check_audit_read(info.context.principal, [])
        size, key = audit_paging(first, after)
        page = service_of(info).station_history(info.context.principal, self.record.id, key, size)
        return audit_page(page, key)

    @strawberry.field(
        description="The stations that report to this one today, by id: those whose `parent` it is "
        "(an edition dated after today does not change them yet)."
    )
    def reporting_stations(
        self, info: Info, first: int | None = MAX_PAGE_SIZE, after: str | None = UNSET
    ) -> Connection[StationType]:
        size, key = paging(STATION_CURSOR, first, after)
        page = service_of(info).views.reporting_stations(self.record.id, key, size, day(info, None))
        return station_page(page, key)


def division_node(record: Division) -> DivisionType:
    """The GraphQL node of a division."""
    return DivisionType(record=record)


def station_node(record: Station) -> StationType:
    """The GraphQL node of a station."""
    return StationType(record=record)


def division_or_none(record: Division | None) -> DivisionType | None:
    return DivisionType(record=record) if record is not None else None


def station_or_none(record: Station | None) -> StationType | None:
    return StationType(record=record) if record is not None else None


def _station_of(info: Info, station_id: str | None) -> StationType | None:
    """The GraphQL node of station `station_id` (None: none, or no such station)."""
    return station_or_none(service_of(info).views.station(station_id)) if station_id else None


def _linked(info: Info, codes: list[str]) -> list[DivisionType]:
    """The divisions of `codes` the network holds, in that order."""
    views = service_of(info).views
    return [DivisionType(record=d) for code in codes if (d := views.division(code)) is not None]


def division_page(page: Page[Division], after: str | None) -> Connection[DivisionType]:
    """A page of divisions, by code, as a connection."""
    return connection(
        page.items, DIVISION_CURSOR, lambda d: d.code, division_node, page.has_next, lambda: page.total, after
    )


def station_page(page: Page[Station], after: str | None) -> Connection[StationType]:
    """A page of stations, by id, as a connection."""
    return connection(
        page.items, STATION_CURSOR, lambda s: s.id, station_node, page.has_next, lambda: page.total, after
    )
