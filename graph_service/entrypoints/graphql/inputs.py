"""The GraphQL input types of the station mutations, and their translation into the service's terms."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import Enum
from typing import Any

import strawberry
from strawberry import UNSET

from graph_service.domain.levels import StationLevel, StationStatus
from graph_service.domain.validation import STATION_COLUMNS
from graph_service.entrypoints.graphql.context import given
from graph_service.entrypoints.graphql.scalars import StationLevelEnum, StationStatusEnum, convert
from graph_service.service_layer.errors import BadUserInput

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
            "level": convert(self.level, StationLevel),
            "division_code": self.division_code,
            "parent_id": given(self.parent_id),
            "status": convert(self.status, StationStatus),
            "opened_on": given(self.opened_on),
            "closed_on": given(self.closed_on),
            "staff": given(self.staff),
            "certified_staff": given(self.certified_staff),
            "volunteers": given(self.volunteers),
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
                value = convert(value, _PATCH_ENUMS[name])
            patch[name] = str(value) if name == "parent_id" and value is not None else value
        return patch
