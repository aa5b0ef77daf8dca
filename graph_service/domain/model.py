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

    def with_version(self, version: int) -> Station:
        return dataclasses.replace(self, version=version)
