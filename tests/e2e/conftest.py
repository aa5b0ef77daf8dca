"""Fixtures of the end-to-end tests: the ASGI app with an HTTP client on it (`api`, `private_api`),
and stores for the command line (`store_url`, `files`, `network`, the files of tests/support/cli.py).
The stores and `service` come from tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from graph_service.bootstrap import open_service
from graph_service.entrypoints.app import create_app
from graph_service.service_layer.services import NetworkService
from tests.support.cli import DIVISIONS, STATIONS, run, write
from tests.support.network import Api, app_client, settings_for
from tests.support.stores import StoreFactory

# --- HTTP ----------------------------------------------------------------------------------------


@pytest.fixture
async def api(service: NetworkService) -> AsyncIterator[Api]:
    """The app over the seeded network, and a client for it; the app's follower runs (as under a
    server, where the app's lifespan starts it), so other processes' writes show within a moment."""
    app = create_app(service)
    app.state.follower.start()
    try:
        async with app_client(app) as client:
            yield Api(client, service)
    finally:
        app.state.follower.stop()


@pytest.fixture
async def private_api(service: NetworkService) -> AsyncIterator[Api]:
    """The app of a server with GRAPH_SERVICE_PUBLIC_READ=false, over the same seeded store."""
    private = open_service(settings_for(service.store.url, public_read=False))
    try:
        async with app_client(create_app(private)) as client:
            yield Api(client, private)
    finally:
        private.close()


# --- the command line ----------------------------------------------------------------------------


@pytest.fixture
def store_url(store_factory: StoreFactory) -> str:
    """An empty store of each kind (SQLite, then the test Neo4j), as the URL the CLI takes."""
    return store_factory().url


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """The small division and station files, written to disk."""
    return {
        "divisions": write(tmp_path / "divisions.csv", DIVISIONS),
        "stations": write(tmp_path / "stations.csv", STATIONS),
    }


@pytest.fixture
def network(store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A store holding the small division and station files."""
    for kind, text in (("divisions", DIVISIONS), ("stations", STATIONS)):
        status, _, err = run(
            capsys, "seed", kind, str(write(tmp_path / f"{kind}.csv", text)), "--store", store_url
        )
        assert status == 0, err
    return store_url
