"""The command line's arguments (spec §4): `build_parser` defines every command, its options and its
help, and names the function that runs it (`handler`, in the command modules of this package).

One function a command (`_add_serve`, `_add_seed`, ...): an option of a command is added there (one
of an import kind only, to the parser `_add_seed_kind` returns for it); a new command is one more
`_add_...` function, listed in `build_parser`, whose parser sets `handler`. Argument types are in
`arguments`.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import TYPE_CHECKING, Any, TypeAlias

from graph_service.domain.levels import DIVISION_LEVELS
from graph_service.domain.station_fields import STATION_COLUMNS
from graph_service.entrypoints import exports as gap_list
from graph_service.entrypoints.cli.arguments import duration, iso_date, port, since, workers
from graph_service.entrypoints.cli.common import EXIT_OK, EXIT_REJECTED, EXIT_USAGE, PROG
from graph_service.entrypoints.cli.editions import EDITION_HELP, add_edition_options
from graph_service.entrypoints.cli.reports import AUDIT_COLUMNS, cmd_audit, cmd_check, cmd_export_uncovered
from graph_service.entrypoints.cli.seed import cmd_seed
from graph_service.entrypoints.cli.serve import DEFAULT_HOST, DEFAULT_PORT, cmd_schema, cmd_serve
from graph_service.entrypoints.cli.tokens import DEFAULT_TTL, cmd_token
from graph_service.service_layer.auth import MAX_TTL, Role, os_user
from graph_service.service_layer.settings import DEFAULT_STORE_URL

PATH_SEPARATOR = gap_list.PATH_SEPARATOR

if TYPE_CHECKING:
    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
    """The commands (or the import kinds, or the lists) of a parser."""

STORE_HELP = (
    "where the network is kept: sqlite:///PATH (the embedded store) or bolt://HOST:PORT / "
    "neo4j://HOST:PORT (Neo4j, user and password from NEO4J_USER / NEO4J_PASSWORD). "
    f"Default: $GRAPH_SERVICE_STORE, else {DEFAULT_STORE_URL}"
)


# --- help texts ----------------------------------------------------------------------------------

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

_STATION_FILE_HELP = f"""\
The file: UTF-8 CSV (a byte-order mark is fine), comma-separated, header row first:
  {",".join(STATION_COLUMNS)}
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


# --- the parser ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command: its options, its help, and (`handler`) the function that runs it."""
    parser = argparse.ArgumentParser(
        prog=PROG, description=_DESCRIPTION, epilog=_EPILOG, formatter_class=_Formatter
    )
    parser.add_argument("--store", metavar="URL", default=None, help=STORE_HELP)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command", required=True)
    for add_command in (_add_serve, _add_seed, _add_export, _add_token, _add_audit, _add_check, _add_schema):
        add_command(commands)
    return parser


def _command(commands: Commands, name: str, **options: Any) -> argparse.ArgumentParser:
    """Add the command `name` to `commands`, its help wrapped by `_Formatter`."""
    return commands.add_parser(name, formatter_class=_Formatter, **options)


def _store_option(command: argparse.ArgumentParser) -> None:
    """Add --store to a command. SUPPRESS: given after the command it wins; otherwise the one before
    the command stands."""
    command.add_argument("--store", metavar="URL", default=argparse.SUPPRESS, help=STORE_HELP)


def _add_serve(commands: Commands) -> None:
    """`serve [--host H] [--port P] [--workers N]`: run the GraphQL service."""
    serve = _command(
        commands,
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
    )
    _store_option(serve)
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument(
        "--port", type=port, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--workers",
        type=workers,
        default=1,
        help="processes serving the port, each loading the network and following the store "
        "(default 1; memory grows by one network per worker)",
    )
    serve.set_defaults(handler=cmd_serve)


