"""`graph-service seed divisions|stations FILE`: import a CSV file, all or nothing, with a progress bar
on a terminal, and print what it created, updated and left unchanged, or every problem found."""

from __future__ import annotations

import argparse

from graph_service.entrypoints.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    Failed,
    open_service,
    print_rejection,
    read_input,
)
from graph_service.entrypoints.cli.editions import cmd_seed_edition, wants_edition
from graph_service.entrypoints.progress import ProgressBar
from graph_service.ports import OutcomeUnknown, StoreError
from graph_service.service_layer.auth import Principal
from graph_service.service_layer.errors import ServiceError, Unavailable
from graph_service.service_layer.importing import station_file_scope


def cmd_seed(args: argparse.Namespace) -> int:
    """Import the divisions or stations file `args.file` (or check it only, with --dry-run); an
    edition's options go to `editions.cmd_seed_edition`."""
    if wants_edition(args):
        return cmd_seed_edition(args)
    kind: str = args.kind
    data, source = read_input(args.file)
    # A station import checks its rows against the part of the network they name, not its coverage.
    service = open_service(args.store, around=station_file_scope(data) if kind == "stations" else None)
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
        why = ": it is imported only when every row is right"
        print_rejection(source, kind, report.errors, dry_run=args.dry_run, why=why)
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
