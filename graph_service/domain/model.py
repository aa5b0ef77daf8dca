"""The records the service keeps: divisions and stations, as immutable values."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus


@dataclass(frozen=True, slots=True)
class Division:
    """One administrative division; `parent_code` is None only for a root (a province).

    `valid_from`/`valid_to` bound the days it exists (spec §6; either may be None, meaning unbounded):
    see `graph_service.domain.validity.is_valid_on`.
    """

    code: str
    name: str
    level: DivisionLevel
    parent_code: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """A station sat in division `division_code` from `from_` (None: always) until `to` (None: still)."""

    division_code: str
    from_: date | None = None
    to: date | None = None

    def holds_on(self, day: date) -> bool:
        """True when the station sat in this division on `day` (`from_ ≤ day < to`)."""
        return _within(self.from_, self.to, day)


@dataclass(frozen=True, slots=True)
class ReportingLine:
    """A station reported to station `parent_id` (None: nobody) from `from_` (None: always) until `to`
    (None: still)."""

    parent_id: str | None
    from_: date | None = None
    to: date | None = None

    def holds_on(self, day: date) -> bool:
        """True when the station reported to `parent_id` on `day` (`from_ ≤ day < to`)."""
        return _within(self.from_, self.to, day)


def _within(start: date | None, end: date | None, day: date) -> bool:
    """True when `start ≤ day < end` (None: unbounded on that side)."""
    return (start is None or start <= day) and (end is None or day < end)


@dataclass(frozen=True, slots=True)
class Station:
    """One station of the network, as of its `version` (1 when first written, +1 on every change)."""

    id: str
    name: str
    level: StationLevel
    division_code: str
    parent_id: str | None = None
    status: StationStatus = StationStatus.PLANNED
    opened_on: date | None = None
    closed_on: date | None = None
    staff: int = 0
    certified_staff: int = 0
    volunteers: int = 0
    version: int = 1
    placements: tuple[Placement, ...] = ()
    """Where it sat through time (spec §6), oldest first, the last one open and in `division_code`;
    empty when it always sat in `division_code` (no edition has moved it)."""
    reporting_lines: tuple[ReportingLine, ...] = ()
    """Whom it reported to through time (spec §6), oldest first, the last one open and to `parent_id`;
    empty when it always reported to `parent_id` (no edition has changed its line)."""

    def __post_init__(self) -> None:
        # A changed `division_code` or `parent_id` (an import row or updateStation: a correction, spec
        # §6) corrects its current placement or reporting line; earlier ones are kept.
        placements = self.placements
        if placements and placements[-1].division_code != self.division_code:
            last = dataclasses.replace(placements[-1], division_code=self.division_code)
            object.__setattr__(self, "placements", (*placements[:-1], last))
        lines = self.reporting_lines
        if lines and lines[-1].parent_id != self.parent_id:
            object.__setattr__(self, "reporting_lines", _corrected_lines(lines, self.parent_id))

    def is_active_on(self, day: date) -> bool:
        """Spec §3: opened on or before `day`, and not closed on or before it."""
        return (
            self.opened_on is not None
            and self.opened_on <= day
            and (self.closed_on is None or day < self.closed_on)
        )

    def same_content(self, other: Station) -> bool:
        """True when the two differ at most in `version`."""
        return dataclasses.replace(other, version=self.version) == self

    def history(self) -> tuple[Placement, ...]:
        """Its placement history: `placements`, or one open placement in `division_code`."""
        return self.placements or (Placement(self.division_code),)

    def lines(self) -> tuple[ReportingLine, ...]:
        """Its reporting history: `reporting_lines`, or one open line to `parent_id`."""
        return self.reporting_lines or (ReportingLine(self.parent_id),)

    def keeping_history(self, stored: Station | None) -> Station:
        """This record (read from a file or input, without a history) with the placement history and
        reporting lines of the `stored` station it rewrites: an import or update never rewrites where
        it sat, or whom it reported to, before."""
        if stored is None:
            return self
        placements = self.placements or stored.placements
        lines = self.reporting_lines or stored.reporting_lines
        if placements == self.placements and lines == self.reporting_lines:
            return self
        return dataclasses.replace(self, placements=placements, reporting_lines=lines)

    def with_version(self, version: int) -> Station:
        return dataclasses.replace(self, version=version)


def _corrected_lines(lines: tuple[ReportingLine, ...], parent_id: str | None) -> tuple[ReportingLine, ...]:
    """The reporting history `lines` with its current line corrected to `parent_id`: merged into the
    line before it when that one already had this parent, and empty when one line open both ways
    is left (the station always reported to `parent_id`)."""
    *kept, last = lines
    if kept and kept[-1].parent_id == parent_id:
        last = dataclasses.replace(kept.pop(), to=last.to)
    corrected = (*kept, dataclasses.replace(last, parent_id=parent_id))
    only = corrected[0]
    return () if len(corrected) == 1 and only.from_ is None and only.to is None else corrected
