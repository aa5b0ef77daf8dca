"""Shared fixtures: the stores the contract suite runs against.

`store_factory` (and `store`, one store from it) is parametrised over SQLite, in a temporary folder,
and the Neo4j named by GRAPH_SERVICE_TEST_NEO4J (default bolt://127.0.0.1:7687, credentials from
NEO4J_USER / NEO4J_PASSWORD), wiped before each test. When that Neo4j cannot be reached the Neo4j
cases skip, or fail when CI=true.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
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


@pytest.fixture
def neo4j_url() -> str:
    """The test Neo4j's URL, after wiping it (skips or fails as `require_neo4j` says). Mark tests
    that use it with `pytest.mark.neo4j`."""
    url = neo4j_test_url()
    require_neo4j(url)
    wipe_neo4j(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens stores (`make(batch_size=...)`) on one empty database of the parametrised kind; every
    store opened is closed after the test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = neo4j_test_url()
        require_neo4j(url)
        wipe_neo4j(url)
    opened: list[Store] = []

    def make(batch_size: int = DEFAULT_BATCH_SIZE) -> Store:
        store = open_store(replace(Settings.from_env(store_url=url), batch_size=batch_size))
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    """One store with the default batch size on an empty database (SQLite, then Neo4j)."""
    return store_factory()
