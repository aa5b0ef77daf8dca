"""The `Date` scalar and the GraphQL enums, mirrors of the domain's (so the domain stays free of GraphQL)."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import TypeVar

import strawberry
from graphql import (
    GraphQLError,
)

from graph_service.domain.calendar import Interval
from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus
from graph_service.domain.validation import parse_date

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


def convert(value: Enum, kind: type[E]) -> E:
    """The member of `kind` with the same value (GraphQL enum ↔ domain enum)."""
    return kind(value.value)
