"""`graph-service seed divisions FILE --edition D [--dry-run] [--successors FILE] [--write-successors OUT]`:
previewing (`--dry-run`) and applying an edition of the division table (spec §6), as text.

It only translates: the options, a call to `service_layer.editions` (`preview_stored_edition`,
`apply_stored_edition`), and the report on standard output (refusals on standard error, exit status
1). Applying moves the stations of the retired divisions to their successors (spec §6) and lists
the moves and the reporting lines they change.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TextIO

from graph_service.domain.edition_report import EditionReport
from graph_service.domain.levels import DIVISION_LEVELS
from graph_service.domain.model import Division, Station
from graph_service.domain.successors import SUCCESSOR_COLUMNS, successor_rows
from graph_service.entrypoints.cli.arguments import iso_date
from graph_service.entrypoints.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    PROG,
    Failed,
    UsageError,
    note,
    open_service,
    plural,
    print_rejection,
    read_input,
)
from graph_service.entrypoints.csv_out import write_csv
from graph_service.ports import OutcomeUnknown, StoreError
from graph_service.service_layer.auth import Principal
from graph_service.service_layer.editions import EditionPreview, apply_stored_edition, preview_stored_edition
from graph_service.service_layer.errors import ServiceError, Unavailable

EDITION_HELP = """\
Editions (spec §6): --edition D reads FILE as the complete NBS table as of D for every province it
holds. With --dry-run it previews the edition against the stored network: the divisions it would
create, retire and rename, the stations in retired divisions that would move to a successor (and the
reporting lines that changes), and a proposed successor for each retired division (same level, same
name once administrative suffixes such as 县/区 or 镇/街道 are set aside, under the nearest surviving
ancestor). --write-successors OUT writes that proposal as an old_code,new_code CSV to review;
--successors FILE previews the edition with the reviewed file (the stations move to the first
successor listed for their division; a retired division holding open stations with no successor,
or a bad row of FILE, is a refusal: exit status 1). Without --dry-run the edition is applied: all
or nothing, and running the latest edition again with the same file changes nothing; --successors
records the successor links, and each station of a retired division not closed by D moves to the
first successor listed for it from D (a retired division holding such stations with no successor
is refused, naming them).

  graph-service seed divisions seed/divisions-guizhou-2021.csv --edition 2021-10-31 --dry-run \\
      --write-successors successors-2021.csv
  graph-service seed divisions seed/divisions-guizhou-2021.csv --edition 2021-10-31 --dry-run \\
      --successors successors-2021.csv
  graph-service seed divisions seed/divisions-guizhou-2021.csv --edition 2021-10-31"""


def add_edition_options(command: argparse.ArgumentParser) -> None:
    """Add --edition, --successors and --write-successors to `seed divisions`."""
    command.add_argument(
        "--edition",
        type=iso_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="read FILE as the complete division table as of this day (the NBS cut-off date) for "
        "every province it holds (see below)",
    )
    command.add_argument(
        "--successors",
        default=None,
        metavar="FILE",
        help="with --edition: the successors of retired divisions, CSV old_code,new_code",
    )
    command.add_argument(
        "--write-successors",
        default=None,
        metavar="OUT",
        help="with --edition --dry-run: write the proposed successors to OUT (CSV old_code,new_code)",
    )


def wants_edition(args: argparse.Namespace) -> bool:
    """True when the command line asks for an edition (or one of its options)."""
    return any(
        getattr(args, name, None) is not None for name in ("edition", "successors", "write_successors")
    )


def cmd_seed_edition(args: argparse.Namespace) -> int:
    """Preview FILE as the edition of --edition against the store; print the report."""
    if args.edition is None:
        raise UsageError("--successors and --write-successors go with --edition YYYY-MM-DD")
    if not args.dry_run:
        if args.write_successors is not None:
            raise UsageError("--write-successors goes with --dry-run (it writes the preview's proposal)")
        return _apply_edition(args)
    if args.successors and args.write_successors and _same_file(args.successors, args.write_successors):
        raise UsageError(
            f"--write-successors {args.write_successors} would overwrite the successors file being "
            "read (--successors); write the proposal to another file"
        )
    data, source, successors, successors_source = _read_edition_files(args)
    service = open_service(args.store)
    try:
        store_url = service.settings.store_url
        try:
            preview = preview_stored_edition(
                service, Principal.command_line(args.actor), data, args.edition, successors
            )
        except ServiceError as error:
            raise Failed(f"{source} was not previewed: {error.message}") from error
    finally:
        service.close()
    if preview.report is None or preview.division_problems:
        print_rejection(source, "divisions", preview.division_problems, dry_run=True)
        return EXIT_REJECTED
    report = preview.report
    print_preview(preview, source, store_url, successors_source, sys.stdout)
    if args.write_successors is not None:
        count = _write_successors(report.proposed, args.write_successors)
        note(
            f"wrote {count:,} proposed {plural(count, 'successor', 'successors')} to "
            f"{args.write_successors}; review it, then pass it back with --successors {args.write_successors}"
        )
    if preview.successor_problems:
        name = successors_source or "the successors file"
        print_rejection(name, "successors", preview.successor_problems, dry_run=True)
    if preview.successors_given and preview.stranded:
        lines = [
            f"{PROG}: the edition would be refused: {len(preview.stranded):,} retired "
            f"{plural(len(preview.stranded), 'division holds', 'divisions hold')} stations "
            f"with no successor in {successors_source}"
        ]
        lines += [f"  {stranded}" for stranded in preview.stranded]
        sys.stderr.write("\n".join(lines) + "\n")
    return EXIT_REJECTED if preview.refused else EXIT_OK


def _read_edition_files(args: argparse.Namespace) -> tuple[bytes, str, bytes | None, str | None]:
    """FILE and the successors file of --successors (None, None without one), each with its name."""
    data, source = read_input(args.file)
    successors, successors_source = read_input(args.successors) if args.successors else (None, None)
    return data, source, successors, successors_source


def _apply_edition(args: argparse.Namespace) -> int:
    """Apply FILE as the edition of --edition to the store; print what it did, or every refusal."""
    data, source, successors, successors_source = _read_edition_files(args)
    service = open_service(args.store)
    try:
        store_url = service.settings.store_url
        try:
            result = apply_stored_edition(
                service, Principal.command_line(args.actor), data, args.edition, successors, follow=False
            )
        except Unavailable as error:
            raise Failed(
                f"{source} was not applied, nothing was written: {error.__cause__ or error}"
            ) from error
        except ServiceError as error:
            raise Failed(f"{source} was not applied, nothing was written: {error.message}") from error
        except OutcomeUnknown as error:  # the commit's fate is not known: never claim nothing was written
            raise Failed(f"{source}: {error}") from error
        except StoreError as error:
            raise Failed(f"{source} was not applied, nothing was written: {error}") from error
    finally:
        service.close()
    preview = result.preview
    if preview.report is None or preview.division_problems:
        print_rejection(source, "divisions", preview.division_problems, dry_run=False)
        return EXIT_REJECTED
    report = preview.report
    day = args.edition.isoformat()
    if preview.successor_problems:
        name = successors_source or "the successors file"
        print_rejection(name, "successors", preview.successor_problems, dry_run=False)
        return EXIT_REJECTED
    if not result.applied:
        lines = [
            f"{PROG}: {source} as the edition of {day} was refused, nothing was written: "
            f"{len(preview.stranded):,} retired "
            f"{plural(len(preview.stranded), 'division holds', 'divisions hold')} "
            f"stations that have not closed by {day}, and no successor to move them to"
        ]
        lines += [f"  {stranded}" for stranded in preview.stranded]
        lines.append(
            "Give each a successor in the successors file (--successors; preview with --dry-run "
            "--write-successors for a proposal); stations closed by the edition's date do not stop it."
        )
        sys.stderr.write("\n".join(lines) + "\n")
        return EXIT_REJECTED
    provinces = ", ".join(_label(code, report.after) for code in sorted(report.plan.applied))
    if not result.written:
        print(
            f"{source} as the edition of {day} for {provinces} into {store_url}: "
            "already applied, nothing changed"
        )
        return EXIT_OK
    plan = report.plan
    linked = sum(1 for news in report.successors.values() if news)
    print(
        f"applied {source} as the edition of {day} for {provinces} into {store_url}: "
        f"{len(plan.created):,} created, {len(plan.retired):,} retired, {len(plan.renamed):,} renamed, "
        f"{len(plan.reparented):,} re-parented"
        + (f"; {linked:,} retired with successors from {successors_source}" if successors_source else "")
        + (
            f"; {len(report.moves):,} {plural(len(report.moves), 'station', 'stations')} moved, "
            f"{len(report.reporting):,} reporting {plural(len(report.reporting), 'line', 'lines')} changed"
            if report.moves or report.reporting
            else ""
        )
    )
    if report.moves or report.reporting:
        _moves_sections(sys.stdout.write, report, preview.stations, day, "")
    return EXIT_OK


def print_preview(
    preview: EditionPreview,
    source: str,
    store_url: str,
    successors_source: str | None,
    out: TextIO,
) -> None:
    """The report of an edition that plans (`preview.report` set): counts, then each list."""
    report = preview.report
    assert report is not None
    after = report.after
    day = preview.edition.isoformat()
    write = out.write
    provinces = ", ".join(_label(code, after) for code in sorted(report.plan.applied))
    write(
        f"dry run, nothing written: {source} as the edition of {day} for {provinces}, against {store_url}\n"
    )
    if report.plan.changes_nothing:
        write("the edition changes nothing\n")
        return
    write("\n" + _counts_table(report, successors_source) + "\n")
    following = f"the successors in {successors_source}" if successors_source else "the proposed successors"
    write(
        f"stations that would move: {len(report.moves):,} (to {following}); "
        f"reporting lines that would change: {len(report.reporting):,}\n"
    )
    _moves_sections(write, report, preview.stations, day, "would ")
    if report.stranded and not preview.successors_given:
        _section(
            write,
            f"retired divisions holding stations, with no proposed successor ({len(report.stranded):,})",
            (
                f"  {_label(s.division_code, after)}: {', '.join(s.station_ids)} (give it a successor)"
                for s in report.stranded
            ),
        )
    _section(
        write,
        f"created ({len(report.plan.created):,}), valid from {day}",
        (
            f"  {d.level:<8}  {d.code} {d.name}, under {_label(d.parent_code, after)}"
            for d in _by_level(report.plan.created)
        ),
    )
    _section(
        write,
        f"retired ({len(report.plan.retired):,}), valid until {day}: proposed successor",
        (
            f"  {d.level:<8}  {d.code} {d.name}, under {_label(d.parent_code, after)} → "
            + (_label(report.proposed[d.code], after) if d.code in report.proposed else "none proposed")
            + _given(d.code, report, preview.successors_given, after)
            for d in _by_level(report.plan.retired)
        ),
    )
    _section(
        write,
        f"renamed ({len(report.plan.renamed):,}) from {day}",
        (
            f"  {after[r.code].level:<8}  {r.code} {r.old_name} → {r.new_name} (row {r.row})"
            for r in sorted(report.plan.renamed, key=lambda r: (after[r.code].level.rank, r.code))
        ),
    )
    _section(
        write,
        f"re-parented ({len(report.plan.reparented):,}): a correction, not dated",
        (
            f"  {r.code}: under {_label(r.old_parent, after)} → under {_label(r.new_parent, after)}"
            f" (row {r.row})"
            for r in report.plan.reparented
        ),
    )


def _moves_sections(
    write: Callable[[str], object],
    report: EditionReport,
    stations: Mapping[str, Station],
    day: str,
    would: str,
) -> None:
    """The stations an edition moves and the reporting lines it changes, one per line (`would`:
    "would " in a preview, "" once applied)."""
    after = report.after
    _section(
        write,
        f"stations that {would}move from {day} ({len(report.moves):,})",
        (
            f"  {m.station_id} {stations[m.station_id].name}: "
            f"{_label(m.old_code, after)} → {_label(m.new_code, after)}"
            for m in report.moves
        ),
    )
    _section(
        write,
        f"reporting lines that {would}change from {day} ({len(report.reporting):,})",
        (
            f"  {c.station_id} {stations[c.station_id].name}: reports to "
            + (f"{c.new_parent} {stations[c.new_parent].name}" if c.new_parent else "nobody")
            + f" (was {c.old_parent} {stations[c.old_parent].name})"
            for c in report.reporting
        ),
    )


def _counts_table(report: EditionReport, successors_source: str | None) -> str:
    """Per level: created, retired, renamed, and the retired ones with a proposed successor (and with
    one in the admin's successors file, when given)."""
    after = report.after
    created = Counter(d.level for d in report.plan.created)
    retired = Counter(d.level for d in report.plan.retired)
    renamed = Counter(after[r.code].level for r in report.plan.renamed)
    proposed = Counter(d.level for d in report.plan.retired if d.code in report.proposed)
    given = Counter(d.level for d in report.plan.retired if d.code in report.successors)
    header = ["level", "created", "retired", "renamed", "proposed successor"]
    if successors_source:
        header.append(f"successor in {successors_source}")
    rows = [
        [str(level), *(f"{c[level]:,}" for c in (created, retired, renamed, proposed))]
        + ([f"{given[level]:,}"] if successors_source else [])
        for level in DIVISION_LEVELS
        if created[level] or retired[level] or renamed[level]
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        for row in [header, *rows]
    ]
    return "\n".join(lines) + "\n"


def _section(write: Callable[[str], object], title: str, lines: Iterable[str]) -> None:
    """A titled list, left out when empty."""
    body = list(lines)
    if body:
        write(f"\n{title}:\n" + "\n".join(body) + "\n")


def _by_level(divisions: Iterable[Division]) -> list[Division]:
    """Top-down, then by code."""
    return sorted(divisions, key=lambda d: (d.level.rank, d.code))


def _label(code: str | None, after: Mapping[str, Division]) -> str:
    """`code name` (just the code when unknown; "nothing" for None)."""
    if code is None:
        return "nothing"
    division = after.get(code)
    return f"{code} {division.name}" if division else code


def _given(code: str, report: EditionReport, given: bool, after: Mapping[str, Division]) -> str:
    """What the admin's successors file says of a retired division, when one is given."""
    if not given:
        return ""
    listed = report.successors.get(code)
    if not listed:
        return "; none in the successors file"
    return "; successors file: " + ", ".join(_label(new, after) for new in listed)


def _same_file(first: str, second: str) -> bool:
    """True when the two command-line paths name the same file."""
    return first != "-" and Path(first).resolve() == Path(second).resolve()


def _write_successors(proposed: Mapping[str, str], output: str) -> int:
    """Write the proposal as a successors CSV to `output`, whole or not at all; the row count."""
    text = io.StringIO()
    count = write_csv(text, SUCCESSOR_COLUMNS, successor_rows({old: [new] for old, new in proposed.items()}))
    path = Path(output)
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text.getvalue(), encoding="utf-8")
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise UsageError(f"cannot write {output}: {error.strerror or error}") from error
    return count
