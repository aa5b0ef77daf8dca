"""Pages of ordered lists: the one paging helper of the engine and the read model."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of an ordered list: the items, how many there are in all, and whether more follow."""

    items: list[T]
    total: int
    has_next: bool


def page_of(keys: Sequence[str], after: str | None, first: int, load: Callable[[str], T]) -> Page[T]:
    """The `first` keys after `after` (keys sorted), loaded, with the total and whether more follow."""
    start = bisect_right(keys, after) if after is not None else 0
    chosen = keys[start : start + first]
    return Page([load(key) for key in chosen], len(keys), start + first < len(keys))
