"""A service sees what another process wrote to its store (SQLite and Neo4j), once it refreshes."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from graph_service.service_layer.auth import Principal
from graph_service.service_layer.services import NetworkService
from graph_service.service_layer.settings import Settings
from graph_service.service_layer.syncing import load_engine
from tests.support.cli import DIVISIONS, STATIONS
from tests.support.stores import StoreFactory

ADMIN = Principal.local_admin()
DAY = date(2024, 1, 1)


def open_service(make: StoreFactory) -> NetworkService:
    """A service over a new store from `make`, asking the store at every refresh."""
    store = make()
    settings = Settings(store_url=store.url, refresh_interval=0.0)  # ask the store at every refresh
    return NetworkService(store, load_engine(store), settings)


def test_another_process_writes_are_seen(store_factory: StoreFactory, tmp_path: Path) -> None:
    service = open_service(store_factory)
    service.import_divisions(ADMIN, DIVISIONS)
    (tmp_path / "stations.csv").write_text(STATIONS, encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "graph_service.entrypoints.cli",
            "seed",
            "stations",
            str(tmp_path / "stations.csv"),
            "--store",
            service.store.url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert service.engine.station("GC-5223") is None
    service.refresh()
    assert service.engine.station("GC-5223") is not None
    assert service.engine.rollup("52", DAY).general_stations == 1
    assert service.engine.version == service.store.data_version()
