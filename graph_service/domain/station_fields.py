"""The fields of a station, once, in order: everything that spells them out derives from `STATION_FIELDS`.

The order is the station CSV's header (spec §2) and the order of `Station`'s attributes. From this list
come the CSV header (import validation, the demo generator), the stores' column lists, placeholders
and Cypher projections (`graph_service.adapters`), the row conversion (`adapters/rows.py`), the audit
trail's row objects (`domain/audit.py`) and the GraphQL input and patch (`entrypoints/graphql/inputs.py`).
Adding a field means adding it here and to `Station` (same name, same place), plus a store migration.

Imports the standard library and the domain's levels only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from operator import attrgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from graph_service.domain.model import Station


class FieldKind(StrEnum):
    """What a station field holds, which says how it is validated, stored and shown."""

    ID = "id"
    """The station's own id (spec §7: 1..64 characters of A-Z a-z 0-9 . _ : -)."""
    NAME = "name"
    """A name: 1..200 characters of plain text after trimming."""
    LEVEL = "level"
    """A `StationLevel`."""
    DIVISION = "division"
    """The code of the division the station sits in (stored as a link in a graph store)."""
    STATION = "station"
    """The id of another station, the one this one reports to (a link in a graph store)."""
    STATUS = "status"
    """A `StationStatus`."""
    DATE = "date"
    """A day, YYYY-MM-DD, years 1900..2100."""
    COUNT = "count"
    """A whole number 0..`maximum`; an empty CSV cell means 0."""


MAX_COUNT = 1_000_000
"""Largest staff, certified_staff or volunteers of one station (spec §7)."""


@dataclass(frozen=True, slots=True)
class StationField:
    """One field of a station: its name (the `Station` attribute and the CSV column), what it holds,
    whether it may be empty (None; a patch may then clear it), and for counts the largest value."""

    name: str
    kind: FieldKind
    nullable: bool = False
    maximum: int | None = None

    @property
    def column(self) -> str:
        """Its CSV column (and store column, and audit row key): the field's name."""
        return self.name

    @property
    def graphql_name(self) -> str:
        """Its GraphQL name (`division_code` → `divisionCode`)."""
        return camel_case(self.name)

    @property
    def required(self) -> bool:
        """True when an import row or a new station must give it (neither nullable nor a count)."""
        return not self.nullable and self.kind is not FieldKind.COUNT


STATION_FIELDS: tuple[StationField, ...] = (
    StationField("id", FieldKind.ID),
    StationField("name", FieldKind.NAME),
    StationField("level", FieldKind.LEVEL),
    StationField("division_code", FieldKind.DIVISION),
    StationField("parent_id", FieldKind.STATION, nullable=True),
    StationField("status", FieldKind.STATUS),
    StationField("opened_on", FieldKind.DATE, nullable=True),
    StationField("closed_on", FieldKind.DATE, nullable=True),
    StationField("staff", FieldKind.COUNT, maximum=MAX_COUNT),
    StationField("certified_staff", FieldKind.COUNT, maximum=MAX_COUNT),
    StationField("volunteers", FieldKind.COUNT, maximum=MAX_COUNT),
)
"""Every field of a station an admin gives, in the CSV header's order."""

VERSION_COLUMN = "version"
"""The stored field that is not the admin's: the station's version (1 when first written, +1 per change)."""

STATION_COLUMNS: tuple[str, ...] = tuple(field.column for field in STATION_FIELDS)
"""The station CSV's header (spec §2)."""
STORED_STATION_COLUMNS: tuple[str, ...] = (*STATION_COLUMNS, VERSION_COLUMN)
"""A stored station row: the CSV's columns, then the version (the order of `Station`'s attributes)."""
FIELDS_BY_NAME: dict[str, StationField] = {field.name: field for field in STATION_FIELDS}


def columns_of(kind: FieldKind) -> tuple[str, ...]:
    """The columns of the fields of `kind`, in order."""
    return tuple(field.column for field in STATION_FIELDS if field.kind is kind)


COUNT_COLUMNS: tuple[str, ...] = columns_of(FieldKind.COUNT)
DATE_COLUMNS: tuple[str, ...] = columns_of(FieldKind.DATE)

_STORED_VALUES = attrgetter(*STORED_STATION_COLUMNS)


def camel_case(column: str) -> str:
    """The GraphQL name of a station field or CSV column (`division_code` → `divisionCode`)."""
    head, *rest = column.split("_")
    return head + "".join(word.capitalize() for word in rest)


def stored_values(station: Station, date_value: Callable[[date], Any] = date.isoformat) -> list[Any]:
    """`station` as a row of `STORED_STATION_COLUMNS`: levels and statuses as their text, dates given
    by `date_value` (ISO text by default), None kept, numbers as numbers."""
    row = list(_STORED_VALUES(station))
    for index in _TEXT_POSITIONS:
        row[index] = str(row[index])
    for index in _DATE_POSITIONS:
        if row[index] is not None:
            row[index] = date_value(row[index])
    return row


def csv_values(station: Station) -> list[str]:
    """`station` as a row of the station CSV (`STATION_COLUMNS`): every value as text, empty for None."""
    return ["" if value is None else str(value) for value in stored_values(station)[: len(STATION_COLUMNS)]]


def row_object(station: Station) -> dict[str, Any]:
    """`station` keyed by the CSV's columns (dates as ISO text, counts as numbers, empty as None)."""
    return dict(zip(STATION_COLUMNS, stored_values(station), strict=False))


_TEXT_POSITIONS = tuple(
    index for index, field in enumerate(STATION_FIELDS) if field.kind in (FieldKind.LEVEL, FieldKind.STATUS)
)
_DATE_POSITIONS = tuple(index for index, field in enumerate(STATION_FIELDS) if field.kind is FieldKind.DATE)
