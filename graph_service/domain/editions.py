"""Edition planning (spec §6): what importing a division table as *the complete table, as of D* does.

`plan_edition` compares the file's divisions with the stored ones under the provinces the file holds
and returns the divisions created (valid from D), retired (valid to D) and renamed (new name from D),
or the refusals of §6, each naming the rows. `apply_plan` gives the divisions after the plan. Pure.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division
from graph_service.domain.validation import Problem
from graph_service.domain.validity import is_valid_on


@dataclass(frozen=True, slots=True)
class AppliedEdition:
    """The latest edition applied to one province: its date and the digest of the province's rows."""

    day: date
    digest: str


@dataclass(frozen=True, slots=True)
class Renaming:
    """A code whose name changes from the edition's date on (`row` is the file's row)."""

    code: str
    old_name: str
    new_name: str
    row: int


@dataclass(frozen=True, slots=True)
class Reparenting:
    """A code kept by the edition whose parent differs in the file: a correction, not a dated change."""

    code: str
    old_parent: str | None
    new_parent: str | None
    row: int


@dataclass(frozen=True, slots=True)
class EditionPlan:
    """What applying one edition does; when `problems` is not empty it is refused and does nothing."""

    edition: date
    applied: dict[str, AppliedEdition] = field(default_factory=dict)
    created: list[Division] = field(default_factory=list)
    retired: list[Division] = field(default_factory=list)
    renamed: list[Renaming] = field(default_factory=list)
    reparented: list[Reparenting] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def changes_nothing(self) -> bool:
        """True when applying the plan would change no division."""
        return not (self.created or self.retired or self.renamed or self.reparented)


def province_of(
    code: str, find: Callable[[str], Division | None], known: dict[str, str | None] | None = None
) -> str | None:
    """The code of the province above (or at) division `code`, or None when the chain breaks. `known`
    remembers the answer for every code on the way up, so a whole table costs one walk per code."""
    known = {} if known is None else known
    chain: list[str] = []
    current: str | None = code
    province: str | None = None
    while current is not None and current not in chain:
        if current in known:
            province = known[current]
            break
        chain.append(current)
        division = find(current)
        if division is None:
            break
        if division.level is DivisionLevel.PROVINCE:
            province = current
            break
        current = division.parent_code
    known.update(dict.fromkeys(chain, province))
    return province


def edition_digest(divisions: Iterable[Division]) -> str:
    """A digest of a province's rows (code, name, level, parent), independent of their order: the same
    table gives the same digest however the file orders or quotes it."""
    lines = sorted(f"{d.code}\t{d.name}\t{d.level}\t{d.parent_code or ''}" for d in divisions)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def plan_edition(
    stored: Mapping[str, Division],
    rows: Sequence[tuple[int, Division]],
    edition: date,
    applied: Mapping[str, AppliedEdition],
) -> EditionPlan:
    """Plan importing `rows` (row number, division) as the complete table as of `edition` for every
    province they hold, against the `stored` divisions (by code, with validity) and the latest
    `applied` edition of each province. Refusals come back as `problems` with an empty plan."""
    by_code = {division.code: (row, division) for row, division in rows}

    def find(code: str) -> Division | None:
        entry = by_code.get(code)
        return entry[1] if entry else stored.get(code)

    provinces = _file_provinces(rows, find)
    by_province: dict[str, list[Division]] = {}
    for _, division in rows:
        if (province := provinces.get(division.code)) is not None:
            by_province.setdefault(province, []).append(division)
    digests = {province: edition_digest(divisions) for province, divisions in by_province.items()}
    problems = _order_problems(rows, provinces, digests, edition, applied)
    if problems:
        return EditionPlan(edition, problems=problems)
    new_applied = {province: AppliedEdition(edition, digest) for province, digest in digests.items()}
    if all(applied.get(p) == new_applied[p] for p in new_applied):
        return EditionPlan(edition, applied=new_applied)
    plan = EditionPlan(edition, applied=new_applied)
    for row, division in rows:
        _plan_row(row, division, stored.get(division.code), plan)
    plan.retired.extend(_retired(stored, by_code, set(digests), edition))
    plan.problems.sort(key=lambda problem: problem.row)
    if plan.problems:
        return EditionPlan(edition, problems=plan.problems)
    return plan


