"""The GraphQL schema of spec §5: its types, the resolvers behind them, and the per-request limits.

Resolvers only translate. They take the request's `GraphQLContext`, call the `NetworkService` (or the
engine's read-only lookups), and wrap the records that come back. Access rules, validation and
writes all live in the service layer. A `ServiceError` raised there reaches the client as a GraphQL
error whose `extensions.code` is the error's `code`; `app.format_error` does that mapping.

`schema` is the executable schema; `sdl()` prints it as committed in schema/schema.graphql.
"""

from __future__ import annotations

import base64
import binascii
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated, Any, TypeAlias, TypeVar

import strawberry
from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    VariableNode,
)
from graphql.validation import OverlappingFieldsCanBeMergedRule
from graphql.validation.rules import overlapping_fields_can_be_merged as overlapping_fields
from strawberry import UNSET
from strawberry.extensions import (
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig

from graph_service.domain.audit import AuditEntry
from graph_service.domain.calendar import Interval
from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus
from graph_service.domain.model import Division, Station
from graph_service.domain.validation import STATION_COLUMNS, Problem, parse_date
from graph_service.engine import LevelCoverage, Page, Rollup
from graph_service.service_layer.auth import Principal
from graph_service.service_layer.errors import BadUserInput
from graph_service.service_layer.services import MAX_TREND_POINTS, AuditPage, ImportReport, NetworkService

# --- limits --------------------------------------------------------------------------------------

MAX_PAGE_SIZE = 100
"""`first` must lie in 1..MAX_PAGE_SIZE; it defaults to MAX_PAGE_SIZE."""
MAX_DEPTH = 15
"""Deepest field nesting allowed (introspection excluded): room for four nested `children` pages."""
MAX_ALIASES = 30
"""Most aliased fields in one document, counted through fragments."""
MAX_TOKENS = 1_500
"""Most lexical tokens in one document (fragments included); GraphiQL's introspection uses ~300."""
MAX_DOCUMENT_CHARS = 32 * 1024
"""Longest document (the query text) read; large values, such as an import's file, go in variables."""
MAX_COST = 100_000
"""Most field resolutions a query may ask for, estimated from its page sizes (see `estimated_cost`)."""
CACHE_SIZE = 512
"""Parsed and validated documents kept (least recently used first out)."""


# --- the request context -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GraphQLContext:
    """What every resolver of one request sees: the service, who asks, the request id, and "today"."""

    service: NetworkService
    principal: Principal | None
    request_id: str
    today: date
    operation_name: str | None = None
    """The operationName the client sent (GraphQL requires one when the document holds several)."""
    caller_specific: set[str] = field(default_factory=set)
    """The fields resolved whose answer depends on who asks (the audit trail): a response that names
    any must not be served to another caller from a cache."""


Info: TypeAlias = strawberry.Info[GraphQLContext, None]


def _service(info: Info) -> NetworkService:
    return info.context.service


def _day(info: Info, as_of: date | None) -> date:
    """`asOf` when given, else today in the configured time zone (fixed once per request)."""
    return as_of if as_of is not None and as_of is not UNSET else info.context.today


def _readable(info: Info) -> NetworkService:
    """The service, once the service layer agrees the caller may read."""
    service = _service(info)
    service.check_read(info.context.principal)
    return service


def _given(value: Any) -> Any:
    """None for an argument that was left out (UNSET) or passed as null."""
    return None if value is UNSET else value


# --- scalars -------------------------------------------------------------------------------------


def _date_value(value: object) -> date:
    """A `Date` argument or variable: exactly YYYY-MM-DD, years 1900..2100 (spec §7). Refused with a
    GraphQLError, which GraphQL reports as a request error located at the argument or variable."""
    if not isinstance(value, str):
        raise GraphQLError(f"Date cannot represent {value!r}: a Date is a string YYYY-MM-DD")
    try:
        return parse_date(value)
    except ValueError as error:
        raise GraphQLError(f"Date cannot represent {value!r}: {error}") from None


DATE_SCALAR = strawberry.scalar(
    name="Date",
    description="A day, exactly YYYY-MM-DD (ISO 8601 calendar date), years 1900..2100.",
    serialize=date.isoformat,
    parse_value=_date_value,
)


# --- enums: mirrors of the domain's, so the domain classes stay free of GraphQL ------------------


@strawberry.enum(name="DivisionLevel", description="An administrative level of the NBS division table.")
class DivisionLevelEnum(Enum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


@strawberry.enum(name="StationLevel", description="A level of the four-level station network.")
class StationLevelEnum(Enum):
    GUIDANCE_CENTRE = "guidance_centre"
    GENERAL_STATION = "general_station"
    TOWNSHIP_STATION = "township_station"
    VILLAGE_ROOM = "village_room"


@strawberry.enum(name="StationStatus", description="Where a station is in its life.")
class StationStatusEnum(Enum):
    PLANNED = "planned"
    BUILDING = "building"
    OPERATING = "operating"
    CLOSED = "closed"


@strawberry.enum(name="Interval", description="The step between two points of a trend.")
class IntervalEnum(Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


ENUM_MIRRORS: tuple[tuple[type[Enum], type[Enum]], ...] = (
    (DivisionLevelEnum, DivisionLevel),
    (StationLevelEnum, StationLevel),
    (StationStatusEnum, StationStatus),
    (IntervalEnum, Interval),
)
"""Each GraphQL enum with the domain enum it mirrors (same names, same values)."""

E = TypeVar("E", bound=Enum)


def _convert(value: Enum, kind: type[E]) -> E:
    """The member of `kind` with the same value (GraphQL enum ↔ domain enum)."""
    return kind(value.value)


# --- cursors and pages ---------------------------------------------------------------------------

DIVISION_CURSOR = "division"
STATION_CURSOR = "station"
AUDIT_CURSOR = "audit"


def encode_cursor(kind: str, key: str) -> str:
    """An opaque cursor for the item with sort key `key` (a code or an id) in a list of `kind`."""
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode("ascii").rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> str | None:
    """The sort key inside `cursor` (None when no cursor was given); `BadUserInput` when it is not one
    of ours for a list of `kind`."""
    cursor = _given(cursor)
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError) as error:
        raise BadUserInput(f"after: {cursor!r} is not a cursor this service issued") from error
    prefix, separator, key = text.partition(":")
    if not separator or prefix != kind or not key:
        raise BadUserInput(f"after: {cursor!r} is not a cursor of a {kind} list")
    return key


def decode_audit_cursor(cursor: str | None) -> int | None:
    """The `seq` inside an audit-trail cursor (None when no cursor was given); `BadUserInput` when it is
    not one of ours."""
    key = decode_cursor(AUDIT_CURSOR, cursor)
    if key is None:
        return None
    if not key.isdigit():
        raise BadUserInput(f"after: {cursor!r} is not a cursor of an audit entry list")
    return int(key)


def page_size(first: int | None) -> int:
    """`first` checked against 1..MAX_PAGE_SIZE (absent or null: MAX_PAGE_SIZE)."""
    first = _given(first)
    if first is None:
        return MAX_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(f"first must be between 1 and {MAX_PAGE_SIZE}, not {first}")
    return first


T = TypeVar("T")


def page_of(items: Sequence[T], key: Callable[[T], str], after: str | None, first: int) -> Page[T]:
    """One page of `items` (already sorted by `key`): the `first` after the key `after`."""
    keys = [key(item) for item in items]
    start = bisect_right(keys, after) if after is not None else 0
    return Page(list(items[start : start + first]), len(items), start + first < len(items))


@strawberry.type(description="Where a page ends, for asking for the next one (forward pagination).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when more items follow this page.")
    end_cursor: str | None = strawberry.field(
        description="The cursor of this page's last item: pass it as `after` for the next page."
    )
    has_previous_page: bool = strawberry.field(
        description="True when this page was asked for with `after` (pagination is forward only)."
    )
    start_cursor: str | None = strawberry.field(description="The cursor of this page's first item.")


def _page_info(cursors: Sequence[str], has_next: bool, after: str | None) -> PageInfo:
    return PageInfo(
        has_next_page=has_next,
        end_cursor=cursors[-1] if cursors else None,
        has_previous_page=after is not None,
        start_cursor=cursors[0] if cursors else None,
    )


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
            level=_convert(coverage.level, DivisionLevelEnum),
            total=coverage.total,
            covered=coverage.covered,
            rate=coverage.rate,
        )


@strawberry.type(description="The coverage of one level on one day of a trend.")
class CoveragePoint:
    date: date
    total: int = strawberry.field(description="Divisions of the level in the subtree.")
    covered: int = strawberry.field(description="Those of them covered on the day.")
    rate: float | None = strawberry.field(description="covered / total; null when total is 0.")

    @classmethod
    def of(cls, day: date, coverage: LevelCoverage) -> CoveragePoint:
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
        return _convert(self.record.level, DivisionLevelEnum)

    @strawberry.field(description="The division directly above (null for a province).")
    def parent(self, info: Info) -> DivisionType | None:
        parent_code = self.record.parent_code
        return _division(_service(info).engine.division(parent_code)) if parent_code else None

    @strawberry.field(description="Every division above this one, root first.")
    def ancestors(self, info: Info) -> list[DivisionType]:
        return [DivisionType(record=d) for d in _service(info).engine.ancestors(self.record.code)]

    @strawberry.field(description="The divisions directly below, by code.")
    def children(
        self, info: Info, first: int | None = MAX_PAGE_SIZE, after: str | None = UNSET
    ) -> DivisionConnection:
        size, key = page_size(first), decode_cursor(DIVISION_CURSOR, after)
        return DivisionConnection.of(_service(info).engine.children(self.record.code, key, size), key)

    @strawberry.field(
        description="Whether an active station of this division's own level sits in it on `asOf` "
        "(default today); null for a province, which has no station level."
    )
    def covered(self, info: Info, as_of: date | None = UNSET) -> bool | None:
        return _service(info).engine.covered(self.record.code, _day(info, as_of))

    @strawberry.field(description="For each level below this one, top-down: how many are covered on `asOf`.")
    def coverage(self, info: Info, as_of: date | None = UNSET) -> list[LevelCoverageType]:
        coverage = _service(info).engine.coverage(self.record.code, _day(info, as_of))
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
        points = _service(info).coverage_trend(
            self.record.code, _convert(level, DivisionLevel), from_, to, _convert(every, Interval)
        )
        return [CoveragePoint.of(day, coverage) for day, coverage in points]

    @strawberry.field(description="The stations active on `asOf` in this division or anywhere below it.")
    def rollup(self, info: Info, as_of: date | None = UNSET) -> RollupType:
        return RollupType.of(_service(info).engine.rollup(self.record.code, _day(info, as_of)))

    @strawberry.field(description="The stations sitting in this division itself, by id.")
    def stations(
        self, info: Info, first: int | None = MAX_PAGE_SIZE, after: str | None = UNSET
    ) -> StationConnection:
        size, key = page_size(first), decode_cursor(STATION_CURSOR, after)
        return StationConnection.of(_service(info).engine.stations_in(self.record.code, key, size), key)


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
        return _convert(self.record.level, StationLevelEnum)

    @strawberry.field
    def status(self) -> StationStatusEnum:
        return _convert(self.record.status, StationStatusEnum)

    @strawberry.field(description="The division the station sits in.")
    def division(self, info: Info) -> DivisionType:
        return DivisionType(record=_service(info).require_division(self.record.division_code))

    @strawberry.field(description="The station this one reports to (null for a guidance centre).")
    def parent(self, info: Info) -> StationType | None:
        parent_id = self.record.parent_id
        return _station(_service(info).engine.station(parent_id)) if parent_id else None

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
    ) -> AuditEntryConnection:
        info.context.caller_specific.add("history")
        _service(info).check_audit_read(info.context.principal, [])
        size, key = page_size(first), decode_audit_cursor(after)
        page = _service(info).station_history(info.context.principal, self.record.id, key, size)
        return AuditEntryConnection.of(page, key)

    @strawberry.field(description="The stations that report to this one, by id.")
    def reporting_stations(
        self, info: Info, first: int | None = MAX_PAGE_SIZE, after: str | None = UNSET
    ) -> StationConnection:
        size, key = page_size(first), decode_cursor(STATION_CURSOR, after)
        reporting = _service(info).engine.stations_reporting_to(self.record.id)
        return StationConnection.of(page_of(reporting, lambda s: s.id, key, size), key)


