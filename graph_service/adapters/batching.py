"""Bulk writes in batches, as both stores do them: cutting rows into batches (`itertools.batched` needs
Python 3.12), writing them batch by batch while reporting progress, and checking stored versions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TypeVar

from graph_service.ports import ConflictError, Progress

T = TypeVar("T")


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Yield consecutive slices of `items` holding `size` items each (the last one may hold fewer)."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, not {size}")
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batches_by_size(items: Iterable[T], size_of: Callable[[T], int], most: int) -> Iterator[list[T]]:
    """Yield consecutive runs of `items` whose `size_of` adds up to at most `most` (an item larger than
    that alone)."""
    run: list[T] = []
    total = 0
    for item in items:
        size = size_of(item)
        if run and total + size > most:
            yield run
            run, total = [], 0
        run.append(item)
        total += size
    if run:
        yield run


def check_batch_size(batch_size: int) -> int:
    """Return `batch_size` when it is a whole number ≥ 1; raise `ValueError` otherwise."""
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number ≥ 1, not {batch_size!r}")
    return batch_size


class RowsWritten:
    """The rows one write has written so far, reported to `progress` (when given) after every batch.

    A write that makes `passes` passes over some of its rows (Neo4j: nodes, then links) counts each
    pass over a row as 1/`passes` of a row, so the count ends at the number of rows.
    """

    def __init__(self, progress: Progress | None, passes: int = 1) -> None:
        self._progress = progress
        self._passes = passes
        self._steps = 0

    def add(self, rows: int, passes: int = 1) -> None:
        """Count `passes` passes over `rows` more rows and report the rows written so far."""
        self._steps += rows * passes
        if self._progress is not None:
            self._progress(self._steps // self._passes)


def write_in_batches(
    items: Sequence[T],
    size: int,
    write: Callable[[Sequence[T]], None],
    written: RowsWritten,
    passes: int = 1,
) -> None:
    """Call `write(batch)` for consecutive batches of at most `size` of `items`, counting each batch in
    `written` as `passes` passes over its rows once written."""
    for batch in batches(items, size):
        write(batch)
        written.add(len(batch), passes)


def check_versions(
    expected: Mapping[str, int | None],
    read_versions: Callable[[Sequence[str]], Iterable[tuple[str, int]]],
    size: int,
) -> None:
    """Raise `ConflictError` listing every station whose stored version is not the one `expected` maps
    its id to (None: not stored). `read_versions(ids)` gives the stored (id, version) pairs of up to
    `size` ids at a time."""
    stored: dict[str, int] = {}
    for chunk in batches(list(expected), size):
        stored.update((station_id, int(version)) for station_id, version in read_versions(chunk))
    conflicts = {
        station_id: (want, stored.get(station_id))
        for station_id, want in expected.items()
        if stored.get(station_id) != want
    }
    if conflicts:
        raise ConflictError(conflicts)
