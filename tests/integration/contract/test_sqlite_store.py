"""What is particular to the SQLite store: its URLs, its file, and the errors it explains."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from graph_service.adapters.sqlite_reads import _stations_written_since
from graph_service.adapters.sqlite_schema import SCHEMA_VERSION, STATION_COLUMNS_SQL
from graph_service.adapters.sqlite_store import SqliteStore, path_from_url
from graph_service.bootstrap import open_store
from graph_service.domain.audit import (
    DIVISION_KIND,
    AuditChange,
    AuditQuery,
    AuditTrail,
    division_json,
    utc_now,
)
from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division, ReportingLine
from graph_service.ports import StoreError, audit_seq
from graph_service.service_layer.settings import Settings
from tests.integration.contract.records import DIVISIONS, STATIONS


def test_urls_name_relative_and_absolute_files() -> None:
    assert path_from_url("sqlite:///graph-service.db") == Path("graph-service.db")
    assert path_from_url("sqlite:///data/x.db") == Path("data/x.db")
    assert path_from_url("sqlite:////var/lib/x.db") == Path("/var/lib/x.db")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///:memory:", "in-memory SQLite"),
        ("sqlite:///", "names no file"),
        ("sqlite://x.db", "expected sqlite:///PATH"),
        ("sqlite:///x.db?mode=ro", "query parameters"),
    ],
)
def test_unsupported_urls_are_explained(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        SqliteStore(url)


def test_a_relative_path_is_taken_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store(Settings.from_env(store_url="sqlite:///relative.db")) as store:
        store.upsert_divisions([Division("52", "贵州省", DivisionLevel.PROVINCE)])
    assert (tmp_path / "relative.db").is_file()


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="the folder .*nowhere does not exist"):
        SqliteStore(f"sqlite:///{tmp_path}/nowhere/x.db")


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are not the tables you are looking for\n" * 100)
    with pytest.raises(StoreError, match="not an SQLite database"):
        SqliteStore(f"sqlite:///{path}")


def test_a_folder_in_place_of_the_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a folder"):
        SqliteStore(f"sqlite:///{tmp_path}")


def test_the_file_is_in_wal_mode_with_its_tables(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    SqliteStore(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"meta", "divisions", "stations"} <= tables
    assert {"divisions_changed_in", "stations_changed_in"} <= indexes


def test_the_catch_up_reads_rows_through_json_exactly_as_sqlite_gives_them(tmp_path: Path) -> None:
    """The catch-up's station rows, made into one JSON array by SQLite (`_stations_written_since`), are
    the rows a plain SELECT gives, whatever the text (quotes, backslashes, control characters, CJK,
    emoji) and whatever the numbers (64-bit extremes, negatives, a real, text where a count goes:
    rows the reader then refuses as before), NULLs included; only rows written after the version asked
    for."""
    path = tmp_path / "store.db"
    SqliteStore(f"sqlite:///{path}").close()
    texts = ['a "quoted" \\ name', "line\nbreak\ttab\x01", "晴隆县花贡镇", "room 🏠", ""]
    counts: list[object] = [2**63 - 1, -(2**63), 0, 7, 1.5, "twelve"]
    rows = [
        (
            f"S-{n}",
            texts[n % len(texts)],
            "village_room",
            f"D-{n}",
            None if n % 2 else f"S-{n - 1}",
            "operating",
            "2024-01-31",
            None if n % 3 else "2025-02-28",
            counts[n % len(counts)],
            counts[(n + 1) % len(counts)],
            counts[(n + 2) % len(counts)],
            n + 1,
            5 if n < 12 else 3,
        )
        for n in range(15)
    ]
    with sqlite3.connect(path) as conn:
        conn.executemany(
            f"INSERT INTO stations ({STATION_COLUMNS_SQL}, changed_in) VALUES ({', '.join('?' * 13)})", rows
        )
        plain = conn.execute(f"SELECT {STATION_COLUMNS_SQL} FROM stations WHERE changed_in > 4").fetchall()
        assert len(plain) == 12
        assert _stations_written_since(conn, 4) == [list(row) for row in plain]
        assert _stations_written_since(conn, 5) == []


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'store.db'}")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.data_version()


def test_a_schema_from_a_newer_program_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    SqliteStore(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="newer"):
        SqliteStore(f"sqlite:///{path}")


def test_batch_size_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        SqliteStore(f"sqlite:///{tmp_path / 'store.db'}", batch_size=0)


def test_a_schema_2_store_is_upgraded_and_its_division_entries_still_read(tmp_path: Path) -> None:
    """A store from before `audit_batches` (schema 2: division entries as `audit` rows) gets the table
    when opened; its old entries and the new, packed ones read back together, newest first."""
    path = tmp_path / "store.db"
    SqliteStore(f"sqlite:///{path}").close()
    old_seq = audit_seq(1, 0)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE audit_batches")
        conn.execute("PRAGMA user_version = 2")
        conn.execute(
            "INSERT INTO audit_writes VALUES (1, '2024-01-01T00:00:00.000000Z', 'bob', 'cli', 'import')"
        )
        conn.execute(
            "INSERT INTO audit VALUES (?, NULL, 'division', '52', NULL, ?, '|52|')",
            (old_seq, division_json(Division("52", "贵州省", DivisionLevel.PROVINCE))),
        )
        conn.execute("UPDATE meta SET value = 1 WHERE key = 'data_version'")
    store = SqliteStore(f"sqlite:///{path}")
    renamed = Division("52", "贵州", DivisionLevel.PROVINCE)
    change = AuditChange("import", DIVISION_KIND, "52", None, division_json(renamed), "|52|")
    store.upsert_divisions([renamed], audit=AuditTrail("alice", "admin", utc_now(), [change]))
    entries = store.audit_entries(AuditQuery(within="52"))
    assert [(e.actor, e.after and e.after["name"]) for e in entries] == [("alice", "贵州"), ("bob", "贵州省")]
    assert store.count_audit_entries(AuditQuery(kind=DIVISION_KIND)) == 2
    store.close()


def test_a_schema_3_store_gets_division_validity_in_place(tmp_path: Path) -> None:
    """A store from before divisions had validity (schema 3) gains `valid_from`/`valid_to` when
    opened; its divisions stay valid always, and new ones keep their dates."""
    path = tmp_path / "store.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE divisions (code TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, "
            "level TEXT NOT NULL, parent_code TEXT, changed_in INTEGER NOT NULL)"
        )
        conn.execute("INSERT INTO divisions VALUES ('52', '贵州省', 'province', NULL, 1)")
        conn.execute("PRAGMA user_version = 3")
    store = SqliteStore(f"sqlite:///{path}")
    store.upsert_divisions([Division("5201", "贵阳市", DivisionLevel.CITY, "52", date(2021, 1, 1))])
    changes = store.changes_since(0)
    assert sorted(changes.divisions, key=lambda d: d.code) == [
        Division("52", "贵州省", DivisionLevel.PROVINCE),
        Division("5201", "贵阳市", DivisionLevel.CITY, "52", date(2021, 1, 1)),
    ]
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,) == (6,)


def test_a_schema_5_store_gains_reporting_lines_in_place(tmp_path: Path) -> None:
    """A store from before reporting lines were dated (schema 5) gains `station_reporting_lines` when
    opened; its stations keep their data and always reported to their parent, and dated lines written
    afterwards read back."""
    path = tmp_path / "store.db"
    store = SqliteStore(f"sqlite:///{path}")
    store.upsert_divisions(DIVISIONS)
    store.upsert_stations(STATIONS)
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE station_reporting_lines")
        conn.execute("PRAGMA user_version = 5")
    store = SqliteStore(f"sqlite:///{path}")
    assert store.changes_since(0).stations == STATIONS
    room = STATIONS[3]
    lines = (ReportingLine(room.parent_id, None, date(2021, 10, 31)), ReportingLine(None, date(2021, 10, 31)))
    changed = dataclasses.replace(room, parent_id=None, reporting_lines=lines, version=room.version + 1)
    version = store.upsert_divisions([], stations=[changed])
    assert store.changes_since(version - 1).stations == [changed]
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,) == (6,)
