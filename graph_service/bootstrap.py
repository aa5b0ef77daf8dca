"""The composition root: builds the store and the service from `Settings`.

The one module that knows the concrete stores (`graph_service.adapters`) and picks one from the store
URL, passing it the configured batch size and Neo4j credentials. Entry points (CLI, `serve`), the
benchmarks and the tests build what they run through here; nothing below imports it.
"""

from __future__ import annotations

from graph_service.ports import Store, StoreError
from graph_service.service_layer.services import NetworkService
from graph_service.service_layer.settings import DEFAULT_STORE_URL, Settings
from graph_service.service_layer.syncing import WriteScope, load_engine, load_engine_around

__all__ = ["DEFAULT_STORE_URL", "open_service", "open_store"]

NEO4J_SCHEMES = frozenset({"bolt", "neo4j", "bolt+s", "neo4j+s", "bolt+ssc", "neo4j+ssc"})


def open_store(settings: Settings) -> Store:
    """Open the store `settings.store_url` names: `sqlite:///PATH` (embedded) or `bolt://` /
    `neo4j://` (Neo4j, with the settings' credentials and database); `StoreError` for any other URL."""
    url = settings.store_url
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "sqlite":
        from graph_service.adapters.sqlite_store import SqliteStore

        return SqliteStore(url, batch_size=settings.batch_size)
    if scheme in NEO4J_SCHEMES:
        from graph_service.adapters.neo4j_store import Neo4jStore

        return Neo4jStore(
            url,
            batch_size=settings.batch_size,
            user=settings.neo4j_user,
            password=settings.neo4j_password,
            database=settings.neo4j_database,
        )
    raise StoreError(
        f"unsupported store URL {url!r}: use sqlite:///PATH, bolt://HOST:PORT or neo4j://HOST:PORT"
    )


def open_service(settings: Settings, *, around: WriteScope | None = None) -> NetworkService:
    """Open the configured store and build the service over it, its engine loaded from the store
    (`EngineLoadError` if the stored network is invalid; the store is closed again on any failure).
    `around`: a service that only imports the stations of that scope, its engine holding only the
    part of the network they need (`syncing.load_engine_around`)."""
    store = open_store(settings)
    try:
        engine = load_engine(store) if around is None else load_engine_around(store, around)
        return NetworkService(store, engine, settings)
    except BaseException:
        store.close()
        raise
