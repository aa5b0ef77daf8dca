"""Cutting a sequence into batches for bulk writes (`itertools.batched` needs Python 3.12)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Yield consecutive slices of `items` holding `size` items each (the last one may hold fewer)."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, not {size}")
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check_batch_size(batch_size: int) -> int:
    """Return `batch_size` when it is a whole number ≥ 1; raise `ValueError` otherwise."""
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number ≥ 1, not {batch_size!r}")
    return batch_size
