"""Divisions through time (spec §6), the pure rules: when a division is valid, what it was called on a
day, where a station sat and whom it reported to on a day, and the division a station counts in on a day.

Nothing here reads a store: callers pass the records and lookups.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TypeVar

from graph_service.domain.model import Division, Placement, ReportingLine

Find = Callable[[str], Division | None]
"""Look a division up by code (None when there is no such division)."""


def is_valid_on(division: Division, day: date) -> bool:
    """Spec §6: (`valid_from` empty or `valid_from ≤ day`) and (`valid_to` empty or `day < valid_to`)."""
    return (division.valid_from is None or division.valid_from <= day) and (
        division.valid_to is None or day < division.valid_to
    )


def valid_on(divisions: Iterable[Division], day: date) -> list[Division]:
    """The divisions of `divisions` valid on `day`, in the order given."""
    return [division for division in divisions if is_valid_on(division, day)]


@dataclass(frozen=True, slots=True)
class DivisionName:
    """One entry of a division's name history: `name` from `valid_from` on (None: from the start)."""

    name: str
    valid_from: date | None = None


def name_on(names: Sequence[DivisionName], day: date) -> str | None:
    """The name a division had on `day`, from its history (entries in any order); None before the first."""
    current: DivisionName | None = None
    for entry in names:
        if entry.valid_from is not None and entry.valid_from > day:
            continue
        if current is None or _starts_before(current.valid_from, entry.valid_from):
            current = entry
    return current.name if current else None


def renamed_history(
    history: Sequence[DivisionName], division: Division, new_name: str, day: date
) -> list[DivisionName]:
    """The name history of `division` after it takes `new_name` from `day` (spec §6): its stored
    `history`, or, when it has none yet, its current name from its `valid_from`; any entry from
    `day` on is replaced (so applying the same rename again changes nothing)."""
    kept = list(history) or [DivisionName(division.name, division.valid_from)]
    kept = [entry for entry in kept if entry.valid_from is None or entry.valid_from < day]
    return [*kept, DivisionName(new_name, day)]


def _starts_before(first: date | None, second: date | None) -> bool:
    """True when a start `first` is strictly earlier than `second` (None is the earliest start)."""
    if second is None:
        return False
    return first is None or first < second


Dated = TypeVar("Dated", Placement, ReportingLine)
"""One entry of a dated history: a placement or a reporting line."""


def entry_on(history: Sequence[Dated], day: date) -> Dated | None:
    """The entry of a dated `history` (oldest first) that holds on `day` (None: none).

    Before its first entry the first one counts (a history starts with `from_` None unless it was
    created by an edition), so the first entry also covers earlier days.
    """
    for entry in history:
        if entry.holds_on(day):
            return entry
    if history and history[0].from_ is not None and day < history[0].from_:
        return history[0]
    return None


def placement_on(placements: Sequence[Placement], day: date) -> str | None:
    """The division code a station sat in on `day`, from its placement history (None: nowhere)."""
    placement = entry_on(placements, day)
    return placement.division_code if placement is not None else None


def parent_on(lines: Sequence[ReportingLine], day: date) -> str | None:
    """The station a station reported to on `day`, from its reporting history (None: nobody)."""
    line = entry_on(lines, day)
    return line.parent_id if line is not None else None


def changed_history(history: Sequence[Dated], opened: Dated, day: date) -> list[Dated]:
    """The dated `history` after its value becomes `opened`'s on `day`: the open entry closes at `day`
    and `opened` follows it, open from `day` (an open entry starting on or after `day` is replaced). A
    history with no open entry, or whose open entry already has that value, is kept as is."""
    if not history or history[-1].to is not None or _same_value(history[-1], opened):
        return list(history)
    *kept, last = history
    if last.from_ is not None and last.from_ >= day:
        return [*kept, replace(opened, from_=last.from_, to=None)]
    return [*kept, replace(last, to=day), replace(opened, from_=day, to=None)]


def _same_value(first: Dated, second: Dated) -> bool:
    """True when two entries differ at most in their dates."""
    return replace(first, from_=None, to=None) == replace(second, from_=None, to=None)


def moved_placements(placements: Sequence[Placement], new_code: str, day: date) -> list[Placement]:
    """The placement history after a move to `new_code` on `day` (`changed_history`)."""
    return changed_history(placements, Placement(new_code), day)


def changed_lines(lines: Sequence[ReportingLine], new_parent: str | None, day: date) -> list[ReportingLine]:
    """The reporting history after the line changes to `new_parent` (None: nobody) on `day`
    (`changed_history`)."""
    return changed_history(lines, ReportingLine(new_parent), day)


@dataclass(frozen=True, slots=True)
class Counting:
    """Where a station counts on a day: it covers `covers` (None: nothing) and is rolled up under
    `rolls_up_under` and its ancestors (None: nowhere)."""

    covers: str | None
    rolls_up_under: str | None


def counting_division(
    code: str, day: date, find: Find, predecessors: Mapping[str, Sequence[str]]
) -> Counting:
    """Spec §6: the division a station sitting in `code` counts in on `day`.

    Valid on `day`: that division. Before its `valid_from`: the predecessor valid on `day`, following
    successor links backwards (`predecessors` maps a code to the codes it succeeded; nearest step
    first, of several the lowest code). None (or after its `valid_to`): it covers nothing but rolls up
    under its nearest ancestor valid on `day`.
    """
    division = find(code)
    if division is None:
        return Counting(None, None)
    if is_valid_on(division, day):
        return Counting(code, code)
    if division.valid_from is not None and day < division.valid_from:
        predecessor = valid_predecessor(code, day, find, predecessors)
        if predecessor is not None:
            return Counting(predecessor, predecessor)
    return Counting(None, nearest_valid_ancestor(division, day, find))


def valid_predecessor(
    code: str, day: date, find: Find, predecessors: Mapping[str, Sequence[str]]
) -> str | None:
    """The predecessor of `code` valid on `day`, searching back step by step (the lowest code of the
    nearest step that has one), or None."""
    seen = {code}
    step = sorted(set(predecessors.get(code, ())) - seen)
    while step:
        valid = [c for c in step if (d := find(c)) is not None and is_valid_on(d, day)]
        if valid:
            return min(valid)
        seen.update(step)
        step = sorted({p for c in step for p in predecessors.get(c, ())} - seen)
    return None


def nearest_valid_ancestor(division: Division, day: date, find: Find) -> str | None:
    """The code of the nearest ancestor of `division` valid on `day` (None when there is none)."""
    seen = {division.code}
    code = division.parent_code
    while code is not None and code not in seen:
        seen.add(code)
        above = find(code)
        if above is None:
            return None
        if is_valid_on(above, day):
            return code
        code = above.parent_code
    return None


def predecessors_of(successors: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Invert successor links (old code -> new codes) into predecessor links (new code -> old codes)."""
    inverted: dict[str, list[str]] = {}
    for old, news in successors.items():
        for new in news:
            inverted.setdefault(new, []).append(old)
    return inverted


def station_counts_in(
    placements: Sequence[Placement], day: date, find: Find, predecessors: Mapping[str, Sequence[str]]
) -> Counting:
    """Where a station with this placement history counts on `day`: the division it sat in that day
    (`placement_on`), through `counting_division`'s predecessor rule."""
    code = placement_on(placements, day)
    return Counting(None, None) if code is None else counting_division(code, day, find, predecessors)
