"""`Changes`: what was written after some data version (the records, and the version they bring a
reader to). Plain data: the store reports it (`Store.changes_since`), the service hands it to the
engine (`NetworkEngine.apply`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from graph_service.domain.model import Division, Station


@dataclass(frozen=True, slots=True)
class Changes:
    """What was written after some data version, up to and including `version`."""

    version: int
    divisions: list[Division] = field(default_factory=list)
    stations: list[Station] = field(default_factory=list)
    successors: dict[str, list[str]] = field(default_factory=dict)
    """The successor links written (spec §6): retired code -> its successors in order, replacing any."""

    def followed_by(self, later: Changes) -> Changes:
        """These changes, then `later` ones (written after them): each record as `later` has it when
        it has one (a division's successor links too: none when `later` has the division without
        links), and the version `later` brings the reader to."""
        codes = {division.code for division in later.divisions}
        ids = {station.id for station in later.stations}
        successors = {code: links for code, links in self.successors.items() if code not in codes}
        return Changes(
            later.version,
            [division for division in self.divisions if division.code not in codes] + later.divisions,
            [station for station in self.stations if station.id not in ids] + later.stations,
            {**successors, **later.successors},
        )