def _file_provinces(
    rows: Sequence[tuple[int, Division]], find: Callable[[str], Division | None]
) -> dict[str, str]:
    """The province of each of the file's codes (codes whose chain breaks are left out)."""
    provinces: dict[str, str] = {}
    known: dict[str, str | None] = {}
    for _, division in rows:
        province = province_of(division.code, find, known)
        if province is not None:
            provinces[division.code] = province
    return provinces


def _order_problems(
    rows: Sequence[tuple[int, Division]],
    provinces: Mapping[str, str],
    digests: Mapping[str, str],
    edition: date,
    applied: Mapping[str, AppliedEdition],
) -> list[Problem]:
    """The refusals of editions out of order: dated before a province's latest applied edition, or
    the latest edition run again with another file. Each names the province's first row."""
    first_row: dict[str, int] = {}
    for row, division in rows:
        province = provinces.get(division.code)
        if province is not None:
            first_row.setdefault(province, row)
    problems = []
    for province, digest in sorted(digests.items()):
        latest = applied.get(province)
        if latest is None:
            continue
        if edition < latest.day:
            message = (
                f"province {province} already has the edition of {latest.day}; an edition dated "
                f"{edition} is older: apply editions in date order"
            )
            problems.append(Problem(first_row[province], None, message))
        elif edition == latest.day and digest != latest.digest:
            message = (
                f"province {province} already has an edition of {edition} from another file; "
                "running an edition again is allowed only with the same file"
            )
            problems.append(Problem(first_row[province], None, message))
    return problems


def _plan_row(row: int, division: Division, stored: Division | None, plan: EditionPlan) -> None:
    """Add what one row of the file does to `plan`: create, rename, re-parent, or a refusal."""
    day = plan.edition
    if stored is None:
        plan.created.append(dataclasses.replace(division, valid_from=day, valid_to=None))
        return
    if stored.level is not division.level:
        message = (
            f"division {division.code} is stored as a {stored.level}; "
            f"an edition may not change it to a {division.level}"
        )
        plan.problems.append(Problem(row, "level", message))
        return
    if stored.valid_to is not None and stored.valid_to <= day:
        message = (
            f"division {division.code} {stored.name} was retired on {stored.valid_to}; "
            "a retired code may not reappear"
        )
        plan.problems.append(Problem(row, "code", message))
        return
    if stored.valid_from is not None and day < stored.valid_from:
        message = f"division {division.code} is valid only from {stored.valid_from}, after {day}"
        plan.problems.append(Problem(row, "code", message))
        return
    if stored.name != division.name:
        plan.renamed.append(Renaming(division.code, stored.name, division.name, row))
    if stored.parent_code != division.parent_code:
        plan.reparented.append(Reparenting(division.code, stored.parent_code, division.parent_code, row))


def _retired(
    stored: Mapping[str, Division],
    in_file: Mapping[str, object],
    provinces: set[str],
    edition: date,
) -> list[Division]:
    """The stored divisions valid on `edition` under one of `provinces` and absent from the file, with
    `valid_to` set to the edition's date, by code."""
    known: dict[str, str | None] = {}
    return [
        dataclasses.replace(division, valid_to=edition)
        for code, division in sorted(stored.items())
        if code not in in_file
        and is_valid_on(division, edition)
        and province_of(code, stored.get, known) in provinces
    ]


def apply_plan(
    stored: Mapping[str, Division], rows: Iterable[Division], plan: EditionPlan
) -> dict[str, Division]:
    """The divisions by code after `plan` (made from the file's `rows`) is applied to `stored`: created
    added, retired given `valid_to`, kept codes given the file's name and parent. A refused plan
    changes nothing."""
    after = dict(stored)
    if plan.problems:
        return after
    for division in plan.created:
        after[division.code] = division
    for division in plan.retired:
        after[division.code] = division
    changed = {r.code for r in plan.renamed} | {r.code for r in plan.reparented}
    for division in rows:
        if division.code in changed:
            kept = after[division.code]
            after[division.code] = dataclasses.replace(
                kept, name=division.name, parent_code=division.parent_code
            )
    return after
