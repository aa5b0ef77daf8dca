"""Fixtures every layer shares: the stores, and a service over the small seeded network.

`store_factory` (and `store`, one store from it) is parametrised over SQLite, in a temporary folder,
and the Neo4j named by GRAPH_SERVICE_TEST_NEO4J (tests/support/stores.py), wiped before each test.
`service` seeds tests/support/network.py's small network into each of them. The layers' own fixtures
are in tests/unit/conftest.py (the in-memory fake store), tests/e2e/conftest.py (HTTP and command-line
clients) and tests/e2e/browser/conftest.py (Chromium).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graph_service.ports import Store
from graph_service.service_layer.services import NetworkService
from graph_service.service_layer.syncing import load_engine
from tests.support.network import seed, settings_for
from tests.support.stores import (
    STORE_KINDS,
    StoreFactory,
    neo4j_test_url,
    require_neo4j,
    stores_of,
    wipe_neo4j,
)


@pytest.fixture
def neo4j_url() -> str:
    """The test Neo4j's URL, after wiping it (skips or fails as `require_neo4j` says). Mark tests
    that use it with `pytest.mark.neo4j`."""
    url = neo4j_test_url()
    require_neo4j(url)
    wipe_neo4j(url)
    return url


@pytest.fixture(params=STORE_KINDS)
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens stores (`make(batch_size=...)`) on one empty database of the parametrised kind; every
    store opened is closed after the test."""
    with stores_of(request.param, tmp_path) as make:
        yield make


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    """One store with the default batch size on an empty database (SQLite, then Neo4j)."""
    return store_factory()


@pytest.fixture
def service(store_factory: StoreFactory) -> NetworkService:
    """A service over the seeded network, with the tests' token secret, on each kind of store.

    `store_factory` gives an empty SQLite file or the test Neo4j wiped clean, and closes the store
    after the test; `service.store.url` opens more services on the same store.
    """
    store = store_factory()
    service = NetworkService(store, load_engine(store), settings_for(store.url))
    seed(service)
    return service


@pytest.fixture
def anyio_backend() -> str:
    """The `pytest.mark.anyio` tests run on asyncio."""
    return "asyncio"