def _division(record: Division | None) -> DivisionType | None:
    return DivisionType(record=record) if record is not None else None


def _station(record: Station | None) -> StationType | None:
    return StationType(record=record) if record is not None else None


@strawberry.type
class DivisionEdge:
    cursor: str
    node: DivisionType


@strawberry.type(description="One page of divisions, by code.")
class DivisionConnection:
    total_count: int = strawberry.field(description="How many divisions the whole list holds.")
    edges: list[DivisionEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page[Division], after: str | None) -> DivisionConnection:
        edges = [
            DivisionEdge(cursor=encode_cursor(DIVISION_CURSOR, d.code), node=DivisionType(record=d))
            for d in page.items
        ]
        return cls(
            total_count=page.total,
            edges=edges,
            page_info=_page_info([edge.cursor for edge in edges], page.has_next, after),
        )


@strawberry.type
class StationEdge:
    cursor: str
    node: StationType


@strawberry.type(description="One page of stations, by id.")
class StationConnection:
    total_count: int = strawberry.field(description="How many stations the whole list holds.")
    edges: list[StationEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page[Station], after: str | None) -> StationConnection:
        edges = [
            StationEdge(cursor=encode_cursor(STATION_CURSOR, s.id), node=StationType(record=s))
            for s in page.items
        ]
        return cls(
            total_count=page.total,
            edges=edges,
            page_info=_page_info([edge.cursor for edge in edges], page.has_next, after),
        )


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
        return self.record.before

    @strawberry.field(description="The row after the change, keyed by CSV column (null: deleted).")
    def after(self) -> JSON | None:
        return self.record.after


