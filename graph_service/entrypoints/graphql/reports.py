"""The GraphQL audit and import types: one audit entry (and a page of them as a connection), an
import's report and its problems."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry.scalars import JSON

from graph_service.domain.audit import AuditEntry
from graph_service.domain.validation import Problem
from graph_service.entrypoints.graphql.pagination import AUDIT_CURSOR, Connection, connection
from graph_service.service_layer.services import AuditPage, ImportReport


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
