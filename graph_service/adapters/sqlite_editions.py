"""The SQLite store's edition history (spec §6), read and written on a connection the store holds:
applied editions (`editions`), successor links (`division_successors`) and name histories
(`division_names`). Station placements are in `sqlite_schema` (`write_placements`, `read_placements`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import date

from graph_service.adapters.sqlite_schema import IDS_PER_QUERY, UPSERT_EDITION, marks
from graph_service.domain.editions import AppliedEdition
from graph_service.domain.validity import DivisionName


def write_editions(conn: sqlite3.Connection, editions: Mapping[str, AppliedEdition]) -> None:
    """Record the edition applied to each province (one `editions` row per province)."""
    conn.executemany(
        UPSERT_EDITION, [(province, e.day.isoformat(), e.digest) for province, e in editions.items()]
    )


def write_successors(conn: sqlite3.Connection, successors: Mapping[str, Sequence[str]], version: int) -> None:
    """Replace the successors of each retired division, in their order, and mark the division written
    by data version `version` (so `changes_since` carries its new links, whether its row changed or not)."""
    conn.executemany(
        "UPDATE divisions SET changed_in = ? WHERE code = ?", [(version, old) for old in successors]
    )
    for old_code, news in successors.items():
        conn.execute("DELETE FROM division_successors WHERE old_code = ?", (old_code,))
        conn.executemany(
            "INSERT INTO division_successors (old_code, position, new_code) VALUES (?, ?, ?)",
            [(old_code, position, new_code) for position, new_code in enumerate(news)],
        )


def write_names(conn: sqlite3.Connection, names: Mapping[str, Sequence[DivisionName]]) -> None:
    """Replace the name history of each division (an empty `valid_from`: from the start)."""
    for code, history in names.items():
        conn.execute("DELETE FROM division_names WHERE code = ?", (code,))
        conn.executemany(
            "INSERT INTO division_names (code, valid_from, name) VALUES (?, ?, ?)",
            [(code, e.valid_from.isoformat() if e.valid_from else "", e.name) for e in history],
        )


def read_editions(conn: sqlite3.Connection) -> dict[str, AppliedEdition]:
    """The latest edition applied to each province, from the `editions` table."""
    rows = conn.execute("SELECT province, day, digest FROM editions").fetchall()
    return {province: AppliedEdition(date.fromisoformat(day), digest) for province, day, digest in rows}


def read_links(
    conn: sqlite3.Connection, codes: Sequence[str]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The successors and predecessors of `codes`, from `division_successors`."""
    successors: dict[str, list[str]] = {}
    predecessors: dict[str, list[str]] = {}
    for start in range(0, len(codes), IDS_PER_QUERY):
        batch = list(codes[start : start + IDS_PER_QUERY])
        for old_code, new_code in conn.execute(
            f"SELECT old_code, new_code FROM division_successors WHERE old_code IN ({marks(batch)}) "
            "ORDER BY old_code, position",
            batch,
        ):
            successors.setdefault(old_code, []).append(new_code)
        for new_code, old_code in conn.execute(
            f"SELECT new_code, old_code FROM division_successors WHERE new_code IN ({marks(batch)}) "
            "ORDER BY new_code, old_code",
            batch,
        ):
            predecessors.setdefault(new_code, []).append(old_code)
    return successors, predecessors


def read_names(conn: sqlite3.Connection, codes: Sequence[str]) -> dict[str, list[DivisionName]]:
    """The name histories of `codes` that have one, from `division_names`, oldest first."""
    found: dict[str, list[DivisionName]] = {}
    for start in range(0, len(codes), IDS_PER_QUERY):
        batch = list(codes[start : start + IDS_PER_QUERY])
        rows = conn.execute(
            f"SELECT code, valid_from, name FROM division_names WHERE code IN ({marks(batch)}) "
            "ORDER BY code, valid_from",
            batch,
        ).fetchall()
        for code, valid_from, name in rows:
            day = date.fromisoformat(valid_from) if valid_from else None
            found.setdefault(code, []).append(DivisionName(name, day))
    return found
