"""The `graph-service` command line (spec §4): serve, seed, export uncovered, token, schema, audit.

This module only translates: it turns arguments into calls on the service layer and its answers into
text and an exit status. The rules (what a valid file is, what "uncovered" means, who may write) live
in the service layer and the domain.

Exit status: 0 done; 1 the input was rejected (nothing written, every problem printed) or the store
could not be used; 2 a usage error (bad arguments, a file that cannot be read, a missing setting).
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from graph_service.domain.levels import DIVISION_LEVELS, DivisionLevel
from graph_service.domain.validation import code_problem, name_problem, parse_date
from graph_service.entrypoints import exports as gap_list
from graph_service.entrypoints.csv_out import write_csv
from graph_service.entrypoints.progress import ProgressBar
from graph_service.ports import OutcomeUnknown, StoreError
from graph_service.service_layer.auth import (
    ANY_SCOPE,
    MAX_TTL,
    Principal,
    Role,
    issue_token,
    os_user,
    parse_duration,
    secret_problem,
)
from graph_service.service_layer.errors import BadUserInput, NotFound, ServiceError, Unavailable
from graph_service.service_layer.settings import DEFAULT_STORE_URL, Settings, SettingsError

if TYPE_CHECKING:
    from graph_service.domain.audit import AuditEntry
    from graph_service.service_layer.services import ImportReport, NetworkService

PROG = "graph-service"
EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_TTL = "8h"
EXPORT_COLUMNS = gap_list.EXPORT_COLUMNS
PATH_SEPARATOR = gap_list.PATH_SEPARATOR
AUDIT_COLUMNS = ("at", "actor", "role", "operation", "target", "before", "after")
"""The audit command's CSV columns and JSON keys: the fields of GraphQL's AuditEntry."""
AUDIT_PAGE_SIZE = 5_000

STORE_HELP = (
    "where the network is kept: sqlite:///PATH (the embedded store) or bolt://HOST:PORT / "
    "neo4j://HOST:PORT (Neo4j, user and password from NEO4J_USER / NEO4J_PASSWORD). "
    f"Default: $GRAPH_SERVICE_STORE, else {DEFAULT_STORE_URL}"
)


class UsageError(Exception):
    """The command was called wrongly: exit status 2."""


class Failed(Exception):
    """The input was rejected or the store could not do it: exit status 1."""


# --- the commands --------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    _check_secret()
    service = _open_service(args.store)
    if args.workers > 1:  # the store is checked; each worker loads it itself, this process supervises
        from graph_service.entrypoints.app import serve_workers

        store_url = service.settings.store_url
        service.close()
        del service
        url = f"http://{args.host}:{args.port}/"
        _note(f"serving {store_url} on {url} with {args.workers} worker processes; Ctrl-C stops")
        serve_workers(store_url, host=args.host, port=args.port, workers=args.workers)
        return EXIT_OK
    try:
        try:
            from graph_service.entrypoints.app import create_app
        except ImportError as error:
            raise Failed(f"the GraphQL app cannot be loaded: {error}") from error
        import uvicorn

        app = create_app(service)
        _note(
            f"serving {service.settings.store_url} on http://{args.host}:{args.port}/ (the dashboard; "
            f"GraphiQL: http://{args.host}:{args.port}/graphql); Ctrl-C stops"
        )
        uvicorn.run(app, host=args.host, port=args.port)
    finally:
        service.close()
    return EXIT_OK


def cmd_seed(args: argparse.Namespace) -> int:
    kind: str = args.kind
    data, source = _read_input(args.file)
    service = _open_service(args.store)
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


def cmd_export_uncovered(args: argparse.Namespace) -> int:
    level = DivisionLevel(args.level)
    if args.format == "xlsx" and args.output is None:
        raise UsageError("--format xlsx writes a binary file: name it with --output FILE")
    service = _open_service(args.store)
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
    plural = _PLURAL[level]
    where = f" to {args.output}" if args.output is not None else ""
    _note(f"{count:,} uncovered {plural} under {under.code} {under.name} on {day.isoformat()}{where}")
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    service = _open_service(args.store)
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
    _note(f"{count:,} audit {'entry' if count == 1 else 'entries'}{where}{when}, newest first")
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


def cmd_token(args: argparse.Namespace) -> int:
    try:
        secret = Settings.from_env().jwt_secret
    except SettingsError as error:
        raise UsageError(str(error)) from error
    if (problem := secret_problem(secret)) is not None:
        raise UsageError(problem)
    if not secret:
        raise UsageError(
            "GRAPH_SERVICE_JWT_SECRET is not set. Set it to the secret the server runs with, e.g.\n"
            "  export GRAPH_SERVICE_JWT_SECRET=$(python -c 'import secrets; print(secrets.token_hex(32))')\n"
            "and start `graph-service serve` with the same value."
        )
    role = Role(args.role)
    if not args.scope.strip():
        raise UsageError("--scope needs a division code (or * for an admin)")
    if args.scope != ANY_SCOPE and (problem := code_problem("--scope", args.scope)) is not None:
        raise UsageError(f"{problem}; give a division code (or * for an admin)")
    if (problem := name_problem(args.subject.strip())) is not None:
        raise UsageError(f"--subject: {problem.replace('name', 'the subject', 1)}")
    try:
        token = issue_token(secret, role, args.scope, parse_duration(args.ttl), subject=args.subject)
    except ValueError as error:
        raise UsageError(f"--scope {args.scope}: {error}") from error
    print(token)
    scope = "every division" if args.scope == ANY_SCOPE else f"division {args.scope} and below"
    _note(f"token for {args.subject}: {role} of {scope}, valid for {args.ttl}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    service = _open_service(args.store, quiet=True)
    try:
        problems = service.views.problems
        for problem in problems:
            print(problem)
        url = service.settings.store_url
        if problems:
            _note(
                f"{url}: {len(problems):,} {'problem' if len(problems) == 1 else 'problems'}; the rows named "
                "are left out of every answer until a corrected import replaces them"
            )
            return EXIT_REJECTED
        divisions = sum(1 for _ in service.views.division_records())
        stations = sum(1 for _ in service.views.station_records())
        _note(f"{url}: no problems ({divisions:,} divisions, {stations:,} stations)")
        return EXIT_OK
    finally:
        service.close()


def cmd_schema(args: argparse.Namespace) -> int:
    try:
        from graph_service.entrypoints.graphql import sdl
    except ImportError as error:
        raise Failed(f"the GraphQL schema cannot be loaded: {error}") from error
    text = sdl()
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


# --- helpers -------------------------------------------------------------------------------------


def _check_secret() -> None:
    """Refuse to start with a token secret too short to be safe (spec §7)."""
    try:
        secret = Settings.from_env().jwt_secret
    except SettingsError as error:
        raise UsageError(str(error)) from error
    if (problem := secret_problem(secret)) is not None:
        raise UsageError(problem)


def _open_service(store_url: str | None, *, quiet: bool = False) -> NetworkService:
    """The service over the store the arguments or the environment name (Failed when unusable).
    Unless `quiet`, says on stderr how many stored rows break the rules (they are left out)."""
    from graph_service.bootstrap import open_service
    from graph_service.engine.network import EngineLoadError

    try:
        settings = Settings.from_env(store_url=store_url)
    except SettingsError as error:
        raise UsageError(str(error)) from error
    try:
        service = open_service(settings)
    except StoreError as error:
        raise Failed(f"cannot use the store {settings.store_url}: {error}") from error
    except EngineLoadError as error:
        raise Failed(f"cannot use the store {settings.store_url}: {error}") from error
    if service.views.problems and not quiet:
        count = len(service.views.problems)
        _note(
            f"warning: {settings.store_url} holds {count:,} stored {'row' if count == 1 else 'rows'} that "
            "break the rules; they are left out (list them with `graph-service check`)"
        )
    return service


def _read_input(name: str) -> tuple[bytes, str]:
    """The bytes of FILE (or of standard input for '-'), and how to name it in messages."""
    if name == "-":
        return sys.stdin.buffer.read(), "standard input"
    path = Path(name)
    try:
        return path.read_bytes(), name
    except FileNotFoundError as error:
        raise UsageError(f"cannot read {name}: no such file") from error
    except IsADirectoryError as error:
        raise UsageError(f"cannot read {name}: it is a folder, not a file") from error
    except OSError as error:
        raise UsageError(f"cannot read {name}: {error.strerror or error}") from error


def _count_lines(data: bytes) -> int:
    """About how many data rows a CSV file holds (quoted line breaks aside): for the progress line."""
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return max(0, lines - 1)


def _print_rejection(source: str, kind: str, report: ImportReport, *, dry_run: bool) -> None:
    problems = report.errors
    bad_rows = len({problem.row for problem in problems})
    lines = [
        f"{PROG}: {source} was rejected{' (dry run)' if dry_run else ''}, nothing was written: "
        f"{len(problems):,} {'problem' if len(problems) == 1 else 'problems'} in "
        f"{bad_rows:,} {'row' if bad_rows == 1 else 'rows'}"
    ]
    lines += [f"  {problem}" for problem in problems]
    lines.append(
        f"Correct the {kind} file (row 1 is the header) and run the command again: "
        "it is imported only when every row is right."
    )
    sys.stderr.write("\n".join(lines) + "\n")


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
    count = 0
    out.write("[")
    for entry in entries:
        out.write(("\n  " if count == 0 else ",\n  ") + json.dumps(_audit_record(entry), ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    out.flush()
    return count


def _note(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


_PLURAL = {
    DivisionLevel.PROVINCE: "provinces",
    DivisionLevel.CITY: "cities",
    DivisionLevel.COUNTY: "counties",
    DivisionLevel.TOWNSHIP: "townships",
    DivisionLevel.VILLAGE: "villages",
}


# --- argument types ------------------------------------------------------------------------------


def _iso_date(text: str) -> date:
    try:
        return parse_date(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _duration(text: str) -> str:
    """A duration such as 8h, checked here and kept as typed (for messages)."""
    try:
        parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return text.strip()


def _since(text: str) -> datetime:
    """A moment: YYYY-MM-DD (midnight UTC) or an ISO 8601 date and time (UTC unless it names an offset)."""
    try:
        moment = _iso_date(text) if len(text) == 10 else None
    except argparse.ArgumentTypeError:
        moment = None
    try:
        parsed = (
            datetime(moment.year, moment.month, moment.day)
            if moment is not None
            else datetime.fromisoformat(text)
        )
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD) or a date and time (e.g. 2024-05-01T08:00:00Z)"
        ) from error
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1–65535)")
    return int(text)


def _workers(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers (1–64)")
    return int(text)


# --- the parser ----------------------------------------------------------------------------------

_DESCRIPTION = """\
The system of record for China's four-level social-work station network (city guidance centres,
county general stations, township stations, village rooms) laid over the administrative divisions:
seed it from CSV files, ask it what is covered, and serve it over GraphQL.

