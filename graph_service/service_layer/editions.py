"""Previewing and applying an edition of the division table (spec §6, `seed divisions FILE --edition D
[--dry-run]`, GraphQL `importDivisions(csv, edition)`).

`preview_edition` checks the file as a plain import does, then plans the edition with the domain
rules (`domain.edition_report`) over a `Snapshot` of the stored network (divisions with their
validity) and the latest edition applied to each province, and says what would be created, retired
and renamed, which stations would move, the reporting lines that changes, the proposed successors,
and every refusal. It writes nothing. `apply_stored_edition` makes the same report and, unless it
refuses, writes exactly what it lists, with the editions applied, in one transaction.

Applying moves the stations of each retired division that have not closed by the edition's date to
its first listed successor from that date (placement history), and re-parents the stations whose
reporting line the moves break, in the same transaction; a retired division holding such stations
and no successor is refused, naming the divisions and their stations.

May import: the domain, the engine's value types and the service layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from graph_service.domain.edition_report import EditionReport, report_edition
from graph_service.domain.editions import AppliedEdition, Renaming
from graph_service.domain.model import Division, Station
from graph_service.domain.moves import Stranded, moved_records
from graph_service.domain.validation import (
    DIVISION_COLUMNS,
    Problem,
    codes_above,
    validate_divisions,
)
from graph_service.domain.validity import DivisionName, renamed_history
from graph_service.domain.write_basis import EditionBasis
from graph_service.ports import WriteBasis
from graph_service.service_layer.auth import Principal
from graph_service.service_layer.base import store_busy_is_unavailable
from graph_service.service_layer.importing import ImportProgress, ImportReport, decoded_csv, read_rows
from graph_service.service_layer.services import NetworkService


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The stored network at one data version: every division by code and every station. It answers
    the questions a division file's validation asks of the stored network (`NetworkView`)."""

    divisions: Mapping[str, Division]
    stations: Sequence[Station]
    version: int = 0
    _by_id: dict[str, Station] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update((station.id, station) for station in self.stations)

    @classmethod
    def of(cls, divisions: Iterable[Division], stations: Iterable[Station], version: int = 0) -> Snapshot:
        """A snapshot of these divisions and stations."""
        return cls({d.code: d for d in divisions}, list(stations), version)

    def division(self, code: str) -> Division | None:
        """The stored division `code`, or None."""
        return self.divisions.get(code)

    def station(self, station_id: str) -> Station | None:
        """The stored station `station_id`, or None."""
        return self._by_id.get(station_id)

    def stations_reporting_to(self, station_id: str) -> list[Station]:
        """The stored stations whose parent is `station_id`."""
        return [station for station in self.stations if station.parent_id == station_id]

    def stations_below(self, code: str) -> list[Station]:
        """The stored stations sitting in division `code` or anywhere below it."""
        return [
            station
            for station in self.stations
            if station.division_code == code or code in codes_above(station.division_code, self.division)
        ]


def snapshot_of(service: NetworkService) -> Snapshot:
    """The network `service` holds, read at one data version."""
    views = service.views
    with views.consistent() as version:
        return Snapshot.of(views.division_records(), views.station_records(), version)


@dataclass(frozen=True, slots=True)
class EditionPreview:
    """What importing a division file as the edition of `edition` would do, or why it is refused.

    `file_problems` are the division file's own (row-numbered, as a plain import reports them); when
    there are any, `report` is None. Otherwise `report` holds the plan, the proposal and the moves: to
    the admin's successors when `successors_given`, else to the proposed ones (a preview of accepting
    the proposal)."""

    edition: date
    file_problems: list[Problem]
    report: EditionReport | None
    successors_given: bool
    stations: Mapping[str, Station] = field(default_factory=dict)
    """The stored stations by id (for the names of those the report lists)."""
    applying: bool = False
    """True for the report of an edition being applied (a stranded station is then a refusal)."""
    rows: int = 0
    """The data rows of the division file."""

    @property
    def division_problems(self) -> list[Problem]:
        """Every refusal that names a row of the division file."""
        return self.file_problems + (self.report.plan.problems if self.report else [])

    @property
    def successor_problems(self) -> list[Problem]:
        """Every refusal that names a row of the successors file."""
        return self.report.successor_problems if self.report else []

    @property
    def stranded(self) -> list[Stranded]:
        """Retired divisions holding stations that have not closed by the edition's date, and no
        successor for them to move to (in the successors file, or proposed when none is given)."""
        return self.report.stranded if self.report else []

    @property
    def refused(self) -> bool:
        """True when the edition, with the successors given, would be refused. In a preview without
        a successors file a stranded station is no refusal yet: the admin is still to write that file."""
        return bool(
            self.division_problems
            or self.successor_problems
            or ((self.successors_given or self.applying) and self.stranded)
        )


