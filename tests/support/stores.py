"""The stores the tests run against: the test Neo4j's URL and credentials, and whether it answers.

The fixtures built on these (`neo4j_url`, `store_factory`, `store`) are in tests/conftest.py.
The Neo4j is the one named by GRAPH_SERVICE_TEST_NEO4J (default bolt://127.0.0.1:7687, credentials
from NEO4J_USER / NEO4J_PASSWORD). When it cannot be reached the Neo4j tests skip, or fail when CI=true.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from graph_service.bootstrap import open_store
from graph_service.ports import DEFAULT_BATCH_SIZE, Store
from graph_service.service_layer.settings import Settings

NEO4J_URL_ENV = "GRAPH_SERVICE_TEST_NEO4J"
DEFAULT_TEST_NEO4J_URL = "bolt://127.0.0.1:7687"
START_HINT = "start one with `neo4j-local/neo4j-local start` (or point GRAPH_SERVICE_TEST_NEO4J at one)"

StoreFactory = Callable[..., Store]
"""`store_factory`'s type: `make(batch_size=...)` opens a store on the test's database."""

STORE_KINDS = ["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)]
"""The real stores, as the parameters of `store_factory` (`pytest.mark.neo4j` on the Neo4j one)."""

_unreachable: dict[str, str | None] = {}


def neo4j_test_url() -> str:
    """The Bolt URL of the Neo4j the tests use."""
    return os.environ.get(NEO4J_URL_ENV) or DEFAULT_TEST_NEO4J_URL


def neo4j_auth() -> tuple[str, str] | None:
    """Driver credentials from NEO4J_USER / NEO4J_PASSWORD (None without a password)."""
    password = os.environ.get("NEO4J_PASSWORD") or ""
    return (os.environ.get("NEO4J_USER") or "neo4j", password) if password else None


def neo4j_unreachable_reason(url: str) -> str | None:
    """Why the Neo4j at `url` cannot be used (None when it answers); asked once per URL and run."""
    if url not in _unreachable:
        from neo4j import GraphDatabase

        try:
            with GraphDatabase.driver(url, auth=neo4j_auth(), connection_timeout=5.0) as driver:
                driver.verify_connectivity()
            _unreachable[url] = None
        except Exception as error:  # any failure means: not usable for these tests
            _unreachable[url] = f"Neo4j at {url} cannot be reached ({type(error).__name__}: {error})"
    return _unreachable[url]


def require_neo4j(url: str) -> None:
    """Skip the test when the Neo4j at `url` does not answer; under CI=true, fail it instead."""
    reason = neo4j_unreachable_reason(url)
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must run the Neo4j tests: {START_HINT}", pytrace=False)
    pytest.skip(f"{reason}; {START_HINT}")


def wipe_neo4j(url: str) -> None:
    """Delete every node and relationship (constraints and indexes stay), in batches."""
    from neo4j import GraphDatabase

    with GraphDatabase.driver(url, auth=neo4j_auth()) as driver, driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


@contextmanager
def stores_of(kind: str, folder: Path) -> Iterator[StoreFactory]:
    """Opens stores (`make(batch_size=...)`) on one empty database of `kind` ("sqlite": a file in
    `folder`; "neo4j": the test Neo4j, wiped); every store opened is closed when the block ends."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'store.db'}"
    else:
        url = neo4j_test_url()
        require_neo4j(url)
        wipe_neo4j(url)
    opened: list[Store] = []

    def make(batch_size: int = DEFAULT_BATCH_SIZE) -> Store:
        store = open_store(replace(Settings.from_env(store_url=url), batch_size=batch_size))
        opened.append(store)
        return store

    try:
        yield make
    finally:
        for store in opened:
            store.close()