Run `graph-service COMMAND --help` for the details of each command."""

_EPILOG = f"""\
examples:
  graph-service seed divisions seed/divisions-guizhou-2023.csv
  graph-service seed stations seed/stations-guizhou-demo.csv
  graph-service serve                       # GraphiQL on http://127.0.0.1:8000/graphql
  graph-service export uncovered --under 522324 --level township --as-of 2021-12-31

exit status: {EXIT_OK} done; {EXIT_REJECTED} the input was rejected (nothing written, every problem printed)
or the store could not be used; {EXIT_USAGE} usage error.

environment: GRAPH_SERVICE_STORE (store URL), NEO4J_USER / NEO4J_PASSWORD (Neo4j credentials),
GRAPH_SERVICE_JWT_SECRET (token signing secret, at least 32 bytes), GRAPH_SERVICE_TZ (time zone of
"today", default Asia/Shanghai), GRAPH_SERVICE_PUBLIC_READ (false: reading needs a token too)."""

_DIVISION_FILE_HELP = """\
The file: UTF-8 CSV (a byte-order mark is fine), comma-separated, header row first:
  code,name,level,parent_code
  - code: unique, not empty; name: not empty
  - level: province, city, county, township or village
  - parent_code: empty only for a province; otherwise a division of a higher level, in the file or
    already stored (a level may be skipped); no cycles"""

_STATION_FILE_HELP = """\
The file: UTF-8 CSV (a byte-order mark is fine), comma-separated, header row first:
  id,name,level,division_code,parent_id,status,opened_on,closed_on,staff,certified_staff,volunteers
  - id: unique, not empty; name: not empty
  - level and the division it sits in: guidance_centre (city), general_station (county),
    township_station (township), village_room (village); import the divisions first
  - parent_id: optional; a station of the level above, sitting in an ancestor division
  - status: planned or building (no dates), operating (opened_on), closed (opened_on < closed_on);
    dates are YYYY-MM-DD
  - staff, certified_staff, volunteers: whole numbers, empty means 0; certified_staff <= staff"""

_SEED_EPILOG = """\
{layout}