@strawberry.type
class AuditEntryEdge:
    cursor: str
    node: AuditEntryType


@strawberry.type(description="One page of the audit trail, newest first.")
class AuditEntryConnection:
    edges: list[AuditEntryEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], int]]

    @strawberry.field(description="How many entries the whole list holds.")
    def total_count(self) -> int:
        return self.count()

    @classmethod
    def of(cls, page: AuditPage, after: int | None) -> AuditEntryConnection:
        edges = [
            AuditEntryEdge(cursor=encode_cursor(AUDIT_CURSOR, str(e.seq)), node=AuditEntryType(record=e))
            for e in page.entries
        ]
        return cls(
            edges=edges,
            page_info=_page_info(
                [edge.cursor for edge in edges], page.has_next, None if after is None else str(after)
            ),
            count=page.count,
        )


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


# --- input types ---------------------------------------------------------------------------------


@strawberry.input(description="A new station: the station CSV's fields. Counts default to 0.")
class StationInput:
    id: strawberry.ID
    name: str
    level: StationLevelEnum
    division_code: str
    parent_id: strawberry.ID | None = UNSET
    status: StationStatusEnum
    opened_on: date | None = UNSET
    closed_on: date | None = UNSET
    staff: int | None = 0
    certified_staff: int | None = 0
    volunteers: int | None = 0

    def to_fields(self) -> dict[str, Any]:
        """The station's fields as `NetworkService.create_station` takes them (snake_case, domain types;
        None for what was left out)."""
        return {
            "id": str(self.id),
            "name": self.name,
            "level": _convert(self.level, StationLevel),
            "division_code": self.division_code,
            "parent_id": _given(self.parent_id),
            "status": _convert(self.status, StationStatus),
            "opened_on": _given(self.opened_on),
            "closed_on": _given(self.closed_on),
            "staff": _given(self.staff),
            "certified_staff": _given(self.certified_staff),
            "volunteers": _given(self.volunteers),
        }


