"""The stores' shared write helpers: batched writes with progress, and the version-conflict check."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from graph_service.adapters.batching import RowsWritten, batches_by_size, check_versions, write_in_batches
from graph_service.ports import ConflictError


def test_batches_are_written_in_order_and_progress_counts_rows() -> None:
    seen: list[Sequence[int]] = []
    reported: list[int] = []
    write_in_batches(range(7), 3, seen.append, RowsWritten(reported.append))
    assert [list(batch) for batch in seen] == [[0, 1, 2], [3, 4, 5], [6]]
    assert reported == [3, 6, 7]


def test_runs_by_size_keep_the_order_and_stay_within_the_size_but_for_a_larger_item() -> None:
    """(issue 9: a large import's 50 audit batches went in 50 statements under the write lock) Items
    go in consecutive runs whose sizes add up to at most the limit; an item larger than it goes alone."""
    words = ["aa", "bbb", "c", "dddddd", "ee", "f"]
    assert list(batches_by_size(words, len, 4)) == [["aa"], ["bbb", "c"], ["dddddd"], ["ee", "f"]]
    assert list(batches_by_size(words, len, 100)) == [words]
    assert list(batches_by_size([], len, 4)) == []


def test_two_pass_writes_count_a_row_half_written_after_its_first_pass() -> None:
    reported: list[int] = []
    written = RowsWritten(reported.append, passes=2)
    write_in_batches([1, 2], 2, lambda batch: None, written)  # merged rows: nodes
    write_in_batches([3, 4, 5], 2, lambda batch: None, written, passes=2)  # created rows: whole
    write_in_batches([1, 2], 2, lambda batch: None, written)  # merged rows: links
    assert reported == [1, 3, 4, 5]


def test_a_version_conflict_names_every_station_that_differs() -> None:
    stored = {"a": 2, "b": 1}
    asked: list[list[str]] = []

    def read(ids: Sequence[str]) -> list[tuple[str, int]]:
        asked.append(list(ids))
        return [(i, stored[i]) for i in ids if i in stored]

    check_versions({"a": 2, "b": 1, "c": None}, read, 2)
    assert asked == [["a", "b"], ["c"]]
    with pytest.raises(ConflictError) as raised:
        check_versions({"a": 1, "b": 1, "c": 3, "d": None}, read, 500)
    assert raised.value.conflicts == {"a": (1, 2), "c": (3, None)}
