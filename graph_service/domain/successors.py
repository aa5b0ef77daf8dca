"""Successors of retired divisions (spec §6): the `old_code,new_code` CSV, read and checked with
row-numbered problems, and the proposal the dry run offers (same level, same name seen through a
change of administrative suffix, under the nearest ancestor that survives). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date

from graph_service.domain.model import Division
from graph_service.domain.validation import Problem, code_problem, codes_above, read_csv_rows
from graph_service.domain.validity import is_valid_on

SUCCESSOR_COLUMNS: tuple[str, ...] = ("old_code", "new_code")

Successors = dict[str, list[str]]
"""Old code -> its successors' codes, in the order the file lists them (the first is where stations go)."""


def read_successors(
    text: str, find: Callable[[str], Division | None], day: date
) -> tuple[Successors, list[Problem]]:
    """Read a successors CSV for the edition of `day`: every `old_code` a division retired on `day`,
    every `new_code` a division of the same level valid on `day` (`find` looks codes up in the
    divisions as they are after the edition, so running the edition again with the same files reads
    the same links). Returns the links and every problem, by row."""
    rows, problems = read_csv_rows(text, SUCCESSOR_COLUMNS)
    successors: Successors = {}
    first_row: dict[tuple[str, str], int] = {}
    for row, values in rows:
        old_code, new_code = values["old_code"], values["new_code"]
        row_problems = [
            Problem(row, column, message)
            for column, value in (("old_code", old_code), ("new_code", new_code))
            if (message := code_problem(column, value)) is not None
        ]
        if not row_problems:
            row_problems = _link_problems(row, old_code, new_code, find, day)
        if not row_problems and (old_code, new_code) in first_row:
            message = (
                f"{old_code} → {new_code} is listed twice (first on row {first_row[old_code, new_code]})"
            )
            row_problems = [Problem(row, None, message)]
        problems.extend(row_problems)
        if not row_problems:
            first_row[old_code, new_code] = row
            successors.setdefault(old_code, []).append(new_code)
    return successors, problems


def _link_problems(
    row: int,
    old_code: str,
    new_code: str,
    find: Callable[[str], Division | None],
    day: date,
) -> list[Problem]:
    """What is wrong with one successor link `old_code → new_code` (empty when nothing)."""
    old, new = find(old_code), find(new_code)
    problems = []
    if old is None:
        problems.append(Problem(row, "old_code", f"unknown division {old_code!r}"))
    elif old.valid_to != day:
        message = f"division {old_code} {old.name} is not retired by the edition of {day}"
        problems.append(Problem(row, "old_code", message))
    if new is None:
        problems.append(Problem(row, "new_code", f"unknown division {new_code!r}"))
    elif not is_valid_on(new, day):
        problems.append(Problem(row, "new_code", f"division {new_code} {new.name} is not valid on {day}"))
    elif old is not None and new.level is not old.level:
        message = f"{new_code} {new.name} is a {new.level}, but {old_code} {old.name} is a {old.level}"
        problems.append(Problem(row, "new_code", message))
    return problems


def successor_rows(successors: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    """The rows of a successors CSV (after the header `SUCCESSOR_COLUMNS`), by old code then as listed.
    Writing them is the entry point's job (with its spreadsheet-safe CSV helper)."""
    return [(old, new) for old in sorted(successors) for new in successors[old]]


# --- the proposal --------------------------------------------------------------------------------

# Administrative suffixes (and the ethnic groups named in autonomous counties and ethnic townships),
# stripped repeatedly from the end of a name, longest first, to find the name they qualify.
_SUFFIXES = (
    "村民委员会", "居民委员会", "社区居委会", "街道办事处", "委员会", "村委会", "居委会", "办事处",
    "自治州", "自治县", "民族乡", "社区", "街道", "特区", "地区", "林区", "新区",
    "村", "居", "镇", "乡", "县", "区", "市", "州", "盟", "旗",
    "布依族", "仡佬族", "土家族", "毛南族", "蒙古族", "苗族", "侗族", "彝族", "水族", "回族", "白族",
    "瑶族", "壮族", "满族",
)  # fmt: skip
_SUFFIX_PATTERN = re.compile("(?:" + "|".join(sorted(_SUFFIXES, key=len, reverse=True)) + ")$")


def name_core(name: str) -> str:
    """`name` without its administrative suffixes: 水城县 and 水城区 → 水城, 党武镇 and 党武街道 → 党武,
    某某村委会 and 某某村村民委员会 → 某某. Never empty: a name that is all suffix stays as it is."""
    core = name.strip()
    while (found := _SUFFIX_PATTERN.search(core)) is not None and found.start() > 0:
        core = core[: found.start()]
    return core


def propose_successors(
    retired: Sequence[Division], after: Mapping[str, Division], day: date
) -> dict[str, str]:
    """A proposed successor for each retired division that has one (old code -> new code): the
    division valid on `day` of the same level and the same name (seen through suffix changes) under
    the nearest ancestor that survives, an ancestor retired too standing for its proposed successor.
    Of several, the one with the very same name; still several: none (the admin decides).
    `after` holds every division by code as it is after the edition (the retired ones included)."""
    index: dict[tuple[str, str], list[Division]] = {}
    for division in after.values():
        if is_valid_on(division, day):
            index.setdefault((division.level, name_core(division.name)), []).append(division)
    proposed: dict[str, str] = {}
    ancestors: dict[str, frozenset[str]] = {}

    def above(code: str) -> frozenset[str]:
        """The codes above `code`, worked out once per candidate (common names, such as 新村, have
        thousands of candidates nationally, each asked about for every retired namesake)."""
        found = ancestors.get(code)
        if found is None:
            found = ancestors[code] = frozenset(codes_above(code, after.get))
        return found

    for old in sorted(retired, key=lambda d: (d.level.rank, d.code)):
        candidates = index.get((old.level, name_core(old.name)), [])
        choice = _choose(old, candidates, after, proposed, day, above) if candidates else None
        if choice is not None:
            proposed[old.code] = choice
    return proposed


def _choose(
    old: Division,
    candidates: Sequence[Division],
    after: Mapping[str, Division],
    proposed: Mapping[str, str],
    day: date,
    above: Callable[[str], frozenset[str]],
) -> str | None:
    """The candidate under the nearest surviving scope above `old` (see `propose_successors`);
    `above` gives the codes above a candidate."""
    for scope in _scopes(old, after, proposed, day):
        inside = [c for c in candidates if scope in above(c.code)]
        if len(inside) > 1:
            inside = [c for c in inside if c.name == old.name]
        if len(inside) == 1:
            return inside[0].code
        if inside:
            return None
    return None


def _scopes(
    old: Division, after: Mapping[str, Division], proposed: Mapping[str, str], day: date
) -> Iterable[str]:
    """The ancestors of `old`, nearest first, each as itself when valid on `day`, else as its proposed
    successor (an ancestor retired with no proposal is skipped)."""
    for code in codes_above(old.code, after.get):
        ancestor = after[code]
        if is_valid_on(ancestor, day):
            yield code
        elif code in proposed:
            yield proposed[code]