_PATCH_FIELDS: tuple[str, ...] = STATION_COLUMNS[1:]
"""The station fields a patch may change (all but `id`), as `NetworkService.update_station` names them."""
_CLEARABLE = frozenset({"parent_id", "opened_on", "closed_on"})
_PATCH_ENUMS: Mapping[str, type[Enum]] = {"level": StationLevel, "status": StationStatus}


def camel_case(column: str) -> str:
    """The GraphQL name of a station field or CSV column (`division_code` → `divisionCode`)."""
    head, *rest = column.split("_")
    return head + "".join(word.capitalize() for word in rest)


@strawberry.input(
    description="Changes to a station: a field left out keeps its value; null clears parentId, "
    "openedOn or closedOn (the other fields cannot be null)."
)
class StationPatch:
    name: str | None = UNSET
    level: StationLevelEnum | None = UNSET
    division_code: str | None = UNSET
    parent_id: strawberry.ID | None = UNSET
    status: StationStatusEnum | None = UNSET
    opened_on: date | None = UNSET
    closed_on: date | None = UNSET
    staff: int | None = UNSET
    certified_staff: int | None = UNSET
    volunteers: int | None = UNSET

    def to_patch(self) -> dict[str, Any]:
        """The fields given, as `NetworkService.update_station` takes them; `BadUserInput` for a null
        that would clear a field which must have a value."""
        patch: dict[str, Any] = {}
        for name in _PATCH_FIELDS:
            value = getattr(self, name)
            if value is UNSET:
                continue
            if value is None and name not in _CLEARABLE:
                raise BadUserInput(f"{camel_case(name)} cannot be null; leave it out to keep its value")
            if isinstance(value, Enum):
                value = _convert(value, _PATCH_ENUMS[name])
            patch[name] = str(value) if name == "parent_id" and value is not None else value
        return patch


