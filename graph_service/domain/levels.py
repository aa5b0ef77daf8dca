"""Division levels, station levels and statuses, and the placement rules between them (spec §1)."""

from __future__ import annotations

from enum import StrEnum


class DivisionLevel(StrEnum):
    """An administrative level of the NBS division table, highest first."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"

    @property
    def rank(self) -> int:
        """0 for a province down to 4 for a village: a lower rank is a higher level."""
        return _DIVISION_RANK[self]

    @property
    def levels_below(self) -> tuple[DivisionLevel, ...]:
        """Every division level strictly below this one, top-down."""
        return DIVISION_LEVELS[self.rank + 1 :]

    @property
    def station_level(self) -> StationLevel | None:
        """The level of station that sits in a division of this level (none for a province)."""
        return _STATION_LEVEL_OF_DIVISION.get(self)


class StationLevel(StrEnum):
    """A level of the four-level station network, highest first."""

    GUIDANCE_CENTRE = "guidance_centre"
    GENERAL_STATION = "general_station"
    TOWNSHIP_STATION = "township_station"
    VILLAGE_ROOM = "village_room"

    @property
    def rank(self) -> int:
        """0 for a guidance centre down to 3 for a village room."""
        return _STATION_RANK[self]

    @property
    def division_level(self) -> DivisionLevel:
        """The level of division a station of this level sits in."""
        return _DIVISION_LEVEL_OF_STATION[self]

    @property
    def parent_level(self) -> StationLevel | None:
        """The level of station this one reports to (none for a guidance centre)."""
        return STATION_LEVELS[self.rank - 1] if self.rank > 0 else None


class StationStatus(StrEnum):
    PLANNED = "planned"
    BUILDING = "building"
    OPERATING = "operating"
    CLOSED = "closed"


DIVISION_LEVELS: tuple[DivisionLevel, ...] = tuple(DivisionLevel)
STATION_LEVELS: tuple[StationLevel, ...] = tuple(StationLevel)
# The levels that coverage is reported for: every level that has a station level.
COVERAGE_LEVELS: tuple[DivisionLevel, ...] = DIVISION_LEVELS[1:]

_DIVISION_RANK = {level: rank for rank, level in enumerate(DIVISION_LEVELS)}
_STATION_RANK = {level: rank for rank, level in enumerate(STATION_LEVELS)}
_DIVISION_LEVEL_OF_STATION = {
    StationLevel.GUIDANCE_CENTRE: DivisionLevel.CITY,
    StationLevel.GENERAL_STATION: DivisionLevel.COUNTY,
    StationLevel.TOWNSHIP_STATION: DivisionLevel.TOWNSHIP,
    StationLevel.VILLAGE_ROOM: DivisionLevel.VILLAGE,
}
_STATION_LEVEL_OF_DIVISION = {division: station for station, division in _DIVISION_LEVEL_OF_STATION.items()}