All or nothing: the whole file is checked before anything is written. If any row is wrong, nothing
is written, every problem is printed with its row number (the header is row 1), its column and the
reason, and the exit status is 1. Rows are matched by {key}, so importing the same file twice changes
nothing the second time. On a terminal a progress bar shows the write; the closing line counts the
rows created, updated and unchanged.

examples:
  graph-service seed {kind} {example} --dry-run
  graph-service seed {kind} {example} --store sqlite:///network.db"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Wraps plain paragraphs of descriptions and epilogs to the terminal; keeps indented ones as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for paragraph in text.split("\n\n"):
            lines = paragraph.splitlines()
            if any(line.startswith(" ") for line in lines):
                paragraphs.append("\n".join(indent + line for line in lines))
            else:
                paragraphs.append(
                    textwrap.fill(
                        " ".join(paragraph.split()), width, initial_indent=indent, subsequent_indent=indent
                    )
                )
        return "\n\n".join(paragraphs)


def build_parser() -> argparse.ArgumentParser:
    formatter = _Formatter
    parser = argparse.ArgumentParser(
        prog=PROG, description=_DESCRIPTION, epilog=_EPILOG, formatter_class=formatter
    )
    parser.add_argument("--store", metavar="URL", default=None, help=STORE_HELP)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command", required=True)

    def store_option(command: argparse.ArgumentParser) -> None:
        # SUPPRESS: given after the command it wins; otherwise the one before the command stands.
        command.add_argument("--store", metavar="URL", default=argparse.SUPPRESS, help=STORE_HELP)

    serve = commands.add_parser(
        "serve",
        help="run the GraphQL service (GraphiQL in a browser)",
        description="Run the GraphQL service: POST /graphql for queries and mutations, GraphiQL on "
        "GET /graphql, health on GET /healthz and GET /readyz. The store is opened and checked "
        "before the port is bound; a store that cannot be used ends the command with status 1.",
        epilog="Writes need a token (see `graph-service token --help`): start the server with "
        "GRAPH_SERVICE_JWT_SECRET set to accept them.\n\n"
        "examples:\n  graph-service serve --port 8080\n"
        "  GRAPH_SERVICE_JWT_SECRET=$(cat /etc/graph-service/secret) graph-service serve \\\n"
        "      --store bolt://127.0.0.1:7687",
        formatter_class=formatter,
    )
    store_option(serve)
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="processes serving the port, each loading the network and following the store "
        "(default 1; memory grows by one network per worker)",
    )
    serve.set_defaults(handler=cmd_serve)

    seed = commands.add_parser(
        "seed",
        help="import divisions or stations from a CSV file",
        description="Import divisions or stations from a CSV file, all or nothing. Import the "
        "divisions first: stations name the division they sit in.",
        epilog="examples:\n"
        "  graph-service seed divisions seed/divisions-guizhou-2023.csv\n"
        "  graph-service seed stations seed/stations-guizhou-demo.csv",
        formatter_class=formatter,
    )
    seed_kinds = seed.add_subparsers(title="what to import", metavar="KIND", dest="kind", required=True)
    layouts = {
        "divisions": (
            "the administrative divisions",
            _DIVISION_FILE_HELP,
            "code",
            "seed/divisions-guizhou-2023.csv",
        ),
        "stations": ("the stations", _STATION_FILE_HELP, "id", "seed/stations-guizhou-demo.csv"),
    }
    for kind, (summary, layout, key, example) in layouts.items():
        command = seed_kinds.add_parser(
            kind,
            help=f"import {summary} from a CSV file",
            description=f"Import {summary} from FILE into the store, all or nothing.",
            epilog=_SEED_EPILOG.format(layout=layout, key=key, kind=kind, example=example),
            formatter_class=formatter,
        )
        command.add_argument("file", metavar="FILE", help="the CSV file ('-' reads standard input)")
        store_option(command)
        command.add_argument(
            "--dry-run",
            action="store_true",
            help="check the file and report what would change, without writing anything",
        )
        command.add_argument(
            "--actor",
            default=os_user(),
            metavar="NAME",
            help="who the audit trail records as making the change, with role cli (default: the OS user)",
        )
        command.set_defaults(handler=cmd_seed, kind=kind)

    export = commands.add_parser(
        "export",
        help="write a list out of the network (to standard output)",
        description="Write a list out of the network to standard output.",
        formatter_class=formatter,
    )
    exports = export.add_subparsers(title="lists", metavar="LIST", dest="list", required=True)
    uncovered = exports.add_parser(
        "uncovered",
        help="the divisions of a level that no active station covers",
        description="The gap list: every division of --level under --under (in its subtree) that no "
        "active station of its own level covers on --as-of (spec §3), ordered by code. CSV columns "
        "code,name,level,path, where path is the names from the province down to the division "
        f"joined by '{PATH_SEPARATOR}'; JSON is a list of objects with the same fields and path as "
        "a list. A count goes to standard error.",
        epilog="examples:\n"
        "  graph-service export uncovered --under 522324 --level township --as-of 2021-12-31\n"
        "  graph-service export uncovered --under 52 --level county --format json > gaps.json\n"
        "  graph-service export uncovered --under 52 --level township --format xlsx --output gaps.xlsx\n\n"
        "An unknown --under code ends with status 1; a malformed argument with status 2.",
        formatter_class=formatter,
    )
    uncovered.add_argument("--under", required=True, metavar="CODE", help="division code of the subtree")
    uncovered.add_argument(
        "--level",
        required=True,
        choices=[str(level) for level in DIVISION_LEVELS[1:]],
        help="the level of the divisions to list",
    )
    uncovered.add_argument(
        "--as-of",
        type=_iso_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="the day to judge coverage on (default: today in GRAPH_SERVICE_TZ, Asia/Shanghai)",
    )
    uncovered.add_argument(
        "--format", choices=gap_list.FORMATS, default="csv", help="output format (csv); xlsx needs --output"
    )
    uncovered.add_argument(
        "--output",
        metavar="FILE",
        default=None,
        help="write to FILE instead of standard output (needed for xlsx: one sheet, header row, text cells)",
    )
    store_option(uncovered)
    uncovered.set_defaults(handler=cmd_export_uncovered)

    token = commands.add_parser(
        "token",
        help="print a signed access token for writing through GraphQL",
        description="Print a signed access token (an HS256 JWT) to standard output, for the header "
        "'Authorization: Bearer TOKEN'. It is signed with GRAPH_SERVICE_JWT_SECRET, which must be "
        "set here and be the same for the server.",
        epilog="roles: viewer may only read; editor may write stations inside its scope's subtree;\n"
        "admin may write anything (scope '*' for everywhere).\n\n"
        "example:\n"
        "  export GRAPH_SERVICE_JWT_SECRET=$(python -c 'import secrets; print(secrets.token_hex(32))')\n"
        "  TOKEN=$(graph-service token --role editor --scope 5223 --ttl 2h)",
        formatter_class=formatter,
    )
    token.add_argument("--role", required=True, choices=[str(role) for role in Role], help="what it may do")
    token.add_argument(
        "--scope", required=True, metavar="CODE", help="the division code it covers ('*': all, admin only)"
    )
    token.add_argument(
        "--ttl",
        type=_duration,
        default=DEFAULT_TTL,
        metavar="DURATION",
        help=f"how long it is valid: e.g. 30m, 8h, 7d, at most {MAX_TTL.days}d (default {DEFAULT_TTL})",
    )
    token.add_argument(
        "--subject",
        default=os_user(),
        metavar="NAME",
        help="who it is for (claim sub; the audit trail records it): default the OS user",
    )
    token.set_defaults(handler=cmd_token)

    audit = commands.add_parser(
        "audit",
        help="print the audit trail: who changed what, when (to standard output)",
        description="Print the audit trail, newest first: one entry per changed row of every write "
        "(GraphQL mutations and imports, `seed`), with who made it (the token's subject and role, or "
        "the command line's --actor with role cli), when (UTC), the operation (createStation, "
        "updateStation, closeStation, import), the station id or division code, and the row before "
        "and after, keyed by the CSV column names (null for a created row). CSV columns "
        f"{','.join(AUDIT_COLUMNS)}, before and after as JSON text; JSON is an array of objects with "
        "the same keys. A count goes to standard error.",
        epilog="examples:\n"
        "  graph-service audit --since 2024-05-01\n"
        "  graph-service audit --under 5223 --since 2024-05-01T08:00:00Z --format json > audit.json\n\n"
        "--under keeps the changes of rows that sat in that division's subtree when written. An "
        "unknown --under code ends with status 1; a malformed argument with status 2.",
        formatter_class=formatter,
    )
    audit.add_argument(
        "--since",
        type=_since,
        default=None,
        metavar="T",
        help="only changes at or after T: YYYY-MM-DD (midnight UTC) or an ISO date and time",
    )
    audit.add_argument("--under", default=None, metavar="CODE", help="only changes within this division")
    audit.add_argument("--format", choices=("csv", "json"), default="csv", help="output format (csv)")
    store_option(audit)
    audit.set_defaults(handler=cmd_audit)

    check = commands.add_parser(
        "check",
        help="check the whole store against the rules; list every problem",
        description="Check every stored division and station against the rules of the service "
        "(spec §2 and §7), as a load does, and print each problem on standard output, one a line: "
        "the division code or station id, the field, and why. Rows that break the rules (written by "
        "an older version or by hand) are left out of every answer, with what depends on them, until "
        "a corrected import replaces them. Exit status 1 when there is any problem, 0 when none.",
        epilog="example:\n  graph-service check --store sqlite:///graph-service.db",
        formatter_class=formatter,
    )
    store_option(check)
    check.set_defaults(handler=cmd_check)

    schema = commands.add_parser(
        "schema",
        help="print the GraphQL schema (SDL)",
        description="Print the GraphQL schema of the service in SDL to standard output.",
        formatter_class=formatter,
    )
    schema.set_defaults(handler=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The console script `graph-service`; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a usage error (2)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Failed as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return EXIT_REJECTED
    except StoreError as error:
        print(f"{PROG}: the store failed: {error}", file=sys.stderr)
        return EXIT_REJECTED
    except BrokenPipeError:
        # The reader of standard output stopped early (`… | head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
