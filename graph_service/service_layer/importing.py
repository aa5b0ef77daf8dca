"""Importing station and division files: validated whole (every bad row reported), access-checked,
then upserted in one transaction (or nothing), with progress and dry runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from graph_service.domain.audit import IMPORT_OPERATION
from graph_service.domain.editions import AppliedEdition
from graph_service.domain.model import Division, Station
from graph_service.domain.validation import (
    DIVISION_COLUMNS,
    STATION_COLUMNS,
    Problem,
    codes_above,
    decode_csv_bytes,
    read_csv_rows,
    validate_divisions,
    validate_stations,
)
from graph_service.domain.validity import DivisionName
from graph_service.domain.write_basis import divisions_unchanged
from graph_service.engine import PartialNetwork
from graph_service.ports import Changes, ConflictError, Progress, WriteBasis
from graph_service.service_layer.auth import Principal
from graph_service.service_layer.base import ServiceBase, excess_message, store_busy_is_unavailable
from graph_service.service_layer.errors import Conflict
from graph_service.service_layer.syncing import WriteScope

ImportProgress = Callable[[int, int], None]
"""Told how an import's write goes: (rows written so far, rows to write), once with 0 before the first
batch and then after each batch. Not called when nothing is to be written (a dry run, an unchanged file)."""


@dataclass(slots=True)
class ImportReport:
    """What an import did (or, on a dry run or a rejected file, would have done)."""

    applied: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[Problem] = field(default_factory=list)


class Imports(ServiceBase):
    """The file imports."""

    def import_stations(
        self,
        principal: Principal | None,
        data: bytes | str,
        *,
        dry_run: bool = False,
        follow: bool = True,
        progress: ImportProgress | None = None,
    ) -> ImportReport:
        """Validate a whole station file, then upsert it by id in one transaction (or report why not).

        `follow=False` leaves the engine behind the store (for a one-shot command that exits after).
        `progress` follows the write batch by batch. Who may write at all is checked before the file
        is read; an editor's scope once its rows are known. An engine holding only the part of the
        network the file names (`syncing.load_engine_around`, from `station_file_scope`) whose bound
        on the roll-ups cannot clear the file's sums makes way for the whole network first.
        """
        try:
            return self._import_stations(principal, data, dry_run, follow, progress)
        except PartialNetwork:
            self.load_whole_network()
            return self._import_stations(principal, data, dry_run, follow, progress)

    def _import_stations(
        self,
        principal: Principal | None,
        data: bytes | str,
        dry_run: bool,
        follow: bool,
        progress: ImportProgress | None,
    ) -> ImportReport:
        self.check_writer(principal)
        read_at = self.engine.version
        rows, problems = read_rows(data, STATION_COLUMNS)
        if problems and not rows:
            return ImportReport(errors=problems)
        stations, row_problems = validate_stations(rows, self.engine)
        stations = [station.keeping_history(self.engine.station(station.id)) for station in stations]
        problems = sorted(problems + row_problems, key=lambda problem: problem.row)
        row_of = {values["id"]: row for row, values in rows}
        del rows  # the records are all that is needed from here on
        if problems:
            return ImportReport(errors=problems)
        touched = [s.division_code for s in stations]
        touched += [old.division_code for s in stations if (old := self.engine.station(s.id)) is not None]
        self.check_station_write(principal, touched)
        report, changed = _compare(stations, lambda s: self.engine.station(s.id), Station.same_content)
        problems = self._sum_problems(changed, row_of)
        if problems:
            return ImportReport(errors=problems)
        # A stored row left out at load (it broke the rules) is replaced: an update of its version.
        stored = {new.id: self.engine.left_out_version(new.id) for new, old in changed if old is None}
        left_out = {station_id: version for station_id, version in stored.items() if version is not None}
        report.created -= len(left_out)
        report.updated += len(left_out)
        to_write = [
            new.with_version(old.version + 1 if old else left_out.get(new.id, 0) + 1) for new, old in changed
        ]
        expected = {new.id: old.version if old else left_out.get(new.id) for new, old in changed}
        basis = self._station_basis(read_at, to_write, [old.division_code for _, old in changed if old])

        def write() -> Changes:
            pairs = [(new, old) for new, (_, old) in zip(to_write, changed, strict=True)]
            trail = self._trail(principal, self._station_changes(IMPORT_OPERATION, pairs))
            version = self.store.upsert_stations(
                to_write, expected, audit=trail, progress=_per_batch(progress, len(to_write)), basis=basis
            )
            return Changes(version, stations=to_write)

        return self._apply_import(report, dry_run, follow, write)

    def import_divisions(
        self,
        principal: Principal | None,
        data: bytes | str,
        *,
        dry_run: bool = False,
        follow: bool = True,
        progress: ImportProgress | None = None,
    ) -> ImportReport:
        """Validate a whole division file, then upsert it by code in one transaction (or report why not).

        `follow` and `progress` as for `import_stations`.
        """
        self.check_division_write(principal)
        read_at = self.engine.version
        rows, problems = read_rows(data, DIVISION_COLUMNS)
        if problems and not rows:
            return ImportReport(errors=problems)
        divisions, row_problems = validate_divisions(rows, self.engine)
        problems = sorted(problems + row_problems, key=lambda problem: problem.row)
        row_of = {values["code"]: row for row, values in rows}
        del rows  # the records are all that is needed from here on
        if problems:
            return ImportReport(errors=problems)
        # A plain import leaves a stored division's validity as it is (spec §6): only editions date.
        divisions = [self._keeping_validity(division) for division in divisions]
        report, changed = _compare(divisions, lambda d: self.engine.division(d.code), Division.__eq__)
        problems = self._move_sum_problems(changed, row_of)
        if problems:
            return ImportReport(errors=problems)
        to_write = [new for new, _ in changed]

        def write() -> Changes:
            trail = self._trail(principal, self._division_changes(divisions, changed))
            version = self.store.upsert_divisions(
                to_write,
                audit=trail,
                progress=_per_batch(progress, len(to_write)),
                basis=WriteBasis(read_at, divisions_unchanged, frozenset()),
            )
            return Changes(version, divisions=to_write)

        return self._apply_import(report, dry_run, follow, write)

    def write_edition_divisions(
        self,
        principal: Principal | None,
        divisions: Sequence[Division],
        editions: Mapping[str, AppliedEdition],
        row_of: Mapping[str, int],
        *,
        names: Mapping[str, Sequence[DivisionName]] | None = None,
        successors: Mapping[str, Sequence[str]] | None = None,
        stations: Sequence[Station] = (),
        basis: WriteBasis | None = None,
        follow: bool = True,
        progress: ImportProgress | None = None,
    ) -> list[Problem]:
        """Write the divisions of an edition (planned by `service_layer.editions`, dates set) and the
        `editions` it makes the latest (and the renamed divisions' `names` histories, the retired
        ones' `successors`, the `stations` it moves or re-parents, spec §6), in one transaction,
        audited as an import; catch the engine up unless not `follow`. `basis`: what the edition was
        planned against, re-checked by the store as it writes (`Conflict`, nothing written, when
        another writer broke it). Returns the refusals of a re-parenting that would take a roll-up
        past `MAX_SUM` (blamed on the rows `row_of` names), and then writes nothing."""
        changed = [(division, self.engine.division(division.code)) for division in divisions]
        problems = self._move_sum_problems(changed, row_of)
        if problems:
            return problems

        def write() -> Changes:
            moved = [(station, self.engine.station(station.id)) for station in stations]
            trail = self._trail(
                principal,
                self._division_changes(divisions, changed) + self._station_changes(IMPORT_OPERATION, moved),
            )
            version = self.store.upsert_divisions(
                divisions,
                audit=trail,
                editions=editions,
                names=names,
                successors=successors,
                stations=stations,
                progress=_per_batch(progress, len(divisions)),
                basis=basis,
            )
            links = {old: list(news) for old, news in (successors or {}).items()}
            return Changes(version, divisions=list(divisions), stations=list(stations), successors=links)

        self._run_write(write, follow)
        return []

    def _run_write(self, write: Callable[[], Changes], follow: bool) -> None:
        """Run `write` (which returns what it committed) and catch the engine up with it unless not
        `follow`; a conflict (a stale version, or a basis another writer broke) writes nothing and is
        refused as `Conflict`, after catching up with what the other writer did."""
        try:
            with store_busy_is_unavailable():
                written = write()
        except ConflictError as error:
            self._catch_up_after_write()
            raise Conflict(f"{error}; nothing was written, try again") from error
        if follow:
            self._catch_up_after_write(written)

    def _keeping_validity(self, division: Division) -> Division:
        """`division` with the validity of the stored division of its code (as read: none when new)."""
        stored = self.engine.division(division.code)
        if stored is None or (stored.valid_from is None and stored.valid_to is None):
            return division
        return replace(division, valid_from=stored.valid_from, valid_to=stored.valid_to)

    def _sum_problems(
        self, changed: Sequence[tuple[Station, Station | None]], row_of: Mapping[str, int]
    ) -> list[Problem]:
        """A problem for each roll-up total that writing `changed` would take past `MAX_SUM`, blamed
        on the last row of the file that adds to it."""
        excesses = self.engine.sums_over_limit(
            [old for _, old in changed if old], [new for new, _ in changed]
        )
        problems = []
        for excess in excesses:
            adding = [
                row_of[new.id]
                for new, _ in changed
                if new.is_active_on(excess.day) and self.engine.is_within(new.division_code, excess.code)
            ]
            problems.append(
                Problem(max(adding, default=1), excess.column, excess_message(excess, self.engine))
            )
        return sorted(problems, key=lambda problem: problem.row)

    def _move_sum_problems(
        self, changed: Sequence[tuple[Division, Division | None]], row_of: Mapping[str, int]
    ) -> list[Problem]:
        """A problem for each roll-up total that moving divisions under new parents would take past
        `MAX_SUM`, blamed on the row of a moved division below the division concerned."""
        moves = {
            new.code: new.parent_code
            for new, old in changed
            if old is not None and new.parent_code is not None and old.parent_code != new.parent_code
        }
        if not moves:
            return []
        written = {new.code: new for new, _ in changed}

        def find(code: str) -> Division | None:
            return written.get(code) or self.engine.division(code)

        problems = []
        for excess in self.engine.sums_over_limit_after_moves(moves, find):
            rows = [row_of[code] for code in moves if excess.code in codes_above(code, find)]
            problems.append(Problem(min(rows, default=1), "parent_code", excess_message(excess, self.engine)))
        return sorted(problems, key=lambda problem: problem.row)

    def _apply_import(
        self, report: ImportReport, dry_run: bool, follow: bool, write: Callable[[], Changes]
    ) -> ImportReport:
        """Run an import's `write` (which returns what it wrote) unless it is a dry run or nothing
        changed; a conflict writes nothing."""
        if dry_run or not (report.created or report.updated):
            report.applied = not dry_run
            return report
        self._run_write(write, follow)
        report.applied = True
        return report


R = TypeVar("R", Division, Station)


def _compare(
    records: Sequence[R], current_of: Callable[[R], R | None], same: Callable[[R, R], bool]
) -> tuple[ImportReport, list[tuple[R, R | None]]]:
    """Count the records that are new, changed and unchanged against what is stored; return the
    counts and the (record, stored record or None) pairs to write."""
    report = ImportReport()
    changed: list[tuple[R, R | None]] = []
    for record in records:
        current = current_of(record)
        if current is None:
            report.created += 1
            changed.append((record, None))
        elif same(record, current):
            report.unchanged += 1
        else:
            report.updated += 1
            changed.append((record, current))
    return report, changed


def _per_batch(progress: ImportProgress | None, total: int) -> Progress | None:
    """The store's per-batch callback for an import's `progress` (after telling it the write begins);
    None without `progress`."""
    if progress is None:
        return None
    progress(0, total)
    return lambda written: progress(written, total)


def station_file_scope(data: bytes | str) -> WriteScope:
    """The ids, parent ids and division codes a station file names (as its rows are read, whatever
    else is wrong with them): what checking it needs of the stored network."""
    rows, _ = read_rows(data, STATION_COLUMNS)

    def named(column: str) -> frozenset[str]:
        return frozenset(values[column] for _, values in rows if values[column])

    return WriteScope(named("id"), named("parent_id"), named("division_code"))


def decoded_csv(data: bytes | str) -> tuple[str | None, list[Problem]]:
    """The text of a CSV file given as bytes or text, or None and the problem when it is not UTF-8."""
    if isinstance(data, str):
        return data, []
    return decode_csv_bytes(data)


def read_rows(
    data: bytes | str, columns: Sequence[str]
) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    """The numbered rows of a CSV file with `columns`, and the problems of the file as a whole."""
    text, problems = decoded_csv(data)
    if text is None:
        return [], problems
    return read_csv_rows(text, columns)
