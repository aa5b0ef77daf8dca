"""`graph-service token`: print a signed access token (an HS256 JWT) for writing through GraphQL."""

from __future__ import annotations

import argparse

from graph_service.domain.validation import code_problem, name_problem
from graph_service.entrypoints.cli.common import EXIT_OK, UsageError, checked_secret, note
from graph_service.service_layer.auth import ANY_SCOPE, Role, issue_token, parse_duration

DEFAULT_TTL = "8h"


def cmd_token(args: argparse.Namespace) -> int:
    """Print a token for `args.subject` with `args.role` over `args.scope`, valid for `args.ttl`."""
    secret = checked_secret()
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
    note(f"token for {args.subject}: {role} of {scope}, valid for {args.ttl}")
    return EXIT_OK
