"""The new timelines of many divisions at once, computed column-wise with numpy: the bulk catch-up's
step from each division's own per-day changes to the new timeline of it and of every division above
it (`bulk._timelines_with` does the same one division and one day at a time, and is what is used
when a total might not fit in 64 bits)."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from graph_service.domain.levels import DivisionLevel
from graph_service.engine.graphs import RANK
from graph_service.engine.timeline import WIDTH, SharedTimeline, Timeline
from graph_service.engine.values import Attributes, Node

SAFE = 2**62
"""Totals and sums of changes stay below this (a margin under 2**63) for the 64-bit path to be
exact; anything larger goes the Python-integer way."""

Ints = npt.NDArray[np.int64]


class _TooLarge(Exception):
    """A total or a change could leave 64 bits: the caller falls back to exact Python integers."""


class DivisionChanges:
    """Full-width per-day changes of many divisions, kept flat (one list of divisions, days and row
    values for all of them) for `timelines_in_bulk`; each division registered once with what the
    bottom-up pass needs of it (its attributes, rank, parent's code and old timeline). Apart from
    those, the leaves (`add_leaf`): divisions whose new timeline is one station's days."""

    __slots__ = (
        "codes",
        "datas",
        "days",
        "divisions",
        "index",
        "leaf_rows",
        "leaves",
        "parents",
        "ranks",
        "timelines",
        "values",
    )

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.codes: list[str] = []
        self.datas: list[Attributes] = []
        self.ranks: list[int] = []
        self.parents: list[str | None] = []
        self.timelines: list[Timeline | None] = []
        self.divisions: list[int] = []
        self.days: list[int] = []
        self.values: list[int] = []
        self.leaves: list[tuple[Attributes, str | None, int, int | None]] = []
        self.leaf_rows: list[int] = []

    def position(self, code: str, data: Attributes) -> int:
        """The position of division `code` (its node attributes `data`), registered if new."""
        position = self.index.get(code)
        if position is None:
            position = self.index[code] = len(self.datas)
            division = data["division"]
            self.codes.append(code)
            self.datas.append(data)
            self.ranks.append(RANK[division.level])
            self.parents.append(division.parent_code)
            self.timelines.append(data["timeline"])
        return position

    def position_in(self, nodes: Mapping[Node, Attributes], code: str) -> int:
        """The position of division `code`, registered (its attributes read from `nodes`) if new."""
        position = self.index.get(code)
        return self.position(code, nodes[code]) if position is None else position

    def add(self, position: int, day: int, row: list[int]) -> None:
        """Add one full-width change on `day` to the division at `position`."""
        self.divisions.append(position)
        self.days.append(day)
        self.values += row

    def add_all(self, code: str, data: Attributes, changes: Mapping[int, list[int]]) -> None:
        """Add a division's per-day changes (day -> full-width row)."""
        if changes:
            position = self.position(code, data)
            for day, row in changes.items():
                self.add(position, day, row)

    def add_leaf(
        self, data: Attributes, parent_code: str | None, opened: int, closed: int | None, row: list[int]
    ) -> None:
        """The changes of a division (attributes `data`, parent `parent_code`) that has no timeline and
        nothing below it (no child division, no station) and gets one station, active from day
        `opened` until `closed` (None: open; else after `opened`), bringing the full-width `row`: its
        new timeline is that station's days, made without the sorting and merging of a level. Not
        registered: nothing hands changes up to it."""
        self.leaves.append((data, parent_code, opened, closed))
        self.leaf_rows += row

    def as_dicts(self) -> dict[str, tuple[Attributes, dict[int, list[int]]]]:
        """The same changes as code -> (attributes, day -> full-width row), rows of a day summed."""
        dicts: dict[str, tuple[Attributes, dict[int, list[int]]]] = {}
        leaf_rows = self.leaf_rows
        for n, (data, _, opened, closed) in enumerate(self.leaves):
            row = leaf_rows[n * WIDTH : (n + 1) * WIDTH]
            days = {opened: row} if closed is None else {opened: row, closed: [-x for x in row]}
            dicts[data["division"].code] = (data, days)
        values = self.values
        for n, (position, day) in enumerate(zip(self.divisions, self.days, strict=True)):
            code = self.codes[position]
            entry = dicts.get(code)
            if entry is None:
                entry = dicts[code] = (self.datas[position], {})
            row = values[n * WIDTH : (n + 1) * WIDTH]
            existing = entry[1].get(day)
            entry[1][day] = row if existing is None else [x + y for x, y in zip(existing, row, strict=True)]
        return dicts


def timelines_in_bulk(
    nodes: Mapping[Node, Attributes], changes: DivisionChanges
) -> list[tuple[Attributes, Timeline | None]] | None:
    """The new timeline of every division with `changes` (its own) and of every division above one,
    as `bulk._timelines_with` makes them: each one's old days and the days of its subtree's changes,
    with the old totals plus the changes summed up to each day. None when a timeline holds Python
    integers or a total could leave 64 bits (the caller then goes the exact, slower way). Divisions
    above are registered in `changes` as they are reached.

    One level at a time, bottom-up, with arrays instead of per-day dicts: the level's changes
    (its divisions' own and their children's) are sorted by division and day and summed per day,
    handed to the parents as they are, accumulated per division, and merged with the old timelines
    (for each day of either, the old total then plus the changes' total then; an old timeline's days
    before its division's first change are copied as they are, not merged)."""
    try:
        return _timelines(nodes, changes)
    except _TooLarge:
        return None


def _timelines(
    nodes: Mapping[Node, Attributes], changes: DivisionChanges
) -> list[tuple[Attributes, Timeline | None]]:
    """`timelines_in_bulk`, raising `_TooLarge` instead of returning None."""
    levels = len(DivisionLevel)
    pending: list[list[tuple[Ints, Ints, Ints]]] = [[] for _ in range(levels)]
    if changes.days:
        divisions = np.array(changes.divisions, dtype=np.int64)
        days = np.array(changes.days, dtype=np.int64)
        rank_of = np.array(changes.ranks, dtype=np.int64)[divisions]
        _hand_to_levels(pending, rank_of, divisions, days, _as_rows(changes.values))
    ranks, parents, old_of = changes.ranks, changes.parents, changes.timelines
    timelines = _leaf_timelines(nodes, changes, pending)
    for rank in reversed(range(levels)):
        if not pending[rank]:
            continue
        divisions, days, values = _summed_by_day(*_joined(pending[rank]))
        if np.abs(values).sum(axis=0).max() >= SAFE:
            raise _TooLarge
        starts = _starts(divisions)
        members = divisions[starts].tolist()
        # Hand the changes to the parents (of any higher level: a level may be skipped).
        parent_of: list[int] = []
        parent_rank: list[int] = []
        old: list[tuple[array[int], array[int]]] = []
        old_members: list[int] = []
        kept: dict[int, tuple[array[int], array[int]]] = {}
        for member, first_day in zip(members, days[starts].tolist(), strict=True):
            timeline = old_of[member]
            if timeline is not None and timeline.days:
                rows = timeline.rows
                if not isinstance(rows, array):
                    raise _TooLarge
                old_days = timeline.days
                # Only the rows from the last one before the first change on are merged; the ones
                # before it stay as they are (a copy), however long the history.
                before = bisect_left(old_days, first_day) - 1
                if before > 0:
                    kept[member] = (old_days[:before], rows[: before * WIDTH])
                    old.append((old_days[before:], rows[before * WIDTH :]))
                else:
                    old.append((old_days, rows))
                old_members.append(member)
            parent_code = parents[member]
            if parent_code is None:
                parent_of.append(-1)
                parent_rank.append(-1)
                continue
            parent = changes.position_in(nodes, parent_code)
            parent_of.append(parent)
            parent_rank.append(ranks[parent])
        lengths = np.diff(np.append(starts, len(divisions)))
        event_parent = np.repeat(np.array(parent_of, dtype=np.int64), lengths)
        event_rank = np.repeat(np.array(parent_rank, dtype=np.int64), lengths)
        _hand_to_levels(pending, event_rank, event_parent, days, values)
        totals = _accumulated(values, starts)
        if old:
            divisions, days, totals = _merged(old, old_members, divisions, days, totals)
            starts = _starts(divisions)
        timelines.extend(_split(changes.datas, divisions, days, totals, starts, kept))
    return timelines


def _leaf_timelines(
    nodes: Mapping[Node, Attributes], changes: DivisionChanges, pending: list[list[tuple[Ints, Ints, Ints]]]
) -> list[tuple[Attributes, Timeline | None]]:
    """The new timelines of the leaves of `changes` (`DivisionChanges.add_leaf`), their changes handed
    to their parents' levels in `pending` (parents registered in `changes` as they are reached)."""
    leaves = changes.leaves
    if not leaves:
        return []
    rows = _as_rows(changes.leaf_rows)
    if np.abs(rows).max() >= SAFE:
        raise _TooLarge
    row_bytes, row_size, zeros = rows.tobytes(), WIDTH * 8, bytes(WIDTH * 8)
    made: list[tuple[Attributes, Timeline | None]] = []
    parent_of: list[int] = []
    # Leaves with the same days and row share one read-only timeline: an import's village rooms
    # mostly open on a few days with a few kinds of counts, and a timeline each was a third of this
    # step's CPU (50,000 leaves, national scale).
    shared: dict[tuple[int, int | None, bytes], SharedTimeline] = {}
    new = SharedTimeline.__new__
    for n, (data, parent_code, opened, closed) in enumerate(leaves):
        row = row_bytes[n * row_size : (n + 1) * row_size]
        timeline = shared.get((opened, closed, row))
        if timeline is None:
            timeline = shared[opened, closed, row] = new(SharedTimeline)
            if closed is None:
                timeline.days, timeline.rows = array("i", (opened,)), array("q", row)
            else:
                timeline.days, timeline.rows = array("i", (opened, closed)), array("q", row + zeros)
        made.append((data, timeline))
        if parent_code is None:
            parent_of.append(-1)
            continue
        parent_of.append(changes.position_in(nodes, parent_code))
    parents = np.array(parent_of, dtype=np.int64)
    opened_on = np.array([leaf[2] for leaf in leaves], dtype=np.int64)
    closed_on = np.array([leaf[3] or 0 for leaf in leaves], dtype=np.int64)
    opening, closing = parents >= 0, (parents >= 0) & (closed_on > 0)
    parents = np.concatenate((parents[opening], parents[closing]))
    days = np.concatenate((opened_on[opening], closed_on[closing]))
    values = np.concatenate((rows[opening], -rows[closing]))
    rank_of = np.array(changes.ranks, dtype=np.int64)[parents]
    _hand_to_levels(pending, rank_of, parents, days, values)
    return made


def _as_rows(values: list[int]) -> Ints:
    """Flat full-width row values as an array of rows (`_TooLarge` when one does not fit 64 bits)."""
    try:
        return np.array(values, dtype=np.int64).reshape(-1, WIDTH)
    except OverflowError:
        raise _TooLarge from None


def _hand_to_levels(
    pending: list[list[tuple[Ints, Ints, Ints]]], rank_of: Ints, divisions: Ints, days: Ints, values: Ints
) -> None:
    """Add changes (`divisions`, `days`, `values`: one entry each) to `pending`, each to the level
    `rank_of` gives it (-1: none, left out)."""
    for rank in np.unique(rank_of[rank_of >= 0]).tolist():
        chosen = rank_of == rank
        pending[rank].append((divisions[chosen], days[chosen], values[chosen]))


def _joined(parts: list[tuple[Ints, Ints, Ints]]) -> tuple[Ints, Ints, Ints]:
    """The (division, day, changes) arrays of several parts, one after the other."""
    if len(parts) == 1:
        return parts[0]
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def _summed_by_day(divisions: Ints, days: Ints, values: Ints) -> tuple[Ints, Ints, Ints]:
    """The changes sorted by division and day, those of one division on one day summed into one."""
    order = np.lexsort((days, divisions))
    divisions, days, values = divisions[order], days[order], values[order]
    if len(divisions) < 2:
        return divisions, days, values
    first = np.flatnonzero(
        np.concatenate(([True], (divisions[1:] != divisions[:-1]) | (days[1:] != days[:-1])))
    )
    if len(first) == len(divisions):
        return divisions, days, values
    return divisions[first], days[first], np.add.reduceat(values, first, axis=0)


def _starts(divisions: Ints) -> Ints:
    """Where each division's run begins in `divisions` (sorted)."""
    if not len(divisions):
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate(([True], divisions[1:] != divisions[:-1])))


