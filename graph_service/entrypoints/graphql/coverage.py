"""The GraphQL coverage and roll-up types: a level's coverage on one day, a point of a coverage
trend, the stations and staff active in a subtree."""

from __future__ import annotations

from datetime import date as Date  # for CoveragePoint, whose field `date` hides the type

import strawberry

from graph_service.entrypoints.graphql.scalars import DivisionLevelEnum, convert
from graph_service.service_layer.views import LevelCoverage, Rollup


@strawberry.type(name="LevelCoverage", description="How many divisions of one level are covered.")
class LevelCoverageType:
    level: DivisionLevelEnum
    total: int = strawberry.field(description="Divisions of this level in the subtree.")
    covered: int = strawberry.field(description="Those of them covered on the day.")
    rate: float | None = strawberry.field(description="covered / total; null when total is 0.")

    @classmethod
    def of(cls, coverage: LevelCoverage) -> LevelCoverageType:
        return cls(
            level=convert(coverage.level, DivisionLevelEnum),
            total=coverage.total,
            covered=coverage.covered,
            rate=coverage.rate,
        )


@strawberry.type(description="The coverage of one level on one day of a trend.")
class CoveragePoint:
    date: Date
    total: int = strawberry.field(description="Divisions of the level in the subtree.")
    covered: int = strawberry.field(description="Those of them covered on the day.")
    rate: float | None = strawberry.field(description="covered / total; null when total is 0.")

    @classmethod
    def of(cls, day: Date, coverage: LevelCoverage) -> CoveragePoint:
        return cls(date=day, total=coverage.total, covered=coverage.covered, rate=coverage.rate)


@strawberry.type(
    name="Rollup",
    description="The stations active on a day in a division or below it: counts per level, staff sums.",
)
class RollupType:
    guidance_centres: int
    general_stations: int
    township_stations: int
    village_rooms: int
    staff: int
    certified_staff: int
    volunteers: int

    @classmethod
    def of(cls, rollup: Rollup) -> RollupType:
        return cls(
            guidance_centres=rollup.guidance_centres,
            general_stations=rollup.general_stations,
            township_stations=rollup.township_stations,
            village_rooms=rollup.village_rooms,
            staff=rollup.staff,
            certified_staff=rollup.certified_staff,
            volunteers=rollup.volunteers,
        )
