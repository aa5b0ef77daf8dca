"""Access tokens: HS256 JWTs with `sub`, `role`, `scope` and `exp` (spec §5)."""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

from graph_service.domain.audit import CLI_ROLE
from graph_service.service_layer.errors import Unauthenticated

ALGORITHM = "HS256"
ANY_SCOPE = "*"


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: from a verified token, or the local administrator at the command line."""

    subject: str
    role: Role
    scope: str
    audit_role: str | None = None
    """The role the audit trail records for this principal's writes (None: `role`)."""

    @classmethod
    def local_admin(cls) -> Principal:
        return cls("local-admin", Role.ADMIN, ANY_SCOPE)

    @classmethod
    def command_line(cls, actor: str) -> Principal:
        """Whoever runs the command line (which has the store, so may do anything), as `actor`; the
        audit trail records the role `cli`."""
        return cls(actor, Role.ADMIN, ANY_SCOPE, audit_role=CLI_ROLE)

    @property
    def recorded_role(self) -> str:
        """The role the audit trail records for this principal's writes."""
        return self.audit_role or str(self.role)


def os_user() -> str:
    """The name of the user running this process (the default token subject and CLI actor)."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (e.g. an arbitrary container uid)
        name = ""
    if name:
        return name
    return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


_DURATION = re.compile(r"^\s*([0-9]{1,12})\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_TTL = timedelta(days=366)
"""The longest a token may be valid (spec §7)."""
MIN_SECRET_BYTES = 32
"""The shortest GRAPH_SERVICE_JWT_SECRET accepted (spec §7): HS256 needs a key of at least 256 bits."""


def parse_duration(text: str) -> timedelta:
    """'90s', '30m', '8h', '7d', '2w' (or bare seconds), from 1 s to 366 days, as a timedelta;
    ValueError saying why otherwise."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text.strip()[:40]!r} is not a duration such as 30m, 8h or 7d")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_TTL.total_seconds():
        raise ValueError(
            f"{text.strip()} is longer than {MAX_TTL.days} days, the longest a token may be valid"
        )
    return timedelta(seconds=seconds)


def secret_problem(secret: str | None) -> str | None:
    """Why `secret` cannot sign tokens (None when it can, or when none is set)."""
    if secret is not None and len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
        return (
            f"GRAPH_SERVICE_JWT_SECRET is {len(secret.encode('utf-8'))} bytes long; it must be at least "
            f"{MIN_SECRET_BYTES} bytes, e.g. $(python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return None


def issue_token(
    secret: str,
    role: Role,
    scope: str,
    ttl: timedelta,
    subject: str = "graph-service",
    now: datetime | None = None,
) -> str:
    """A signed token for `role` over `scope` (a division code, or * for an admin), valid for `ttl`."""
    if scope == ANY_SCOPE and role is not Role.ADMIN:
        raise ValueError("only an admin may have scope *")
    issued = now or datetime.now(UTC)
    claims = {"sub": subject, "role": str(role), "scope": scope, "iat": issued, "exp": issued + ttl}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(secret: str | None, token: str) -> Principal:
    """The principal a bearer token names; `Unauthenticated` when it is not valid."""
    if not secret:
        raise Unauthenticated("this server has no GRAPH_SERVICE_JWT_SECRET, so it accepts no tokens")
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError as error:
        raise Unauthenticated("the token has expired") from error
    except jwt.InvalidTokenError as error:
        raise Unauthenticated(f"the token is not valid: {error}") from error
    try:
        role = Role(claims.get("role", ""))
    except ValueError as error:
        raise Unauthenticated(
            f"the token's role {claims.get('role')!r} is not viewer, editor or admin"
        ) from error
    scope = claims.get("scope")
    if not isinstance(scope, str) or not scope or (scope == ANY_SCOPE and role is not Role.ADMIN):
        raise Unauthenticated("the token's scope must be a division code (or * for an admin)")
    return Principal(str(claims["sub"]), role, scope)