DAY_BITS = 22
"""A day (a date's ordinal, at most 3,652,059) fits in this many bits: (division << DAY_BITS) | day
sorts by division, then day."""


def _merged(
    old: list[tuple[array[int], array[int]]], members: list[int], divisions: Ints, days: Ints, totals: Ints
) -> tuple[Ints, Ints, Ints]:
    """Old timelines (days and rows, of `members`, in ascending order) plus the running totals of the changes
    (`divisions`, `days`, `totals`, sorted): for every day of either, the old total on that day plus
    the changes' total on that day, as (division, day, totals) arrays sorted by division and day."""
    lengths = np.array([len(days) for days, _ in old], dtype=np.int64)
    old_days = np.frombuffer(b"".join(days.tobytes() for days, _ in old), dtype=np.intc).astype(np.int64)
    old_rows = np.frombuffer(b"".join(rows.tobytes() for _, rows in old), dtype=np.int64).reshape(-1, WIDTH)
    if len(old_rows) and np.abs(old_rows).max() >= SAFE:
        raise _TooLarge
    old_keys = (np.repeat(np.array(members, dtype=np.int64), lengths) << DAY_BITS) | old_days
    new_keys = (divisions << DAY_BITS) | days
    keys = np.concatenate((old_keys, new_keys))
    keys.sort()
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    merged_divisions = keys >> DAY_BITS
    merged = _at_or_before(old_keys, old_rows, keys, merged_divisions)
    merged += _at_or_before(new_keys, totals, keys, merged_divisions)
    return merged_divisions, keys & ((1 << DAY_BITS) - 1), merged


