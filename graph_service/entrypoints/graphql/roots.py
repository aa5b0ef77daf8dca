"""The root types: `Query` and `Mutation`. Their resolvers only translate to and from the service layer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry import UNSET

from graph_service.domain.levels import DivisionLevel
from graph_service.entrypoints.graphql.context import Info, day, given, readable, service_of
from graph_service.entrypoints.graphql.inputs import StationInput, StationPatch
from graph_service.entrypoints.graphql.limits import MAX_PAGE_SIZE
from graph_service.entrypoints.graphql.pagination import (
    DIVISION_CURSOR,
    Connection,
    audit_paging,
    paging,
)
from graph_service.entrypoints.graphql.scalars import DivisionLevelEnum, convert
from graph_service.entrypoints.graphql.types import (
    AuditEntryType,
    DivisionType,
    ImportReportType,
    StationType,
    audit_page,
    division_or_none,
    division_page,
    station_or_none,
)
from graph_service.service_layer.editions import (
    apply_stored_edition,
    edition_import_report,
    preview_stored_edition,
)
from graph_service.service_layer.errors import BadUserInput


@strawberry.type
class Query:
    @strawberry.field(description="The division with this NBS code, or null.")
    def division(self, info: Info, code: str) -> DivisionType | None:
        return division_or_none(readable(info).views.division(code))

    @strawberry.field(description="The station with this id, or null.")
    def station(self, info: Info, id: strawberry.ID) -> StationType | None:
        return station_or_none(readable(info).views.station(str(id)))

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
    ) -> Connection[DivisionType]:
        service = readable(info)
        size, key = paging(DIVISION_CURSOR, first, after)
        page = service.uncovered(under, convert(level, DivisionLevel), day(info, as_of), key, size)
        return division_page(page, key)

    @strawberry.field(
        description="Divisions whose name contains `nameContains`, optionally of one level and under "
        "one division, valid on `asOf` (default today), by code."
    )
    def divisions(
        self,
        info: Info,
        name_contains: str,
        level: DivisionLevelEnum | None = UNSET,
        under: str | None = UNSET,
        first: int | None = MAX_PAGE_SIZE,
        after: str | None = UNSET,
        as_of: date | None = UNSET,
    ) -> Connection[DivisionType]:
        service = readable(info)
        size, key = paging(DIVISION_CURSOR, first, after)
        level = given(level)
        page = service.search(
            name_contains,
            convert(level, DivisionLevel) if level is not None else None,
            given(under),
            key,
            size,
            day(info, as_of),
        )
        return division_page(page, key)

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
    ) -> Connection[AuditEntryType]:
        info.context.caller_specific.add("auditLog")
        service_of(info).check_audit_read(info.context.principal, [])
        size, key = audit_paging(first, after)
        page = service_of(info).audit_log(info.context.principal, given(under), given(since), key, size)
        return audit_page(page, key)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create a station (editors: inside their scope; admins: anywhere).")
    def create_station(
        self, info: Info, station: Annotated[StationInput, strawberry.argument(name="input")]
    ) -> StationType:
        created = service_of(info).create_station(info.context.principal, station.to_fields())
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
        updated = service_of(info).update_station(
            info.context.principal, str(id), patch.to_patch(), given(expected_version)
        )
        return StationType(record=updated)

    @strawberry.mutation(description="Close a station from `on` (it is active up to the day before).")
    def close_station(self, info: Info, id: strawberry.ID, on: date) -> StationType:
        return StationType(record=service_of(info).close_station(info.context.principal, str(id), on))

    @strawberry.mutation(
        description="Import a station CSV (spec §2): validated whole, then written all at once or not at "
        "all. A rejected file is a report with errors, not a GraphQL error."
    )
    def import_stations(self, info: Info, csv: str, dry_run: bool | None = UNSET) -> ImportReportType:
        report = service_of(info).import_stations(info.context.principal, csv, dry_run=bool(given(dry_run)))
        return ImportReportType.of(report)

    @strawberry.mutation(
        description="Import a division CSV (admins only), with the same all-or-nothing semantics. With "
        "`edition`, the CSV is the complete table as of that day for every province it holds (spec §6): "
        "codes absent from it are retired, new ones valid from that day; `successors` (CSV "
        "old_code,new_code) names the successors of retired divisions; `dryRun` previews it."
    )
    def import_divisions(
        self,
        info: Info,
        csv: str,
        dry_run: bool | None = UNSET,
        edition: date | None = UNSET,
        successors: str | None = UNSET,
    ) -> ImportReportType:
        service, principal, preview_only = service_of(info), info.context.principal, bool(given(dry_run))
        day_of_edition, links = given(edition), given(successors)
        if day_of_edition is None:
            if links is not None:
                raise BadUserInput("successors go with edition (the successors of the divisions it retires)")
            return ImportReportType.of(service.import_divisions(principal, csv, dry_run=preview_only))
        if preview_only:
            preview = preview_stored_edition(service, principal, csv, day_of_edition, links)
            return ImportReportType.of(edition_import_report(preview, False))
        result = apply_stored_edition(service, principal, csv, day_of_edition, links)
        return ImportReportType.of(edition_import_report(result.preview, result.applied))


# --- protections ---------------------------------------------------------------------------------
#
# Validation must cost little whatever the document's shape (spec §7: accepted or refused within
