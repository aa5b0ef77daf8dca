"""The SQLite store's error messages: what went wrong with which file, for a `StoreError` (or a
`StoreUnavailable` when another writer held the file locked too long)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def busy_message(url: str, path: Path, lock_timeout: float, action: str) -> str:
    """Why a write gave up: another writer held the store longer than `lock_timeout`."""
    return (
        f"the SQLite store {url} ({path.resolve()}) is busy: another writer held it locked "
        f"for more than {lock_timeout:g} s, so it could not {action}; nothing was written, try again"
    )


def is_busy(error: sqlite3.Error) -> bool:
    """Whether `error` says another connection held the database locked."""
    return any(word in str(error) for word in ("database is locked", "database is busy"))


def describe(url: str, path: Path, lock_timeout: float, error: sqlite3.Error, action: str) -> str:
    """A message naming the store, what it could not do and why, for a `sqlite3` error."""
    text = str(error)
    where = f"the SQLite store {url} ({path.resolve()})"
    if "file is not a database" in text:
        return f"{where} could not {action}: the file is not an SQLite database"
    if "unable to open database file" in text:
        return (
            f"{where} could not {action}: the file cannot be opened "
            "(check that its folder exists and is writable)"
        )
    if is_busy(error):
        return busy_message(url, path, lock_timeout, action)
    if "readonly" in text:
        return f"{where} could not {action}: the file or its folder is read-only"
    if "closed database" in text:
        return f"{where} could not {action}: the store is closed"
    return f"{where} could not {action}: {text}"
