"""The commands that read the network out: `export uncovered` (the gap list), `audit` (the audit
trail) and `check` (every stored row that breaks the rules)."""

from __future__ import annotations

import argparse
import io
import itertools
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from graph_service.domain.levels import DivisionLevel
from graph_service.entrypoints import exports as gap_list
from graph_service.entrypoints.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    Failed,
    UsageError,
    note,
    open_service,
    plural,
)
from graph_service.entrypoints.csv_out import write_csv
from graph_service.entrypoints.json_out import write_json_array
from graph_service.service_layer.auth import Principal, os_user
from graph_service.service_layer.errors import BadUserInput, NotFound

if TYPE_CHECKING:
    from graph_service.domain.audit import AuditEntry
    from graph_service.service_layer.services import NetworkService

AUDIT_COLUMNS = ("at", "actor", "role", "operation", "target", "before", "after")
"""The audit command's CSV columns and JSON keys: the fields of GraphQL's AuditEntry."""
AUDIT_PAGE_SIZE = 5_000

_PLURAL = {
    DivisionLevel.PROVINCE: "provinces",
    DivisionLevel.CITY: "cities",
    DivisionLevel.COUNTY: "counties",
    DivisionLevel.TOWNSHIP: "townships",
    DivisionLevel.VILLAGE: "villages",
}


def cmd_export_uncovered(args: argparse.Namespace) -> int:
    """Write the gap list of `args.level` under `args.under` on `args.as_of` (default today)."""
    level = DivisionLevel(args.level)
    if args.format == "xlsx" and args.output is None:
        raise UsageError("--format xlsx writes a binary file: name it with --output FILE")
    service = open_service(args.store)
    try:
        day = args.as_of or service.today()
        try:
            under = service.require_division(args.under)
            rows = gap_list.uncovered_rows(service, args.under, level, day)
        except NotFound as error:
            raise Failed(
                f"{error.message} in {service.settings.store_url} (seed the divisions first, "
                "or check the code)"
            ) from error
        except BadUserInput as error:
            raise UsageError(error.message) from error
        count = _write_export(rows, args.format, args.output)
    finally:
        service.close()
    where = f" to {args.output}" if args.output is not None else ""
    note(f"{count:,} uncovered {_PLURAL[level]} under {under.code} {under.name} on {day.isoformat()}{where}")
    return EXIT_OK


def _write_export(rows: Iterator[gap_list.ExportRow], format: str, output: str | None) -> int:
    """Write the rows in `format` to standard output, or whole to the file `output` (no partial file
    is left when writing fails); returns the row count."""
    if output is None:
        writer = gap_list.write_json if format == "json" else gap_list.write_csv
        return writer(rows, sys.stdout)
    if format == "xlsx":
        data, count = gap_list.xlsx_bytes(rows)
    else:
        text = io.StringIO()
        count = (gap_list.write_json if format == "json" else gap_list.write_csv)(rows, text)
        data = text.getvalue().encode("utf-8")
    path = Path(output)
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(data)
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise UsageError(f"cannot write {output}: {error.strerror or error}") from error
    return count


def cmd_audit(args: argparse.Namespace) -> int:
    """Print the audit entries under `args.under` since `args.since`, newest first."""
    service = open_service(args.store)
    try:
        try:
            entries = _audit_entries(service, args.under, args.since)
            first = next(entries, None)
        except NotFound as error:
            raise Failed(f"{error.message} in {service.settings.store_url} (check the code)") from error
        rows = itertools.chain([first] if first is not None else [], entries)
        writer = _write_audit_json if args.format == "json" else _write_audit_csv
        count = writer(rows, sys.stdout)
    finally:
        service.close()
    where = f" under {args.under}" if args.under else ""
    when = f" since {args.since.isoformat()}" if args.since else ""
    note(f"{count:,} audit {plural(count, 'entry', 'entries')}{where}{when}, newest first")
    return EXIT_OK


def _audit_entries(
    service: NetworkService, under: str | None, since: datetime | None
) -> Iterator[AuditEntry]:
    """Every audit entry under `under` (None: all) at or after `since`, newest first, page by page."""
    principal = Principal.command_line(os_user())
    before: int | None = None
    while True:
        page = service.audit_log(principal, under, since, before, AUDIT_PAGE_SIZE)
        yield from page.entries
        if not page.has_next or not page.entries:
            return
        before = page.entries[-1].seq


def _audit_record(entry: AuditEntry) -> dict[str, object]:
    """An audit entry with the keys of GraphQL's AuditEntry (`at` in ISO 8601, UTC)."""
    return {
        "at": entry.at.astimezone(UTC).isoformat(),
        "actor": entry.actor,
        "role": entry.role,
        "operation": entry.operation,
        "target": entry.target,
        "before": entry.before,
        "after": entry.after,
    }


def _write_audit_csv(entries: Iterator[AuditEntry], out: TextIO) -> int:
    """The entries as CSV (AUDIT_COLUMNS; before and after as JSON text), spreadsheet-safe."""
    rows = (
        [
            json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value
            for value in record.values()
        ]
        for record in map(_audit_record, entries)
    )
    count = write_csv(out, AUDIT_COLUMNS, rows)
    out.flush()
    return count


def _write_audit_json(entries: Iterator[AuditEntry], out: TextIO) -> int:
    """The entries as a JSON array of objects with the keys of GraphQL's AuditEntry."""
    return write_json_array(map(_audit_record, entries), out)


def cmd_check(args: argparse.Namespace) -> int:
    """Print every stored row that breaks the rules; exit status 1 when there is any."""
    service = open_service(args.store, quiet=True)
    try:
        problems = service.views.problems
        for problem in problems:
            print(problem)
        url = service.settings.store_url
        if problems:
            note(
                f"{url}: {len(problems):,} {plural(len(problems), 'problem', 'problems')}; the rows named "
                "are left out of every answer until a corrected import replaces them"
            )
            return EXIT_REJECTED
        divisions = sum(1 for _ in service.views.division_records())
        stations = sum(1 for _ in service.views.station_records())
        note(f"{url}: no problems ({divisions:,} divisions, {stations:,} stations)")
        return EXIT_OK
    finally:
        service.close()
