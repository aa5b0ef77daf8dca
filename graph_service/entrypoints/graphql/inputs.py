"""The GraphQL input types of the station mutations, and their translation into the service's terms.

`StationInput` and `StationPatch` declare one field per entry of `STATION_FIELDS`, in its order
(strawberry needs them spelled out as annotations; tests/integration/test_station_fields.py checks that they
match the list); their translation is derived from the list."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import Enum
from typing import Any

import strawberry
from strawberry import UNSET

from graph_service.domain.levels import StationLevel, StationStatus
from graph_service.domain.station_fields import STATION_FIELDS, FieldKind, StationField
from graph_service.domain.station_fields import camel_case as camel_case  # re-exported
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
        return {field.name: _domain_value(field, getattr(self, field.name)) for field in STATION_FIELDS}


_PATCH_FIELDS: tuple[StationField, ...] = STATION_FIELDS[1:]
"""The station fields a patch may change (all but `id`), as `NetworkService.update_station` names them."""
_DOMAIN_ENUMS: Mapping[FieldKind, type[Enum]] = {
    FieldKind.LEVEL: StationLevel,
    FieldKind.STATUS: StationStatus,
}


def _domain_value(field: StationField, value: Any) -> Any:
    """A GraphQL argument value of `field` in the domain's terms: None when left out or null, enums as
    the domain's, ids as plain text."""
    value = given(value)
    if value is None:
        return None
    if field.kind in _DOMAIN_ENUMS:
        return convert(value, _DOMAIN_ENUMS[field.kind])
    if field.kind in (FieldKind.ID, FieldKind.STATION):
        return str(value)
    return value


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
        for field in _PATCH_FIELDS:
            value = getattr(self, field.name)
            if value is UNSET:
                continue
            if value is None and not field.nullable:
                raise BadUserInput(f"{field.graphql_name} cannot be null; leave it out to keep its value")
            patch[field.name] = _domain_value(field, value)
        return patch
