"""The stores' side of failures: busy and unreachable are `StoreUnavailable` (nothing written, safe to
retry), found out within about the lock wait, and transient Neo4j errors are retried with backoff."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from graph_service.adapters import neo4j_connection
from graph_service.adapters.neo4j_store import Neo4jStore
from graph_service.adapters.sqlite_store import SqliteStore
from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division
from graph_service.ports import StoreUnavailable


def test_a_sqlite_write_behind_another_writer_gives_up_after_the_lock_wait(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'store.db'}", lock_timeout=0.3)
    other = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="busy: another writer held it locked for more than 0.3 s"):
            store.upsert_divisions([Division("52", "贵州省", DivisionLevel.PROVINCE)])
        assert time.monotonic() - started < 2
        # Reads do not wait for the writer, nor for the write waiting behind it.
        assert store.data_version() == 0
        assert store.changes_since(0).divisions == []
        other.execute("ROLLBACK")
        assert store.upsert_divisions([Division("52", "贵州省", DivisionLevel.PROVINCE)]) == 1
    finally:
        other.close()
        store.close()


def test_an_unreachable_neo4j_is_unavailable_after_retrying_for_about_two_seconds() -> None:
    store = Neo4jStore("bolt://127.0.0.1:9", batch_size=10)
    try:
        for call in (store.data_version, store.ping, lambda: store.changes_since(0)):
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="cannot reach Neo4j at bolt://127.0.0.1:9"):
                call()
            assert 1 < time.monotonic() - started < 6
    finally:
        store.close()


def test_transient_failures_are_retried_with_doubling_pauses(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(neo4j_connection.time, "sleep", pauses.append)
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise neo4j_connection.Transient("deadlock")
        return "done"

    with caplog.at_level(logging.INFO, logger="graph_service.neo4j"):
        assert neo4j_connection.retrying(flaky) == "done"
    assert pauses == [0.1, 0.2]
    assert [record.getMessage() for record in caplog.records] == [
        "trying again in 0.10 s: deadlock",
        "trying again in 0.20 s: deadlock",
    ]  # in the server's log: a slow answer of the store says why

    def busy() -> None:
        attempts.append(1)
        raise StoreUnavailable("another writer held the lock")  # already waited: not retried

    attempts.clear()
    with pytest.raises(StoreUnavailable):
        neo4j_connection.retrying(busy)
    assert len(attempts) == 1


def test_a_sqlite_write_behind_a_long_write_of_the_same_process_gives_up_too(tmp_path: Path) -> None:
    """(issue 9: a write in the load run took 30 s, with no error) A write queued behind another write
    of the same process (a big `importStations`) waits for it at most the lock wait as well, then is
    `StoreUnavailable`, instead of waiting for the whole other write."""
    store = SqliteStore(f"sqlite:///{tmp_path / 'store.db'}", lock_timeout=0.3)
    holding, release = threading.Event(), threading.Event()

    def long_write() -> None:
        with store._lock:  # what a write of this process holds for its whole transaction
            holding.set()
            release.wait(timeout=30)

    other = threading.Thread(target=long_write)
    other.start()
    outcome: list[BaseException | int] = []

    def write() -> None:
        try:
            outcome.append(store.upsert_divisions([Division("52", "贵州省", DivisionLevel.PROVINCE)]))
        except BaseException as error:  # noqa: BLE001 - reported by the assertions below
            outcome.append(error)

    try:
        assert holding.wait(timeout=30)
        writer = threading.Thread(target=write)
        writer.start()
        writer.join(timeout=10)  # far above the 0.3 s lock wait; before the fix it waited for `release`
        assert not writer.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], StoreUnavailable)
        assert "busy: another writer held it locked for more than 0.3 s" in str(outcome[0])
        assert store.data_version() == 0  # nothing written
    finally:
        release.set()
        other.join()
    assert store.upsert_divisions([Division("52", "贵州省", DivisionLevel.PROVINCE)]) == 1
    store.close()