def preview_edition(
    snapshot: Snapshot,
    data: bytes | str,
    edition: date,
    successors: bytes | str | None = None,
    applied: Mapping[str, AppliedEdition] | None = None,
    *,
    applying: bool = False,
) -> EditionPreview:
    """Preview importing the division file `data` as the complete table as of `edition` for every
    province it holds, over the stored network `snapshot` (divisions with their validity) and the
    latest `applied` edition of each province, with the admin's successors file `successors`
    (`old_code,new_code`) if any. `applying`: the report of the edition about to be applied (no
    station follows a proposed successor then: only the admin's; so no proposal is made)."""
    rows, problems = read_rows(data, DIVISION_COLUMNS)
    divisions: list[Division] = []
    if rows:
        divisions, row_problems = validate_divisions(rows, snapshot)
        problems = sorted(problems + row_problems, key=lambda problem: problem.row)
    if problems or not rows:
        return EditionPreview(edition, problems, None, successors is not None)
    by_code = {division.code: division for division in divisions}
    numbered = [(row, by_code[values["code"]]) for row, values in rows]
    successors_text: str | None = None
    successor_problems: list[Problem] = []
    if successors is not None:
        successors_text, successor_problems = decoded_csv(successors)
    report = report_edition(
        snapshot.divisions,
        numbered,
        edition,
        applied or {},
        snapshot.stations,
        successors_text,
        follow_proposal=successors is None and not applying,
        propose=not applying,
    )
    if successor_problems:  # the successors file could not be read as text at all
        report = replace(report, successor_problems=successor_problems + report.successor_problems)
    stations = {station.id: station for station in snapshot.stations}
    return EditionPreview(edition, [], report, successors is not None, stations, applying, len(rows))


def preview_stored_edition(
    service: NetworkService,
    principal: Principal | None,
    data: bytes | str,
    edition: date,
    successors: bytes | str | None = None,
) -> EditionPreview:
    """`preview_edition` over the network `service` holds, for a `principal` who may write divisions
    (checked first)."""
    service.check_division_write(principal)
    return preview_edition(snapshot_of(service), data, edition, successors, _applied(service))


@dataclass(frozen=True, slots=True)
class EditionResult:
    """An edition applied (`written`: the divisions written, 0 when it changed nothing) or refused
    (`applied` False; `preview` says why)."""

    preview: EditionPreview
    applied: bool
    written: int = 0


def apply_stored_edition(
    service: NetworkService,
    principal: Principal | None,
    data: bytes | str,
    edition: date,
    successors: bytes | str | None = None,
    *,
    follow: bool = True,
    progress: ImportProgress | None = None,
) -> EditionResult:
    """Apply the division file `data` as the edition of `edition` (spec §6) to the network `service`
    holds, for a `principal` who may write divisions (checked first): the report `preview_edition`
    makes, and unless it refuses, its created divisions (valid from `edition`), retired ones (valid
    until it) and renamed and re-parented ones written in one transaction with the editions now
    applied, the renamed ones' name histories, the admin's `successors` links (CSV
    `old_code,new_code`), and the stations it moves and re-parents (`domain.moves.moved_records`).
    Running the latest edition again with the same file writes nothing.
    `follow` and `progress` as for a plain import."""
    service.check_division_write(principal)
    snapshot = snapshot_of(service)
    applied = _applied(service)
    preview = preview_edition(snapshot, data, edition, successors, applied, applying=True)
    report = preview.report
    if report is None or preview.refused:
        return EditionResult(preview, False)
    to_write = edition_records(report)
    moved = moved_records(preview.stations, report.moves, report.reporting, edition)
    if not to_write and not moved and all(applied.get(p) == e for p, e in report.plan.applied.items()):
        return EditionResult(preview, True)
    problems = service.write_edition_divisions(
        principal,
        to_write,
        report.plan.applied,
        {r.code: r.row for r in report.plan.reparented},
        names=_renamed_histories(service, snapshot, report.plan.renamed, edition),
        successors=report.successors,
        stations=moved,
        basis=edition_basis(snapshot, report, applied),
        follow=follow,
        progress=progress,
    )
    if problems:
        return EditionResult(replace(preview, file_problems=problems), False)
    return EditionResult(preview, True, len(to_write))