# --- roots ---------------------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="The division with this NBS code, or null.")
    def division(self, info: Info, code: str) -> DivisionType | None:
        return _division(_readable(info).engine.division(code))

    @strawberry.field(description="The station with this id, or null.")
    def station(self, info: Info, id: strawberry.ID) -> StationType | None:
        return _station(_readable(info).engine.station(str(id)))

    @strawberry.field(
        description="The divisions of `level` under `under` not covered on `asOf` (default today), by code."
    )
    def uncovered_divisions(
        self,
        info: Info,
        under: str,
        level: DivisionLevelEnum,
        as_of: date | None = UNSET,
        first: int | None = MAX_PAGE_SIZE,
        after: str | None = UNSET,
    ) -> DivisionConnection:
        service = _readable(info)
        size, key = page_size(first), decode_cursor(DIVISION_CURSOR, after)
        page = service.uncovered(under, _convert(level, DivisionLevel), _day(info, as_of), key, size)
        return DivisionConnection.of(page, key)

    @strawberry.field(
        description="Divisions whose name contains `nameContains`, optionally of one level and under "
        "one division, by code."
    )
    def divisions(
        self,
        info: Info,
        name_contains: str,
        level: DivisionLevelEnum | None = UNSET,
        under: str | None = UNSET,
        first: int | None = MAX_PAGE_SIZE,
        after: str | None = UNSET,
    ) -> DivisionConnection:
        service = _readable(info)
        size, key = page_size(first), decode_cursor(DIVISION_CURSOR, after)
        level = _given(level)
        page = service.search(
            name_contains,
            _convert(level, DivisionLevel) if level is not None else None,
            _given(under),
            key,
            size,
        )
        return DivisionConnection.of(page, key)

    @strawberry.field(
        description="The audit trail, newest first: every recorded change of a row that sat in `under`'s "
        "subtree when it was written (default: everything for an admin, the scope for an editor), at "
        "or after `since`. Admins anywhere; editors within their scope; viewers never."
    )
    def audit_log(
        self,
        info: Info,
        under: str | None = UNSET,
        since: datetime | None = UNSET,
        first: int | None = MAX_PAGE_SIZE,
        after: str | None = UNSET,
    ) -> AuditEntryConnection:
        info.context.caller_specific.add("auditLog")
        _service(info).check_audit_read(info.context.principal, [])
        size, key = page_size(first), decode_audit_cursor(after)
        page = _service(info).audit_log(info.context.principal, _given(under), _given(since), key, size)
        return AuditEntryConnection.of(page, key)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create a station (editors: inside their scope; admins: anywhere).")
    def create_station(
        self, info: Info, station: Annotated[StationInput, strawberry.argument(name="input")]
    ) -> StationType:
        created = _service(info).create_station(info.context.principal, station.to_fields())
        return StationType(record=created)

    @strawberry.mutation(
        description="Change some fields of a station; with `expectedVersion`, only if it is still at "
        "that version (else CONFLICT)."
    )
    def update_station(
        self,
        info: Info,
        id: strawberry.ID,
        patch: Annotated[StationPatch, strawberry.argument(name="input")],
        expected_version: int | None = UNSET,
    ) -> StationType:
        updated = _service(info).update_station(
            info.context.principal, str(id), patch.to_patch(), _given(expected_version)
        )
        return StationType(record=updated)

    @strawberry.mutation(description="Close a station from `on` (it is active up to the day before).")
    def close_station(self, info: Info, id: strawberry.ID, on: date) -> StationType:
        return StationType(record=_service(info).close_station(info.context.principal, str(id), on))

    @strawberry.mutation(
        description="Import a station CSV (spec §2): validated whole, then written all at once or not at "
        "all. A rejected file is a report with errors, not a GraphQL error."
    )
    def import_stations(self, info: Info, csv: str, dry_run: bool | None = UNSET) -> ImportReportType:
        report = _service(info).import_stations(info.context.principal, csv, dry_run=bool(_given(dry_run)))
        return ImportReportType.of(report)

    @strawberry.mutation(
        description="Import a division CSV (admins only), with the same all-or-nothing semantics."
    )
    def import_divisions(self, info: Info, csv: str, dry_run: bool | None = UNSET) -> ImportReportType:
        report = _service(info).import_divisions(info.context.principal, csv, dry_run=bool(_given(dry_run)))
        return ImportReportType.of(report)


# --- protections ---------------------------------------------------------------------------------
#
# Validation must cost little whatever the document's shape (spec §7: accepted or refused within
# 100 ms of CPU). Tokens are capped at parse time (MAX_TOKENS), so a document has at most a few
# thousand nodes; what can still blow up is work that expands fragments (2^30 spreads fit in 1 kB) or
# compares fields pairwise. So: one walk over the document measures depth, aliases and cost with each
# fragment measured once (`FragmentFold`), and refuses an over-limit document before GraphQL's own
# rules run; the one standard rule that compares fields pairwise runs under a comparison budget
# (`BoundedOverlappingFields`).

MAX_FIELD_COMPARISONS = 500
"""Most field pairs the field-merging rule may compare for one document (repeated fields, pages of
the same field with other arguments); GraphiQL's introspection needs none, a dashboard query a few."""

