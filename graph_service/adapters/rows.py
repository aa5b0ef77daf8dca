"""Stored rows back into records: one place for both stores."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus
from graph_service.domain.model import Division, Station

# Enum lookups by value are slow on a national load; a dict is not (an unknown value still falls
# through to the enum, which names it in its error).
_DIVISION_LEVELS = {str(level): level for level in DivisionLevel}
_STATION_LEVELS = {str(level): level for level in StationLevel}
_STATUSES = {str(status): status for status in StationStatus}


def division_from_row(row: Sequence[Any]) -> Division:
    """A division from (code, name, level, parent_code)."""
    code, name, level, parent_code = row
    return Division(code, name, _DIVISION_LEVELS.get(level) or DivisionLevel(level), parent_code)


def station_from_row(row: Sequence[Any], to_date: Callable[[Any], date | None]) -> Station:
    """A station from (id, name, level, division_code, parent_id, status, opened_on, closed_on, staff,
    certified_staff, volunteers, version), its dates read with `to_date`."""
    (sid, name, level, division_code, parent_id, status, opened, closed, staff, certified, volunteers,
     version) = row  # fmt: skip
    return Station(
        id=sid,
        name=name,
        level=_STATION_LEVELS.get(level) or StationLevel(level),
        division_code=division_code,
        parent_id=parent_id,
        status=_STATUSES.get(status) or StationStatus(status),
        opened_on=to_date(opened),
        closed_on=to_date(closed),
        staff=int(staff or 0),
        certified_staff=int(certified or 0),
        volunteers=int(volunteers or 0),
        version=int(version),
    )


def iso_date(value: Any) -> date | None:
    """A date stored as ISO text (None stays None)."""
    return None if value is None else date.fromisoformat(str(value))