def edition_basis(
    snapshot: Snapshot, report: EditionReport, applied: Mapping[str, AppliedEdition]
) -> WriteBasis:
    """What the edition `report` plans was checked against: `snapshot` (its data version, its stations)
    and the `applied` editions of its provinces; what the plan relied on is what it retires, its
    successors and their lines, and the stations it moves or re-parents and those reporting to them."""
    divisions = {d.code for d in report.plan.retired}
    for news in report.successors.values():
        for code in news:
            divisions.add(code)
            divisions.update(codes_above(code, report.after.get))
    stations = {move.station_id for move in report.moves} | {change.station_id for change in report.reporting}
    stations |= {s.id for moved in list(stations) for s in snapshot.stations_reporting_to(moved)}
    basis = EditionBasis(
        {province: applied.get(province) for province in report.plan.applied},
        frozenset(divisions),
        frozenset(stations),
        snapshot.station,
    )
    return WriteBasis(snapshot.version, basis.conflicts)


def division_links(service: NetworkService, code: str) -> tuple[list[str], list[str]]:
    """The codes of the successors (in the admin's order) and predecessors (by code) of `code`."""
    with store_busy_is_unavailable():
        successors, predecessors = service.store.division_links([code])
    return successors.get(code, []), predecessors.get(code, [])


def edition_import_report(preview: EditionPreview, applied: bool) -> ImportReport:
    """An edition as the import report of `importDivisions`: `created` the divisions it creates,
    `updated` those it retires, renames or re-parents, `unchanged` the file's other rows; `errors`
    every refusal (a retired division holding open stations is named on row 1, the file as a whole)."""
    errors = list(preview.division_problems) + list(preview.successor_problems)
    if preview.refused:
        errors += [Problem(1, None, str(stranded)) for stranded in preview.stranded]
    report = preview.report
    if report is None or errors:
        return ImportReport(applied=False, errors=sorted(errors, key=lambda problem: problem.row))
    plan = report.plan
    changed = {r.code for r in plan.renamed} | {r.code for r in plan.reparented}
    return ImportReport(
        applied=applied,
        created=len(plan.created),
        updated=len(changed | {d.code for d in plan.retired}),
        unchanged=preview.rows - len(plan.created) - len(changed),
    )


def edition_records(report: EditionReport) -> list[Division]:
    """The divisions an edition writes: created, retired, and those renamed or re-parented (as the
    plan leaves them), by code."""
    plan = report.plan
    codes = {d.code for d in plan.created} | {d.code for d in plan.retired}
    codes |= {r.code for r in plan.renamed} | {r.code for r in plan.reparented}
    return [report.after[code] for code in sorted(codes)]


def _renamed_histories(
    service: NetworkService, snapshot: Snapshot, renamed: Sequence[Renaming], edition: date
) -> dict[str, list[DivisionName]]:
    """The dated name history of each division an edition renames, after it (spec §6)."""
    if not renamed:
        return {}
    with store_busy_is_unavailable():
        stored = service.store.division_names([r.code for r in renamed])
    return {
        r.code: renamed_history(stored.get(r.code, []), snapshot.divisions[r.code], r.new_name, edition)
        for r in renamed
    }


def division_names(service: NetworkService, division: Division) -> list[DivisionName]:
    """The dated names of `division`, oldest first: its stored history, or its one name since its
    `valid_from` when no edition has renamed it."""
    with store_busy_is_unavailable():
        stored = service.store.division_names([division.code])
    return stored.get(division.code) or [DivisionName(division.name, division.valid_from)]


def _applied(service: NetworkService) -> dict[str, AppliedEdition]:
    """The latest edition applied to each province, as the store has them."""
    with store_busy_is_unavailable():
        return service.store.applied_editions()
