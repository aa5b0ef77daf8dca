"""The whole of one edition (spec §6) as one pure report: the division plan, the successors read from
the admin's file, the proposal, the station moves and reporting changes, and every refusal. It is
what `--dry-run` shows and what a real import writes (nothing at all when `refused`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from graph_service.domain.editions import AppliedEdition, EditionPlan, apply_plan, plan_edition
from graph_service.domain.model import Division, Station
from graph_service.domain.moves import Move, ReportingChange, Stranded, plan_moves, reporting_changes
from graph_service.domain.successors import Successors, propose_successors, read_successors
from graph_service.domain.validation import Problem


@dataclass(frozen=True, slots=True)
class EditionReport:
    """Everything one edition does, or why it is refused."""

    plan: EditionPlan
    after: dict[str, Division] = field(default_factory=dict)
    successors: Successors = field(default_factory=dict)
    successor_problems: list[Problem] = field(default_factory=list)
    proposed: dict[str, str] = field(default_factory=dict)
    moves: list[Move] = field(default_factory=list)
    reporting: list[ReportingChange] = field(default_factory=list)
    stranded: list[Stranded] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        """True when the edition may not be applied: the file, the successors or a stranded station."""
        return bool(self.plan.problems or self.successor_problems or self.stranded)


def report_edition(
    stored: Mapping[str, Division],
    rows: Sequence[tuple[int, Division]],
    edition: date,
    applied: Mapping[str, AppliedEdition],
    stations: Sequence[Station],
    successors_csv: str | None = None,
    *,
    follow_proposal: bool = False,
    propose: bool = True,
) -> EditionReport:
    """Plan the edition of `edition` from the file's `rows` against the `stored` divisions, the latest
    `applied` editions and the stored `stations`, with the admin's successors CSV text (if any).
    Without one, `follow_proposal` moves the stations to the proposed successors (what a preview shows
    the admin before a successors file is written); otherwise no division has a successor.
    `propose` False leaves the proposal out (`proposed` empty): an edition being applied follows only
    the admin's successors, and the proposal is a quarter of a national apply's CPU time."""
    plan = plan_edition(stored, rows, edition, applied)
    if plan.problems:
        return EditionReport(plan)
    after = apply_plan(stored, (division for _, division in rows), plan)
    successors: Successors = {}
    problems: list[Problem] = []
    proposed = propose_successors(plan.retired, after, edition) if propose or follow_proposal else {}
    if successors_csv is not None:
        successors, problems = read_successors(successors_csv, after.get, edition)
    elif follow_proposal:
        successors = {old: [new] for old, new in proposed.items()}
    retired = [division.code for division in plan.retired]
    moves, stranded = plan_moves(stations, retired, successors, edition)
    return EditionReport(
        plan,
        after=after,
        successors=successors,
        successor_problems=problems,
        proposed=proposed,
        moves=moves,
        reporting=reporting_changes(stations, moves, after.get, edition),
        stranded=stranded,
    )
