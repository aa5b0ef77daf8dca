"""A deterministic network with the shape of the 2023 NBS table, for benchmarks.

About 665,000 divisions (31 provinces, ~340 cities, ~3,000 counties, ~41,000 townships, ~620,000
villages) with NBS-style codes, and stations on every city and most counties, about 40% of townships
and 15% of villages, with opening and closing histories between 2015 and 2025.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus
from graph_service.domain.model import Division, Station

PROVINCES = 31
HISTORY_START = date(2015, 1, 1)
HISTORY_DAYS = (date(2025, 12, 31) - HISTORY_START).days


@dataclass(frozen=True, slots=True)
class Shape:
    """How many children each level has on average (the 2023 table: 342/31, 2978/342, …)."""

    cities_per_province: float = 342 / 31
    counties_per_city: float = 2978 / 342
    townships_per_county: float = 41352 / 2978
    villages_per_township: float = 620573 / 41352
    township_station_share: float = 0.40
    village_room_share: float = 0.15


def _children(rng: random.Random, mean: float) -> int:
    return max(1, round(rng.uniform(0.5, 1.5) * mean))


def divisions(seed: int = 2023, shape: Shape = Shape(), provinces: int = PROVINCES) -> Iterator[Division]:
    """Every division, parents before children, deterministic for a seed."""
    rng = random.Random(seed)
    for p in range(provinces):
        province = f"{11 + p:02d}"
        yield Division(province, f"省{province}", DivisionLevel.PROVINCE)
        for c in range(_children(rng, shape.cities_per_province)):
            city = f"{province}{c + 1:02d}"
            yield Division(city, f"市{city}", DivisionLevel.CITY, province)
            for x in range(_children(rng, shape.counties_per_city)):
                county = f"{city}{x + 1:02d}"
                yield Division(county, f"县{county}", DivisionLevel.COUNTY, city)
                for t in range(_children(rng, shape.townships_per_county)):
                    township = f"{county}{t + 1:03d}"
                    yield Division(township, f"镇{township}", DivisionLevel.TOWNSHIP, county)
                    for v in range(_children(rng, shape.villages_per_township)):
                        village = f"{township}{v + 1:03d}"
                        yield Division(village, f"村{village}", DivisionLevel.VILLAGE, township)


def stations(seed: int = 2023, shape: Shape = Shape(), provinces: int = PROVINCES) -> Iterator[Station]:
    """Stations over `divisions(seed)`, each reporting to the station of its parent division, if any."""
    return stations_over(divisions(seed, shape, provinces), seed, shape)


def stations_over(over: Iterable[Division], seed: int = 2023, shape: Shape = Shape()) -> Iterator[Station]:
    """Stations over the divisions `over` (parents before children; generated ones, or a real NBS
    table), each reporting to the station of its parent division, if any; deterministic for a seed."""
    rng = random.Random(seed + 1)
    station_of: dict[str, str] = {}
    for division in over:
        level = division.level.station_level
        if level is None:
            continue
        share = {
            DivisionLevel.CITY: 1.0,
            DivisionLevel.COUNTY: 0.9,
            DivisionLevel.TOWNSHIP: shape.township_station_share,
            DivisionLevel.VILLAGE: shape.village_room_share,
        }[division.level]
        if rng.random() >= share:
            continue
        station_id = f"S{division.code}"
        parent = (
            station_of.get(division.parent_code or "") if level is not StationLevel.GUIDANCE_CENTRE else None
        )
        if level is not StationLevel.VILLAGE_ROOM:
            station_of[division.code] = station_id
        yield _station(rng, station_id, level, division, parent)


def _station(
    rng: random.Random, station_id: str, level: StationLevel, division: Division, parent: str | None
) -> Station:
    roll = rng.random()
    staff = rng.randint(0, 6)
    counts = {"staff": staff, "certified_staff": rng.randint(0, staff), "volunteers": rng.randint(0, 30)}
    if roll < 0.05:
        return Station(
            station_id, f"站{division.code}", level, division.code, parent, StationStatus.PLANNED, **counts
        )
    opened = HISTORY_START + timedelta(days=rng.randrange(HISTORY_DAYS))
    if roll < 0.15:
        closed = opened + timedelta(days=rng.randint(30, 2000))
        return Station(
            station_id,
            f"站{division.code}",
            level,
            division.code,
            parent,
            StationStatus.CLOSED,
            opened,
            closed,
            **counts,
        )
    return Station(
        station_id,
        f"站{division.code}",
        level,
        division.code,
        parent,
        StationStatus.OPERATING,
        opened,
        **counts,
    )