S = TypeVar("S")


class FragmentFold:
    """Folds a measure over a document's selection sets, each fragment measured once.

    `measure(selection_set, fragment_value)` computes the value of one selection set, taking the
    value of a spread fragment from `fragment_value` (already measured). Fragments are measured in
    dependency order, iteratively (a chain of hundreds of fragments does not reach Python's recursion
    limit); a spread of an unknown fragment or one that closes a cycle gets `empty` (GraphQL's
    KnownFragmentNames and NoFragmentCycles rules refuse those documents).
    """

    def __init__(self, document: DocumentNode) -> None:
        self.document = document
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.order = self._dependency_order()

    def fold(
        self, measure: Callable[[SelectionSetNode, Callable[[str], S]], S], empty: S
    ) -> Callable[[SelectionSetNode], S]:
        """The measure of any selection set of the document, fragments memoised."""
        values: dict[str, S] = {}

        def fragment_value(name: str) -> S:
            return values.get(name, empty)

        for name in self.order:
            values[name] = measure(self.fragments[name].selection_set, fragment_value)
        return lambda selection_set: measure(selection_set, fragment_value)

    def _dependency_order(self) -> list[str]:
        """The fragment names, each after the fragments it spreads (cycles broken anywhere)."""
        spreads = {name: _spread_names(d.selection_set) for name, d in self.fragments.items()}
        order: list[str] = []
        state: dict[str, int] = {}  # 1: being visited, 2: done
        for root in self.fragments:
            if root in state:
                continue
            stack = [(root, iter(spreads[root]))]
            state[root] = 1
            while stack:
                name, pending = stack[-1]
                child = next(pending, None)
                if child is None:
                    stack.pop()
                    state[name] = 2
                    order.append(name)
                elif child in self.fragments and child not in state:
                    state[child] = 1
                    stack.append((child, iter(spreads[child])))
        return order


def _spread_names(selection_set: SelectionSetNode) -> list[str]:
    """The fragments spread anywhere inside `selection_set` (not following the spreads)."""
    names: list[str] = []
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                names.append(selection.name.value)
            elif selection.selection_set is not None:
                pending.append(selection.selection_set)
    return names


@dataclass(frozen=True, slots=True)
class _Shape:
    depth: int
    """Nesting below the selection set: a leaf field 0, a field with fields 1 + theirs (introspection
    fields count 0, as in strawberry's QueryDepthLimiter)."""
    aliases: int
    """Aliased fields, a fragment counted once per spread."""


def _shape(selection_set: SelectionSetNode, fragment: Callable[[str], _Shape]) -> _Shape:
    depth = aliases = 0
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            inner = fragment(selection.name.value)
            depth, aliases = max(depth, inner.depth), aliases + inner.aliases
        elif isinstance(selection, InlineFragmentNode):
            inner = _shape(selection.selection_set, fragment)
            depth, aliases = max(depth, inner.depth), aliases + inner.aliases
        elif isinstance(selection, FieldNode):
            aliases += selection.alias is not None
            if selection.selection_set is not None and not selection.name.value.startswith("__"):
                inner = _shape(selection.selection_set, fragment)
                depth, aliases = max(depth, 1 + inner.depth), aliases + inner.aliases
    return _Shape(depth, aliases)


def shape_refusal(document: DocumentNode) -> str | None:
    """Why the document is too deep or has too many aliases (None when it is within the limits),
    found in one walk with each fragment measured once, so the answer costs time in proportion to the
    document's size whatever its fragments expand to."""
    shape_of = FragmentFold(document).fold(_shape, _Shape(0, 0))
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        shape = shape_of(definition.selection_set)
        name = definition.name.value if definition.name else "anonymous"
        if shape.depth > MAX_DEPTH:
            return (
                f"operation {name!r} nests fields {shape.depth} deep, over the maximum depth of {MAX_DEPTH}"
            )
        if shape.aliases > MAX_ALIASES:
            return (
                f"operation {name!r} has {shape.aliases} aliased fields (fragments counted at each "
                f"spread), over the maximum of {MAX_ALIASES}"
            )
    return None


class _ComparisonBudget(threading.local):
    """The field comparisons left to the field-merging rule running in this thread (None: no limit)."""

    remaining: int | None = None


class _OutOfComparisons(Exception):
    pass


_budget = _ComparisonBudget()
_find_conflict = overlapping_fields.find_conflict


def _counted_find_conflict(*args: Any, **kwargs: Any) -> Any:
    """graphql-core's `find_conflict` (one comparison of two fields), charged to the budget."""
    remaining = _budget.remaining
    if remaining is not None:
        if remaining <= 0:
            raise _OutOfComparisons
        _budget.remaining = remaining - 1
    return _find_conflict(*args, **kwargs)