def _add_seed(commands: Commands) -> None:
    """`seed divisions|stations FILE [--dry-run] [--actor NAME]`: import a CSV file; `seed divisions`
    also takes the options of an edition (`editions`)."""
    seed = _command(
        commands,
        "seed",
        help="import divisions or stations from a CSV file",
        description="Import divisions or stations from a CSV file, all or nothing. Import the "
        "divisions first: stations name the division they sit in.",
        epilog="examples:\n"
        "  graph-service seed divisions seed/divisions-guizhou-2023.csv\n"
        "  graph-service seed stations seed/stations-guizhou-demo.csv",
    )
    seed_kinds = seed.add_subparsers(title="what to import", metavar="KIND", dest="kind", required=True)
    divisions = _add_seed_kind(
        seed_kinds,
        "divisions",
        "the administrative divisions",
        _DIVISION_FILE_HELP,
        "code",
        "seed/divisions-guizhou-2023.csv",
    )
    add_edition_options(divisions)
    divisions.epilog = f"{divisions.epilog}\n\n{EDITION_HELP}"
    _add_seed_kind(
        seed_kinds, "stations", "the stations", _STATION_FILE_HELP, "id", "seed/stations-guizhou-demo.csv"
    )


def _add_seed_kind(
    kinds: Commands, kind: str, summary: str, layout: str, key: str, example: str
) -> argparse.ArgumentParser:
    """`seed KIND FILE [--dry-run] [--actor NAME]`: the options every import shares; returns the
    command, for options of one kind only."""
    command = _command(
        kinds,
        kind,
        help=f"import {summary} from a CSV file",
        description=f"Import {summary} from FILE into the store, all or nothing.",
        epilog=_SEED_EPILOG.format(layout=layout, key=key, kind=kind, example=example),
    )
    command.add_argument("file", metavar="FILE", help="the CSV file ('-' reads standard input)")
    _store_option(command)
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
    return command


def _add_export(commands: Commands) -> None:
    """`export uncovered --under CODE --level LEVEL [--as-of D] [--format F] [--output FILE]`."""
    export = _command(
        commands,
        "export",
        help="write a list out of the network (to standard output)",
        description="Write a list out of the network to standard output.",
    )
    exports = export.add_subparsers(title="lists", metavar="LIST", dest="list", required=True)
    uncovered = _command(
        exports,
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
        type=iso_date,
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
    _store_option(uncovered)
    uncovered.set_defaults(handler=cmd_export_uncovered)


def _add_token(commands: Commands) -> None:
    """`token --role ROLE --scope CODE [--ttl DURATION] [--subject NAME]`: print a signed token."""
    token = _command(
        commands,
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
    )
    token.add_argument("--role", required=True, choices=[str(role) for role in Role], help="what it may do")
    token.add_argument(
        "--scope", required=True, metavar="CODE", help="the division code it covers ('*': all, admin only)"
    )
    token.add_argument(
        "--ttl",
        type=duration,
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


def _add_audit(commands: Commands) -> None:
    """`audit [--since T] [--under CODE] [--format csv|json]`: print the audit trail."""
    audit = _command(
        commands,
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
    )
    audit.add_argument(
        "--since",
        type=since,
        default=None,
        metavar="T",
        help="only changes at or after T: YYYY-MM-DD (midnight UTC) or an ISO date and time",
    )
    audit.add_argument("--under", default=None, metavar="CODE", help="only changes within this division")
    audit.add_argument("--format", choices=("csv", "json"), default="csv", help="output format (csv)")
    _store_option(audit)
    audit.set_defaults(handler=cmd_audit)


def _add_check(commands: Commands) -> None:
    """`check`: list every stored row that breaks the rules."""
    check = _command(
        commands,
        "check",
        help="check the whole store against the rules; list every problem",
        description="Check every stored division and station against the rules of the service "
        "(spec §2 and §7), as a load does, and print each problem on standard output, one a line: "
        "the division code or station id, the field, and why. Rows that break the rules (written by "
        "an older version or by hand) are left out of every answer, with what depends on them, until "
        "a corrected import replaces them. Exit status 1 when there is any problem, 0 when none.",
        epilog="example:\n  graph-service check --store sqlite:///graph-service.db",
    )
    _store_option(check)
    check.set_defaults(handler=cmd_check)


def _add_schema(commands: Commands) -> None:
    """`schema`: print the GraphQL SDL."""
    schema = _command(
        commands,
        "schema",
        help="print the GraphQL schema (SDL)",
        description="Print the GraphQL schema of the service in SDL to standard output.",
    )
    schema.set_defaults(handler=cmd_schema)
