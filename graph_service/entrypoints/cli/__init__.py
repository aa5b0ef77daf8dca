"""The `graph-service` command line (spec §4): serve, seed, export uncovered, audit, check, token,
schema.

It only translates: it turns arguments into calls on the service layer and its answers into text and
an exit status. The rules (what a valid file is, what "uncovered" means, who may write) live in the
service layer and the domain. `parser` defines the arguments and help of every command; `common`
holds what the commands share (exit statuses, errors, opening the service); one module per group of
commands runs them: `seed` (imports), `editions` (the preview of a division table's edition),
`reports` (export uncovered, audit, check), `serve` (serve, schema) and `tokens` (token). `main`
below parses, runs the command and turns its errors into exit statuses; `run`, the console script,
ends the process as soon as `main` has returned.

Exit status: 0 done; 1 the input was rejected (nothing written, every problem printed) or the store
could not be used; 2 a usage error (bad arguments, a file that cannot be read, a missing setting).

May import: the domain, the ports' errors, the service layer, the other entry points' writers
(`exports`, `csv_out`, `progress`) and, lazily, `graph_service.bootstrap` and the HTTP app.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from graph_service.entrypoints.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    PROG,
    Failed,
    UsageError,
    keep_services_until_exit,
)
from graph_service.entrypoints.cli.parser import build_parser
from graph_service.ports import StoreError

__all__ = ["build_parser", "main", "run"]


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


def run() -> NoReturn:
    """The console script `graph-service`: `main`, then the process ends at once, its output flushed,
    without freeing what the command loaded (`keep_services_until_exit`; Python's own exit would
    free the loaded network object by object)."""
    keep_services_until_exit()
    status = main()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # the reader went away, or it is closed
            stream.flush()
    os._exit(status)
