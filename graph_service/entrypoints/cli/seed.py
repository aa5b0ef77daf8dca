"""`graph-service seed divisions|stations FILE`: import a CSV file, all or nothing, with a progress bar
on a terminal, and print what it created, updated and left unchanged, or every problem found."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from graph_service.entrypoints.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    PROG,
    Failed,
    open_service,
    plural,
    read_input,
)
from graph_service.entrypoints.cli.editions import cmd_seed_edition, wants_edition
from graph_service.entrypoints.progress import ProgressBar
from graph_service.ports import OutcomeUnknown, StoreError
from graph_service.service_layer.auth import Principal
from graph_service.service_layer.errors import ServiceError, Unavailable

if TYPE_CHECKING:
    from graph_service.service_layer.services import ImportReport


def cmd_seed(args: argparse.Namespace) -> int:
    """Import the divisions or stations file `args.file` (or check it only, with --dry-run); an
    edition's options go to `editions.cmd_seed_edition`."""
    if wants_edition(args):
        return cmd_seed_edition(args)
    kind: str = args.kind
    data, source = read_input(args.file)
    service = open_service(args.store)
    store_url = service.settings.store_url
    bar = ProgressBar(kind)
    try:
        bar.status(f"checking {_count_lines(data):,} rows of {source}…")
        importer = service.import_divisions if kind == "divisions" else service.import_stations
        report = importer(
            Principal.command_line(args.actor),
            data,
            dry_run=args.dry_run,
            follow=False,
            progress=bar.update if bar.enabled else None,
        )
    except Unavailable as error:  # the store's own words say what is busy or unreachable, and where
        raise Failed(f"{source} was not imported, nothing was written: {error.__cause__ or error}") from error
    except ServiceError as error:
        raise Failed(f"{source} was not imported, nothing was written: {error.message}") from error
    except OutcomeUnknown as error:
        raise Failed(f"{source}: {error}") from error
    except StoreError as error:
        raise Failed(f"{source} was not imported, nothing was written: {error}") from error
    finally:
        bar.close()
        service.close()
    if report.errors:
        _print_rejection(source, kind, report, dry_run=args.dry_run)
        return EXIT_REJECTED
    counts = f"{report.created:,} created, {report.updated:,} updated, {report.unchanged:,} unchanged"
    if args.dry_run:
        print(f"dry run, nothing written: {kind} from {source} into {store_url} would be {counts}")
    else:
        print(f"seeded {kind} from {source} into {store_url}: {counts}")
    return EXIT_OK


def _count_lines(data: bytes) -> int:
    """About how many data rows a CSV file holds (quoted line breaks aside): for the progress line."""
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return max(0, lines - 1)


def _print_rejection(source: str, kind: str, report: ImportReport, *, dry_run: bool) -> None:
    """Print on standard error why `source` was rejected: every problem, one a line."""
    problems = report.errors
    bad_rows = len({problem.row for problem in problems})
    lines = [
        f"{PROG}: {source} was rejected{' (dry run)' if dry_run else ''}, nothing was written: "
        f"{len(problems):,} {plural(len(problems), 'problem', 'problems')} in "
        f"{bad_rows:,} {plural(bad_rows, 'row', 'rows')}"
    ]
    lines += [f"  {problem}" for problem in problems]
    lines.append(
        f"Correct the {kind} file (row 1 is the header) and run the command again: "
        "it is imported only when every row is right."
    )
    sys.stderr.write("\n".join(lines) + "\n")
