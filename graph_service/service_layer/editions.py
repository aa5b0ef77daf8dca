"""Previewing an edition of the division table (spec §6, `seed divisions FILE --edition D --dry-run`).

The stores do not keep division validity yet, so an edition can be previewed but not applied: every
stored division is taken as valid (as a plain import leaves it), no edition has been applied before,
and each station sits where it is stored. `preview_edition` checks the file as a plain import does,
then plans the edition with the domain rules (`domain.edition_report`) over a `Snapshot` of the
stored network, and says what would be created, retired and renamed, which stations would move, the
reporting lines that changes, the proposed successors, and every refusal. It writes nothing.

May import: the domain, the engine's value types and the service layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from graph_service.domain.edition_report import EditionReport, report_edition
from graph_service.domain.editions import AppliedEdition
from graph_service.domain.model import Division, Station
from graph_service.domain.moves import Stranded
from graph_service.domain.validation import (
    DIVISION_COLUMNS,
    Problem,
    codes_above,
    decode_csv_bytes,
    read_csv_rows,
    validate_divisions,
)
from graph_service.service_layer.auth import Principal
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
        """True when the edition, with the successors given, would be refused. Without a successors
        file a stranded station is no refusal yet: the admin is still to write that file."""
        return bool(
            self.division_problems or self.successor_problems or (self.successors_given and self.stranded)
        )


def preview_edition(
    snapshot: Snapshot,
    data: bytes | str,
    edition: date,
    successors: bytes | str | None = None,
) -> EditionPreview:
    """Preview importing the division file `data` as the complete table as of `edition` for every
    province it holds, over the stored network `snapshot` (all of it taken as valid, no edition
    applied before), with the admin's successors file `successors` (`old_code,new_code`) if any."""
    rows, problems = _read(data, DIVISION_COLUMNS)
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
        successors_text, successor_problems = _decoded(successors)
    applied: dict[str, AppliedEdition] = {}
    report = report_edition(
        snapshot.divisions,
        numbered,
        edition,
        applied,
        snapshot.stations,
        successors_text,
        follow_proposal=successors is None,
    )
    if successor_problems:  # the successors file could not be read as text at all
        report = replace(report, successor_problems=successor_problems + report.successor_problems)
    stations = {station.id: station for station in snapshot.stations}
    return EditionPreview(edition, [], report, successors is not None, stations)


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
    return preview_edition(snapshot_of(service), data, edition, successors)


def _decoded(data: bytes | str) -> tuple[str | None, list[Problem]]:
    """The text of a CSV file given as bytes or text, or None and the problem when it is not UTF-8."""
    if isinstance(data, str):
        return data, []
    return decode_csv_bytes(data)


def _read(
    data: bytes | str, columns: Sequence[str]
) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    """The numbered rows of a CSV file with `columns`, and the problems of the file as a whole."""
    text, problems = _decoded(data)
    if text is None:
        return [], problems
    return read_csv_rows(text, columns)
