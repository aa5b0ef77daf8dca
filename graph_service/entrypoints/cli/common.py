"""What every command of the command line shares: the exit statuses, the two errors that end a
command, the note on standard error, opening the service over the store the arguments name, reading
an input file and reporting why one was rejected."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from graph_service.ports import StoreError
from graph_service.service_layer.auth import secret_problem
from graph_service.service_layer.errors import EngineLoadError
from graph_service.service_layer.settings import Settings, SettingsError

if TYPE_CHECKING:
    from graph_service.domain.validation import Problem
    from graph_service.service_layer.services import NetworkService
    from graph_service.service_layer.syncing import WriteScope

PROG = "graph-service"
EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """The command was called wrongly: exit status 2."""


class Failed(Exception):
    """The input was rejected or the store could not do it: exit status 1."""


def note(message: str) -> None:
    """Say `message` on standard error, after the program's name."""
    print(f"{PROG}: {message}", file=sys.stderr)


def plural(count: int, one: str, many: str) -> str:
    """`one` when `count` is 1, else `many`."""
    return one if count == 1 else many


def checked_secret() -> str | None:
    """The token secret the environment sets (None when unset); `UsageError` when it cannot be read or
    is too short to be safe (spec §7)."""
    try:
        secret = Settings.from_env().jwt_secret
    except SettingsError as error:
        raise UsageError(str(error)) from error
    if (problem := secret_problem(secret)) is not None:
        raise UsageError(problem)
    return secret


_kept_until_exit: list[NetworkService] | None = None


def keep_services_until_exit() -> None:
    """From now on, have `open_service` keep every service it opens for the rest of the process: for a
    process that ends with `os._exit` straight after its command (`run`), so the network a service
    loaded is never freed object by object. At national scale that costs about 0.4 s of CPU after an
    import has committed, just when the servers following the store need the CPU to catch up with it."""
    global _kept_until_exit
    if _kept_until_exit is None:
        _kept_until_exit = []


def open_service(
    store_url: str | None, *, quiet: bool = False, around: WriteScope | None = None
) -> NetworkService:
    """The service over the store the arguments or the environment name (Failed when unusable).
    Unless `quiet`, says on stderr how many stored rows break the rules (they are left out).
    `around` for a command that only imports the stations of that scope (`bootstrap.open_service`)."""
    from graph_service.bootstrap import open_service as build_service

    try:
        settings = Settings.from_env(store_url=store_url)
    except SettingsError as error:
        raise UsageError(str(error)) from error
    try:
        service = build_service(settings, around=around)
    except (StoreError, EngineLoadError) as error:
        raise Failed(f"cannot use the store {settings.store_url}: {error}") from error
    if _kept_until_exit is not None:
        _kept_until_exit.append(service)
    if service.views.problems and not quiet:
        count = len(service.views.problems)
        rows = f"{count:,} stored {plural(count, 'row', 'rows')}"
        if around is None:
            where = f"{settings.store_url} holds {rows} that break the rules"
        else:  # only the part of the network the file needs was read
            where = f"{settings.store_url}: {rows} that this file needs break the rules"
        note(f"warning: {where}; they are left out (list them with `graph-service check`)")
    return service


def read_input(name: str) -> tuple[bytes, str]:
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


def print_rejection(
    source: str, kind: str, problems: Sequence[Problem], *, dry_run: bool, why: str = ""
) -> None:
    """Print on standard error why the `kind` file `source` was rejected: every problem, one a line,
    then what to do (`why`, when given, follows it after a colon)."""
    bad_rows = len({problem.row for problem in problems})
    lines = [
        f"{PROG}: {source} was rejected{' (dry run)' if dry_run else ''}, nothing was written: "
        f"{len(problems):,} {plural(len(problems), 'problem', 'problems')} in "
        f"{bad_rows:,} {plural(bad_rows, 'row', 'rows')}"
    ]
    lines += [f"  {problem}" for problem in problems]
    lines.append(f"Correct the {kind} file (row 1 is the header) and run the command again{why}.")
    sys.stderr.write("\n".join(lines) + "\n")
