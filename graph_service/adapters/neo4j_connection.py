"""Reaching Neo4j: URLs, the shipped schema file, driver errors turned into the store's errors, and
retrying what failed transiently (see `neo4j_store` for when that is safe)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from typing import TypeVar
from urllib.parse import urlsplit

from neo4j import Session, Transaction
from neo4j.exceptions import (
    AuthError,
    ClientError,
    ConfigurationError,
    DriverError,
    IncompleteCommit,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from graph_service.ports import OutcomeUnknown, StoreError, StoreUnavailable

logger = logging.getLogger("graph_service.neo4j")

SCHEMA_RESOURCE = "neo4j.cypher"
URL_SCHEMES = frozenset({"bolt", "neo4j", "bolt+s", "neo4j+s", "bolt+ssc", "neo4j+ssc"})
CONNECTION_TIMEOUT_SECONDS = 10.0
RETRY_SECONDS = 2.0
"""How long a failed call is retried (with backoff from `FIRST_RETRY_DELAY`) before it gives up."""
FIRST_RETRY_DELAY = 0.1
TIMED_OUT = ("TransactionTimedOut", "LockAcquisitionTimeout", "LockClientStopped")
T = TypeVar("T")


def schema_text() -> str:
    """The Cypher schema file shipped with the package (identical to schema/neo4j.cypher)."""
    return resources.files("graph_service.adapters").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")


def schema_statements(text: str) -> list[str]:
    """Split a Cypher schema file into its statements: `//` comment lines dropped, split on `;`."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("//")]
    return [statement.strip() for statement in "\n".join(lines).split(";") if statement.strip()]


def check_url(url: str) -> None:
    """Raise `StoreError` unless `url` is a Bolt URL with a host (and, if any, a numeric port)."""
    parts = urlsplit(url)
    problem = None
    if parts.scheme.lower() not in URL_SCHEMES:
        problem = "the scheme must be one of " + ", ".join(f"{scheme}://" for scheme in sorted(URL_SCHEMES))
    elif not parts.hostname or " " in parts.netloc:
        problem = "it names no host"
    else:
        try:
            parts.port  # noqa: B018  (parsing the port is the check)
        except ValueError:
            problem = "the port is not a number"
    if problem:
        raise StoreError(f"invalid Neo4j store URL {url!r}: {problem} (expected bolt://HOST:PORT)")


def apply_schema(session: Session) -> None:
    """Run the statements of the shipped schema file (each IF NOT EXISTS) in `session`, and wait for
    the indexes to come online."""
    for statement in schema_statements(schema_text()):
        try:
            session.run(statement).consume()
        except ClientError as error:
            # Another process may create the same rule at the same moment.
            if "AlreadyExists" not in (error.code or ""):
                raise
    session.run("CALL db.awaitIndexes(300)").consume()


@contextmanager
def translated_errors(url: str, action: str, lock_timeout: float, auth_hint: str) -> Iterator[None]:
    """Turn driver errors raised inside into a `StoreError` naming `url` and what failed (`action`): a
    transient one into `Transient`, a timed-out transaction (a lock wait of more than `lock_timeout`,
    or a store too slow to answer) into `StoreUnavailable`, refused credentials into one that gives
    `auth_hint`."""
    try:
        yield
    except StoreError:
        raise
    except AuthError as error:
        raise StoreError(f"Neo4j at {url} refused the credentials ({auth_hint}): {error.message}") from error
    except IncompleteCommit as error:
        raise OutcomeUnknown(
            f"the connection to Neo4j at {url} was lost while committing, so whether it could "
            f"{action} is unknown: {error}"
        ) from error
    except (ServiceUnavailable, SessionExpired) as error:
        raise Transient(
            f"cannot reach Neo4j at {url} to {action}: {error}. Is it running? "
            "(locally: neo4j-local/neo4j-local start); nothing was written, try again"
        ) from error
    except Neo4jError as error:
        if any(name in (error.code or "") for name in TIMED_OUT):
            # A transaction's timeout also ends one that waited for no lock: Neo4j answering too
            # slowly (its JVM without the CPU for seconds) gives the same error.
            raise StoreUnavailable(
                f"Neo4j at {url} is busy: it could not {action} in the time allowed (another writer "
                f"held the write lock for more than {lock_timeout:g} s, or Neo4j was too busy to "
                "answer); nothing was written, try again"
            ) from error
        if error.is_retryable():
            raise Transient(
                f"Neo4j at {url} could not {action} for now ({error.code}: {error.message}); "
                "nothing was written, try again"
            ) from error
        raise StoreError(f"Neo4j at {url} could not {action}: {error.code}: {error.message}") from error
    except (DriverError, ConfigurationError, OSError) as error:
        raise StoreError(f"Neo4j at {url} could not {action}: {error}") from error


class Transient(StoreUnavailable):
    """A failure worth retrying at once (the server was unreachable, or a transient error): the
    transaction did not commit."""


def retrying(call: Callable[[], T]) -> T:
    """`call()`, tried again with doubling delays while it fails with `Transient`, for up to
    `RETRY_SECONDS`; then its last error. Only for calls that write nothing unless they succeed."""
    deadline = time.monotonic() + RETRY_SECONDS
    delay = FIRST_RETRY_DELAY
    while True:
        try:
            return call()
        except Transient as error:
            if time.monotonic() + delay > deadline:
                raise
            logger.info("trying again in %.2f s: %s", delay, error)
            time.sleep(delay)
            delay *= 2


def run_version(tx: Transaction, query: str) -> int:
    """Run a query that returns the data version as `version`, and return it."""
    return checked_version(tx.run(query).single(strict=True)["version"])


def checked_version(version: object) -> int:
    """`version`, a data version read from the Meta node, when it is a number; else `StoreError`."""
    if not isinstance(version, int):
        raise StoreError(
            f"the data version on the Meta node is {version!r}, not a number "
            "(was the database wiped while this ran?)"
        )
    return version