# The rule calls `find_conflict` through its module's globals: counting there bounds the whole rule.
overlapping_fields.find_conflict = _counted_find_conflict


class BoundedOverlappingFields(OverlappingFieldsCanBeMergedRule):
    """GraphQL's OverlappingFieldsCanBeMerged rule, refusing the document (BAD_USER_INPUT) once it has
    compared MAX_FIELD_COMPARISONS pairs of fields: its work grows with the square of the fields
    that share a response name, which a few thousand tokens can make seconds long."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.remaining = MAX_FIELD_COMPARISONS
        self.exhausted = False

    def enter_selection_set(self, *args: Any) -> None:
        if self.exhausted:
            return
        _budget.remaining = self.remaining
        try:
            super().enter_selection_set(*args)
        except _OutOfComparisons:
            self.exhausted = True
            self.report_error(
                GraphQLError(
                    "the document repeats fields too often to be checked (over "
                    f"{MAX_FIELD_COMPARISONS} pairs of fields with one response name to compare); "
                    "ask for each field once per selection",
                    extensions={"code": BadUserInput.code},
                )
            )
        finally:
            self.remaining = _budget.remaining or 0
            _budget.remaining = None


def validation_rules(rules: Sequence[type[ASTValidationRule]]) -> tuple[type[ASTValidationRule], ...]:
    """`rules` with the field-merging rule replaced by its bounded version."""
    return tuple(
        BoundedOverlappingFields if rule is OverlappingFieldsCanBeMergedRule else rule for rule in rules
    )


_LIST_FACTORS: Mapping[str, int] = {"ancestors": 4, "coverage": 4, "coverageTrend": MAX_TREND_POINTS}
"""Lists without `first`, by field name, and the most items they hold."""


def estimated_cost(
    document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any] | None
) -> int:
    """An upper estimate of how many fields executing the operation resolves: every field counts once
    per item of each list it sits in, a paged list holding `first` items (default MAX_PAGE_SIZE).
    Each fragment is costed once, so the estimate takes time in proportion to the document's size."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next(
        (op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)),
        None,
    )
    if chosen is None:
        return 0
    given = variables or {}

    def cost(selection_set: SelectionSetNode, fragment: Callable[[str], int]) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                inner = cost(selection.selection_set, fragment) if selection.selection_set else 0
                total += _list_factor(selection, given) * (1 + inner)
            elif isinstance(selection, InlineFragmentNode):
                total += cost(selection.selection_set, fragment)
            elif isinstance(selection, FragmentSpreadNode):
                total += fragment(selection.name.value)
        return total

    return FragmentFold(document).fold(cost, 0)(chosen.selection_set)


def _list_factor(field: FieldNode, variables: Mapping[str, Any]) -> int:
    for argument in field.arguments or ():
        if argument.name.value != "first":
            continue
        value: Any = None
        if isinstance(argument.value, IntValueNode):
            value = int(argument.value.value)
        elif isinstance(argument.value, VariableNode):
            value = variables.get(argument.value.name.value)
        if isinstance(value, int) and not isinstance(value, bool):
            return min(max(value, 1), MAX_PAGE_SIZE)
        return MAX_PAGE_SIZE
    name = field.name.value
    if name in _PAGED_FIELDS:
        return MAX_PAGE_SIZE
    return _LIST_FACTORS.get(name, 1)


QUICK_FIELDS: frozenset[str] = frozenset(
    {
        "__typename",
        # Query: one lookup each
        "division",
        "station",
        # Division: the record, a short walk up, or one binary search in the division's timeline
        "code",
        "name",
        "level",
        "parent",
        "ancestors",
        "covered",
        "coverage",
        "rollup",
        # LevelCoverage and Rollup
        "total",
        "rate",
        "guidanceCentres",
        "generalStations",
        "townshipStations",
        "villageRooms",
        "staff",
        "certifiedStaff",
        "volunteers",
        # Station
        "id",
        "status",
        "openedOn",
        "closedOn",
        "version",
    }
)
"""The fields answered in a few microseconds whatever the network's size: a lookup, a walk up the
ancestors, or one binary search. A field that lists (pages, searches, uncovered lists) is not one."""
MAX_QUICK_COST = 500
"""The most field resolutions (`estimated_cost`) of a query that may run without a worker thread."""


