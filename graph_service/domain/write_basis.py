"""What a write was checked against, and whether what other writers committed since breaks it.

A write is planned over the network as read at some data version (the engine's, or an edition's
snapshot). Another process may commit in between, so the store re-checks, inside the write's own
transaction and after taking the write lock, that nothing committed since that version touches
what the plan relied on (`ports.WriteBasis`). These are the pure checks: given what was written
since (`WrittenSince`: the codes and the stations' places only, cheap to read even after a large
import) and the editions applied now, the reasons the plan no longer holds (none: it holds).
Precise on purpose: unrelated writes (a station elsewhere) never refuse a write.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from graph_service.domain.editions import AppliedEdition
from graph_service.domain.model import Division, Station
from graph_service.domain.validation import codes_above

SHOWN = 10
"""At most this many codes or ids are named in one reason."""


@dataclass(frozen=True, slots=True)
class StationPlace:
    """Where a station written since sits, whom it reports to and its level (as stored: its value),
    all a check needs."""

    id: str
    division_code: str
    parent_id: str | None
    level: str

    @classmethod
    def of(cls, station: Station) -> StationPlace:
        """The place of `station`."""
        return cls(station.id, station.division_code, station.parent_id, station.level.value)


@dataclass(frozen=True, slots=True)
class WrittenSince:
    """What was written after a write's basis: the codes of the divisions and the places of the
    stations (`Store` reads them inside the write's transaction)."""

    division_codes: list[str] = field(default_factory=list)
    stations: list[StationPlace] = field(default_factory=list)


def _named(items: Iterable[str]) -> str:
    """The first `SHOWN` of `items`, sorted, comma-separated (with … when there are more)."""
    ordered = sorted(set(items))
    return ", ".join(ordered[:SHOWN]) + (" …" if len(ordered) > SHOWN else "")


def _edition_text(edition: AppliedEdition | None) -> str:
    return "none" if edition is None else edition.day.isoformat()


def divisions_unchanged(since: WrittenSince, applied_now: Mapping[str, AppliedEdition]) -> list[str]:
    """The check of a write planned over the whole division table (a plain division import keeps each
    stored division's validity, an edition plans over all of them): any division written since
    refuses it."""
    if not since.division_codes:
        return []
    return [f"divisions were written meanwhile: {_named(since.division_codes)}"]


@dataclass(frozen=True, slots=True)
class EditionBasis:
    """What an edition was planned against: the latest edition of each of its provinces (None: none
    yet), the divisions and stations its plan looked at (`divisions`: those it retires, its
    successors and their ancestors; `stations`: those it moves or re-parents and those reporting to
    them), and the stations as the plan read them (by id)."""

    applied: Mapping[str, AppliedEdition | None]
    divisions: frozenset[str]
    stations: frozenset[str]
    read: Callable[[str], Station | None]

    def conflicts(self, since: WrittenSince, applied_now: Mapping[str, AppliedEdition]) -> list[str]:
        """Why the edition no longer holds after `since` (written after its basis) with the editions
        `applied_now`: another edition of one of its provinces, any division written, or a station
        written that it moves, re-parents or would have to (sitting, now or then, in a division it
        retires or in a successor's line, or reporting to a station it moves)."""
        reasons = [
            f"the latest edition of province {province} is now {_edition_text(applied_now.get(province))}, "
            f"not {_edition_text(planned)} as when the edition was checked"
            for province, planned in sorted(self.applied.items())
            if applied_now.get(province) != planned
        ]
        reasons += divisions_unchanged(since, applied_now)
        touched = [station.id for station in since.stations if self._touches(station)]
        if touched:
            reasons.append(
                f"stations the edition moves or re-parents were written meanwhile: {_named(touched)}"
            )
        return reasons

    def _touches(self, station: StationPlace) -> bool:
        """True when `station`, as written now or as the plan read it, is one the plan relied on."""
        if station.id in self.stations:
            return True
        old = self.read(station.id)
        versions = [station] + ([StationPlace.of(old)] if old is not None else [])
        return any(
            s.division_code in self.divisions or (s.parent_id is not None and s.parent_id in self.stations)
            for s in versions
        )


@dataclass(frozen=True, slots=True)
class StationBasis:
    """What a station write was validated against: the divisions its stations sit in (before and
    after) with all their ancestors, and the division and level of each parent station it names that
    it does not write itself."""

    divisions: frozenset[str]
    parents: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        stations: Collection[Station],
        old_codes: Iterable[str],
        find_division: Callable[[str], Division | None],
        find_station: Callable[[str], Station | None],
    ) -> StationBasis:
        """The basis of writing `stations` (which sat in `old_codes` before), as `find_division` and
        `find_station` read the network it was validated against."""
        codes = {s.division_code for s in stations} | set(old_codes)
        lines = set(codes)
        for code in codes:
            lines.update(codes_above(code, find_division))
        written = {s.id for s in stations}
        parents = {
            parent.id: (parent.division_code, parent.level.value)
            for s in stations
            if s.parent_id is not None
            and s.parent_id not in written
            and (parent := find_station(s.parent_id)) is not None
        }
        return cls(frozenset(lines), parents)

    def conflicts(self, since: WrittenSince, applied_now: Mapping[str, AppliedEdition]) -> list[str]:
        """Why the stations no longer validate as they did after `since`: a division they sit in (or
        above them) was written (an edition retired or re-parented it), or a parent station they
        report to now sits elsewhere or has another level."""
        reasons = []
        divisions = [code for code in since.division_codes if code in self.divisions]
        if divisions:
            reasons.append(f"divisions the stations sit in were written meanwhile: {_named(divisions)}")
        parents = [
            s.id
            for s in since.stations
            if s.id in self.parents and self.parents[s.id] != (s.division_code, s.level)
        ]
        if parents:
            reasons.append(f"parent stations were moved meanwhile: {_named(parents)}")
        return reasons
