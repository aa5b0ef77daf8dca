"""The GraphQL output types: divisions, stations, coverage, rollups, audit entries, import reports."""

from __future__ import annotations

from datetime import UTC, date, datetime
from datetime import date as Date  # for CoveragePoint, whose field `date` hides the type
from typing import Annotated

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON

from graph_service.domain.audit import AuditEntry
from graph_service.domain.calendar import Interval
from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division, Station
from graph_service.domain.validation import Problem
from graph_service.entrypoints.graphql.context import Info, day, service_of
from graph_service.entrypoints.graphql.limits import MAX_PAGE_SIZE
from graph_service.entrypoints.graphql.pagination import (
    AUDIT_CURSOR,
    DIVISION_CURSOR,
    STATION_CURSOR,
    Connection,
    audit_paging,
    connection,
    paging,
)
from graph_service.entrypoints.graphql.scalars import (
    DivisionLevelEnum,
    IntervalEnum,
    StationLevelEnum,
    StationStatusEnum,
    convert,
)
from graph_service.service_layer.editions import division_links, division_names
from graph_service.service_layer.services import MAX_TREND_POINTS, AuditPage, ImportReport
from graph_service.service_layer.views import LevelCoverage, Page, Rollup

# --- output types --------------------------------------------------------------------------------


@strawberry.type(name="LevelCoverage", description="How many divisions of one level are covered.")
class LevelCoverageType:
    level: DivisionLevelEnum
    total: int = strawberry.field(description="Divisions of this level in the subtree.")
    covered: int = strawberry.field(description="Those of them covered on the day.")
    rate: float | None = strawberry.field(description="covered / total; null when total is 0.")

    @classmethod
    def of(cls, coverage: LevelCoverage) -> LevelCoverageType:
        return cls(
            level=convert(coverage.level, DivisionLevelEnum),
            total=coverage.total,
            covered=coverage.covered,
            rate=coverage.rate,
        )


@strawberry.type(description="The coverage of one level on one day of a trend.")
class CoveragePoint:
    date: Date
    total: int = strawberry.field(description="Divisions of the level in the subtree.")
    covered: int = strawberry.field(description="Those of them covered on the day.")
    rate: float | None = strawberry.field(description="covered / total; null when total is 0.")

    @classmethod
    def of(cls, day: Date, coverage: LevelCoverage) -> CoveragePoint:
        return cls(date=day, total=coverage.total, covered=coverage.covered, rate=coverage.rate)


@strawberry.type(
    name="Rollup",
    description="The stations active on a day in a division or below it: counts per level, staff sums.",
)
class RollupType:
    guidance_centres: int
    general_stations: int
    township_stations: int
    village_rooms: int
    staff: int
    certified_staff: int
    volunteers: int

    @classmethod
    def of(cls, rollup: Rollup) -> RollupType:
        return cls(
            guidance_centres=rollup.guidance_centres,
            general_stations=rollup.general_stations,
            township_stations=rollup.township_stations,
            village_rooms=rollup.village_rooms,
            staff=rollup.staff,
            certified_staff=rollup.certified_staff,
            volunteers=rollup.volunteers,
        )


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
        return DivisionType(record=service_of(info).require_division(self.record.division_code))

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

    @strawberry.field(description="The station this one reports to (null for a guidance centre).")
    def parent(self, info: Info) -> StationType | None:
        parent_id = self.record.parent_id
        return station_or_none(service_of(info).views.station(parent_id)) if parent_id else None

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

    @strawberry.field(description="The stations that report to this one, by id.")
    def reporting_stations(
        self, info: Info, first: int | None = MAX_PAGE_SIZE, after: str | None = UNSET
    ) -> Connection[StationType]:
        size, key = paging(STATION_CURSOR, first, after)
        return station_page(service_of(info).views.reporting_stations(self.record.id, key, size), key)


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


@strawberry.type(
    name="AuditEntry",
    description="One recorded change: who made it (token subject or command-line actor, and role), when "
    "(UTC), the operation (createStation, updateStation, closeStation, import), the station id or "
    "division code changed, and its values before and after, keyed by the CSV column names (null for "
    "a created row).",
)
class AuditEntryType:
    record: strawberry.Private[AuditEntry]

    @strawberry.field(description="When the change was committed (UTC).")
    def at(self) -> datetime:
        return self.record.at.astimezone(UTC)

    @strawberry.field(description="The token's `sub`, or the command line's --actor.")
    def actor(self) -> str:
        return self.record.actor

    @strawberry.field(description="The token's role (viewer, editor, admin), or cli for the command line.")
    def role(self) -> str:
        return self.record.role

    @strawberry.field(description="createStation, updateStation, closeStation or import.")
    def operation(self) -> str:
        return self.record.operation

    @strawberry.field(description="The station id or division code changed.")
    def target(self) -> str:
        return self.record.target

    @strawberry.field(description="The row before the change, keyed by CSV column (null: created).")
    def before(self) -> JSON | None:
        return None if self.record.before is None else JSON(self.record.before)

    @strawberry.field(description="The row after the change, keyed by CSV column (null: deleted).")
    def after(self) -> JSON | None:
        return None if self.record.after is None else JSON(self.record.after)


@strawberry.type(name="ImportError", description="One problem with an imported file.")
class ImportErrorType:
    row: int = strawberry.field(description="The row, counting the header as row 1.")
    column: str | None = strawberry.field(description="The CSV column, when one is to blame.")
    message: str

    @classmethod
    def of(cls, problem: Problem) -> ImportErrorType:
        return cls(row=problem.row, column=problem.column, message=problem.message)


@strawberry.type(
    name="ImportReport",
    description="What an import did, or (dry run, or a rejected file: applied false) would have done.",
)
class ImportReportType:
    applied: bool = strawberry.field(description="True when the file was written (or needed no writes).")
    created: int
    updated: int
    unchanged: int
    errors: list[ImportErrorType] = strawberry.field(
        description="Every problem found; when there are any, nothing was written."
    )

    @classmethod
    def of(cls, report: ImportReport) -> ImportReportType:
        return cls(
            applied=report.applied,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            errors=[ImportErrorType.of(problem) for problem in report.errors],
        )


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


def audit_page(page: AuditPage, after: int | None) -> Connection[AuditEntryType]:
    """A page of the audit trail, newest first, as a connection (its total counted only when asked)."""
    return connection(
        page.entries,
        AUDIT_CURSOR,
        lambda e: str(e.seq),
        lambda e: AuditEntryType(record=e),
        page.has_next,
        page.count,
        None if after is None else str(after),
    )
