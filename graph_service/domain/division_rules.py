"""The rules of spec §2 for division rows: values, parent links (a level above, no cycles), and what
moving a division does to the stations under it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division
from graph_service.domain.problems import NetworkView, Problem
from graph_service.domain.values import code_problem, name_problem, reference_problem

DIVISION_COLUMNS: tuple[str, ...] = ("code", "name", "level", "parent_code")


def parse_division_level(value: str) -> DivisionLevel | None:
    try:
        return DivisionLevel(value.strip().lower())
    except ValueError:
        return None


def validate_divisions(
    rows: Sequence[tuple[int, Mapping[str, str]]], network: NetworkView
) -> tuple[list[Division], list[Problem]]:
    """Check division rows against spec §2 and the stored network; return the divisions and all problems."""
    problems: list[Problem] = []
    parsed: dict[str, tuple[int, Division]] = {}
    for row, values in rows:
        code, name = values["code"], values["name"]
        level = parse_division_level(values["level"])
        ok = True
        field_problems = division_field_problems(code, name, row)
        if field_problems:
            problems.extend(field_problems)
            ok = False
        elif code in parsed:
            problems.append(Problem(row, "code", f"duplicate code {code!r} (first on row {parsed[code][0]})"))
            ok = False
        parent_code = values["parent_code"]
        if parent_code and (message := reference_problem("parent_code", parent_code)) is not None:
            problems.append(Problem(row, "parent_code", message))
            ok = False
        if level is None:
            problems.append(
                Problem(
                    row,
                    "level",
                    f"unknown level {values['level']!r}; expected one of " + ", ".join(DivisionLevel),
                )
            )
            ok = False
        if ok and level is not None:
            stored = network.division(code)
            if stored is not None and stored.level != level:
                problems.append(
                    Problem(
                        row,
                        "level",
                        f"division {code} is stored as a {stored.level}; "
                        "changing the level of a stored division is not supported",
                    )
                )
            parsed[code] = (row, Division(code, name, level, values["parent_code"] or None))

    def find(code: str) -> Division | None:
        entry = parsed.get(code)
        return entry[1] if entry else network.division(code)

    for row, division in parsed.values():
        message = parent_problem(division, find)
        if message is not None:
            problems.append(Problem(row, "parent_code", message))
    problems.extend(_cycle_problems(parsed, find))
    if not problems:
        problems.extend(_moved_station_problems(parsed, find, network))
    problems.sort(key=lambda problem: problem.row)
    return [division for _, division in parsed.values()], problems


def division_field_problems(code: str, name: str, row: int) -> list[Problem]:
    """The value rules of spec §7 for a division's code and (trimmed) name."""
    problems = []
    if (message := code_problem("code", code)) is not None:
        problems.append(Problem(row, "code", message))
    if (message := name_problem(name)) is not None:
        problems.append(Problem(row, "name", message))
    return problems


def division_problems(division: Division, row: int = 0) -> list[Problem]:
    """Every rule one stored division must meet on its own (§7 values; parent code plain text)."""
    problems = division_field_problems(division.code, division.name, row)
    parent_code = division.parent_code
    if parent_code is not None and (message := reference_problem("parent_code", parent_code)) is not None:
        problems.append(Problem(row, "parent_code", message))
    return problems


def parent_problem(division: Division, find: Callable[[str], Division | None]) -> str | None:
    """What is wrong with a division's parent link (spec §2), or None when it is right."""
    parent_code = division.parent_code
    if division.level is DivisionLevel.PROVINCE:
        return "a province has no parent; leave parent_code empty" if parent_code is not None else None
    if parent_code is None:
        return f"a {division.level} needs a parent_code"
    parent = find(parent_code)
    if parent is None:
        return f"unknown parent {parent_code!r}: it is neither in the file nor stored"
    if parent.level.rank >= division.level.rank:
        return f"parent {parent_code} is a {parent.level}, not a level above {division.level}"
    return None


def _moved_station_problems(
    parsed: Mapping[str, tuple[int, Division]], find: Callable[[str], Division | None], network: NetworkView
) -> Iterator[Problem]:
    """A `Problem` for each stored station that a division's move would leave reporting to a station
    that is no longer in an ancestor of its division (spec §1)."""
    for row, division in parsed.values():
        stored = network.division(division.code)
        if stored is None or stored.parent_code == division.parent_code:
            continue
        above_after_move = set(codes_above(division.code, find))
        for station in network.stations_below(division.code):
            parent = network.station(station.parent_id) if station.parent_id else None
            if parent is None or parent.division_code in above_after_move:
                continue
            if division.code in codes_above(parent.division_code, network.division):
                continue  # both inside the moved subtree: the move keeps them in line
            if parent.division_code == division.code:
                continue
            yield Problem(
                row,
                "parent_code",
                f"moving {division.code} under {division.parent_code} would leave station {station.id} "
                f"reporting to {parent.id}, which sits in {parent.division_code}, no longer above it",
            )


def codes_above(code: str, find: Callable[[str], Division | None]) -> list[str]:
    """The codes above division `code`, nearest first (stops at an unknown code or a cycle)."""
    above: list[str] = []
    division = find(code)
    while division is not None and division.parent_code is not None and division.parent_code not in above:
        above.append(division.parent_code)
        division = find(division.parent_code)
    return above


def _cycle_problems(
    parsed: Mapping[str, tuple[int, Division]], find: Callable[[str], Division | None]
) -> Iterator[Problem]:
    """A `Problem` for each distinct cycle of parent links that passes through the file's rows."""
    settled: set[str] = set()
    for start in parsed:
        path: list[str] = []
        on_path: set[str] = set()
        code: str | None = start
        while code is not None and code not in settled and code not in on_path:
            path.append(code)
            on_path.add(code)
            division = find(code)
            code = division.parent_code if division else None
        if code is not None and code in on_path:
            cycle = path[path.index(code) :] + [code]
            first_row = min(parsed[c][0] for c in cycle if c in parsed)
            yield Problem(first_row, "parent_code", "the parent links form a cycle: " + " → ".join(cycle))
        settled.update(path)
