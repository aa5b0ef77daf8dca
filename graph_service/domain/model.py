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
        return (self.from_ is None or self.from_ <= day) and (self.to is None or day < self.to)


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

    def __post_init__(self) -> None:
        # A changed `division_code` (an import row or updateStation: a correction, spec §6) corrects
        # where it sits in its current placement; earlier placements are kept.
        placements = self.placements
        if placements and placements[-1].division_code != self.division_code:
            last = dataclasses.replace(placements[-1], division_code=self.division_code)
            object.__setattr__(self, "placements", (*placements[:-1], last))

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

    def keeping_history(self, stored: Station | None) -> Station:
        """This record (read from a file or input, without a history) with the placement history of
        the `stored` station it rewrites: an import or update never rewrites where it sat before."""
        if stored is None or self.placements or not stored.placements:
            return self
        return dataclasses.replace(self, placements=stored.placements)

    def with_version(self, version: int) -> Station:
        return dataclasses.replace(self, version=version)