def _at_or_before(keys: Ints, rows: Ints, wanted: Ints, divisions: Ints) -> Ints:
    """For each of the `wanted` keys, the row of the last of `keys` (sorted) at or before it of the
    same division; zeros where there is none."""
    found = np.searchsorted(keys, wanted, side="right") - 1
    at = np.maximum(found, 0)
    picked = rows[at]
    picked[(found < 0) | ((keys[at] >> DAY_BITS) != divisions)] = 0
    return picked


def _accumulated(values: Ints, starts: Ints) -> Ints:
    """Running totals of per-day changes, started afresh at each division's first row."""
    totals = np.cumsum(values, axis=0)
    before = np.zeros((len(starts), WIDTH), dtype=np.int64)
    before[1:] = totals[starts[1:] - 1]
    lengths = np.diff(np.append(starts, len(values)))
    totals -= np.repeat(before, lengths, axis=0)
    return totals


def _split(
    datas: list[Attributes],
    divisions: Ints,
    days: Ints,
    totals: Ints,
    starts: Ints,
    kept: Mapping[int, tuple[array[int], array[int]]],
) -> list[tuple[Attributes, Timeline | None]]:
    """One `Timeline` per division run of the arrays, paired with the division's attributes, after
    the days and rows `kept` of it (a copy of its old timeline's first ones, to be extended)."""
    day_bytes = days.astype(np.intc).tobytes()
    row_bytes = np.ascontiguousarray(totals).tobytes()
    day_size, row_size = np.dtype(np.intc).itemsize, WIDTH * 8
    ends = np.append(starts[1:], len(divisions)).tolist()
    made: list[tuple[Attributes, Timeline | None]] = []
    new = Timeline.__new__
    for member, start, end in zip(divisions[starts].tolist(), starts.tolist(), ends, strict=True):
        timeline = new(Timeline)
        before = kept.get(member)
        if before is None:
            timeline.days = array("i", day_bytes[start * day_size : end * day_size])
            timeline.rows = array("q", row_bytes[start * row_size : end * row_size])
        else:
            kept_days, kept_rows = before
            kept_days.frombytes(day_bytes[start * day_size : end * day_size])
            kept_rows.frombytes(row_bytes[start * row_size : end * row_size])
            timeline.days, timeline.rows = kept_days, kept_rows
        made.append((datas[member], timeline))
    return made