def is_quick_read(document: Any, operation_name: str | None) -> bool:
    """True when the operation to run is a query whose every field is in QUICK_FIELDS and whose
    estimated cost is at most MAX_QUICK_COST: it finishes in well under a millisecond or two."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None and len(operations) != 1:
        return False
    chosen = next(
        (op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)),
        None,
    )
    if chosen is None or chosen.operation.value != "query":
        return False
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    for count, name in enumerate(_field_names(chosen.selection_set, fragments, frozenset())):
        if name not in QUICK_FIELDS or count >= MAX_QUICK_COST:
            return False
    return estimated_cost(document, operation_name, None) <= MAX_QUICK_COST


def _field_names(
    selections: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode], seen: frozenset[str]
) -> Iterator[str]:
    """The names of every field selected, through fragments (an unknown fragment yields a name that
    is no field, so the caller refuses it)."""
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
            if selection.selection_set is not None:
                yield from _field_names(selection.selection_set, fragments, seen)
        elif isinstance(selection, InlineFragmentNode):
            yield from _field_names(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in seen:
                yield "..." + name
            else:
                yield from _field_names(fragment.selection_set, fragments, seen | {name})


class RequestLimits(SchemaExtension):
    """Per request: caps the document's tokens at parse time, bounds the field-merging rule's work,
    and refuses (BAD_USER_INPUT) an operation whose estimated cost is over MAX_COST."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = MAX_TOKENS
        context.validation_rules = validation_rules(context.validation_rules)
        yield

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        problem = self._refusal()
        if problem is not None:
            error = GraphQLError(problem, extensions={"code": BadUserInput.code})
            context.result = ExecutionResult(data=None, errors=[error])
        yield

    def _refusal(self) -> str | None:
        """Why the operation must not run (None when it may)."""
        context = self.execution_context
        document = context.graphql_document
        if document is None:
            return None
        request = context.context
        operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
        if operations > 1 and isinstance(request, GraphQLContext) and request.operation_name is None:
            # GraphQL's GetOperation; strawberry alone would quietly run the first operation.
            return "the document holds several operations: name the one to run in operationName"
        cost = estimated_cost(document, context.operation_name, context.variables)
        if cost > MAX_COST:
            return (
                f"the query asks for too much (over {MAX_COST} fields at the page sizes given); "
                "ask for smaller pages (first) or fewer nested lists"
            )
        return None


def parse_document(query: str) -> DocumentNode:
    """The document of `query`, parsed once (cached) within MAX_DOCUMENT_CHARS and MAX_TOKENS;
    a `GraphQLError` saying what is wrong otherwise."""
    if len(query) > MAX_DOCUMENT_CHARS:
        raise GraphQLError(
            f"the document is {len(query)} characters long, over the maximum of {MAX_DOCUMENT_CHARS}; "
            "send large values (such as an import's file) as variables",
            extensions={"code": BadUserInput.code},
        )
    return _get_parse_cache(CACHE_SIZE)(query, max_tokens=MAX_TOKENS)


class BoundedParser(ParserCache):
    """Parsing through `parse_document`: bounded in length and tokens, cached by query text."""

    def on_parse(self) -> Iterator[None]:
        self.execution_context.graphql_document = parse_document(self.execution_context.query or "")
        yield


class ShapeCheckedValidation(ValidationCache):
    """Validation, cached by document: refuses a document too deep or with too many aliases
    (`shape_refusal`, one linear walk) before GraphQL's rules run, so none of them walks a document
    whose fragments expand past the limits."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        problem = shape_refusal(context.graphql_document) if context.graphql_document else None
        if problem is None:
            yield from super().on_validate()
            return
        context.pre_execution_errors = [GraphQLError(problem, extensions={"code": BadUserInput.code})]
        yield


class NetworkSchema(strawberry.Schema):
    """The schema, leaving error logging to the HTTP layer (which logs only unexpected errors, with
    the request id) instead of strawberry's default of logging every error with its traceback."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        return None


schema: strawberry.Schema = NetworkSchema(
    query=Query,
    mutation=Mutation,
    config=StrawberryConfig(scalar_map={date: DATE_SCALAR}),
    extensions=[
        RequestLimits,
        lambda: BoundedParser(maxsize=CACHE_SIZE),
        lambda: ShapeCheckedValidation(maxsize=CACHE_SIZE),
    ],
)


_PAGED_FIELDS: frozenset[str] = frozenset(
    name
    for graphql_type in schema._schema.type_map.values()
    if isinstance(graphql_type, GraphQLObjectType)
    for name, field in graphql_type.fields.items()
    if "first" in field.args
)
"""The names of the fields that return a page (they take `first`)."""


def sdl() -> str:
    """The schema in GraphQL SDL, as committed in schema/schema.graphql."""
    return schema.as_str().rstrip("\n") + "\n"
