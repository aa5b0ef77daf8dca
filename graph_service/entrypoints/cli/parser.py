"""The command line's arguments (spec §4): `build_parser` defines every command, its options and its
help, and names the function that runs it (`handler`, in the command modules of this package).

To add an option, add it where its command is defined below; a new command is one more
`commands.add_parser(...)` with `set_defaults(handler=...)`.
"""

from __future__ import annotations

import argparse
import textwrap
from datetime import UTC, date, datetime

from graph_service.domain.levels import DIVISION_LEVELS
from graph_service.domain.validation import parse_date
from graph_service.entrypoints import exports as gap_list
from graph_service.entrypoints.cli.common import EXIT_OK, EXIT_REJECTED, EXIT_USAGE, PROG
from graph_service.entrypoints.cli.reports import AUDIT_COLUMNS, cmd_audit, cmd_check, cmd_export_uncovered
from graph_service.entrypoints.cli.seed import cmd_seed
from graph_service.entrypoints.cli.serve import DEFAULT_HOST, DEFAULT_PORT, cmd_schema, cmd_serve
from graph_service.entrypoints.cli.tokens import DEFAULT_TTL, cmd_token
from graph_service.service_layer.auth import MAX_TTL, Role, os_user, parse_duration
from graph_service.service_layer.settings import DEFAULT_STORE_URL

PATH_SEPARATOR = gap_list.PATH_SEPARATOR

STORE_HELP = (
    "where the network is kept: sqlite:///PATH (the embedded store) or bolt://HOST:PORT / "
    "neo4j://HOST:PORT (Neo4j, user and password from NEO4J_USER / NEO4J_PASSWORD). "
    f"Default: $GRAPH_SERVICE_STORE, else {DEFAULT_STORE_URL}"
)


# --- argument types ------------------------------------------------------------------------------


def _iso_date(text: str) -> date:
    """A day, exactly YYYY-MM-DD, years 1900..2100 (the domain's `parse_date`; spec §7)."""
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
    """A TCP port number, 1 to 65535."""
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1–65535)")
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
