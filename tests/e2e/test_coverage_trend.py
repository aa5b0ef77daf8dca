"""Spec §8's `Division.coverageTrend`: the coverage of one level on a regular series of days."""

from __future__ import annotations

from datetime import date

import pytest

from graph_service.domain.calendar import Interval, series
from tests.support.network import Api

TREND = """
query ($code: String!, $level: DivisionLevel!, $from: Date!, $to: Date!, $every: Interval) {
  division(code: $code) {
    coverageTrend(level: $level, from: $from, to: $to, every: $every) { date total covered rate }
  }
}
"""
COVERAGE_ON = """
query ($code: String!, $asOf: Date) {
  division(code: $code) { coverage(asOf: $asOf) { level total covered rate } }
}
"""


def test_month_steps_keep_the_day_or_the_month_end() -> None:
    assert list(series(date(2021, 1, 31), date(2021, 5, 1), Interval.MONTH)) == [
        date(2021, 1, 31),
        date(2021, 2, 28),
        date(2021, 3, 31),
        date(2021, 4, 30),
    ]
    assert list(series(date(2021, 1, 30), date(2021, 4, 30), Interval.MONTH)) == [
        date(2021, 1, 30),
        date(2021, 2, 28),
        date(2021, 3, 30),
        date(2021, 4, 30),
    ]
    assert list(series(date(2020, 2, 29), date(2023, 3, 1), Interval.YEAR)) == [
        date(2020, 2, 29),
        date(2021, 2, 28),
        date(2022, 2, 28),
        date(2023, 2, 28),
    ]
    assert list(series(date(2021, 11, 15), date(2022, 6, 1), Interval.QUARTER)) == [
        date(2021, 11, 15),
        date(2022, 2, 15),
        date(2022, 5, 15),
    ]
    assert list(series(date(2021, 1, 1), date(2021, 1, 15), Interval.WEEK)) == [
        date(2021, 1, 1),
        date(2021, 1, 8),
        date(2021, 1, 15),
    ]
    assert list(series(date(2021, 1, 1), date(2021, 1, 1), Interval.DAY)) == [date(2021, 1, 1)]


@pytest.mark.anyio
@pytest.mark.parametrize("every", ["DAY", "WEEK", "MONTH", "QUARTER", "YEAR"])
async def test_every_point_is_the_coverage_on_its_day(api: Api, every: str) -> None:
    # 沙子镇 is covered 2020-01-01 … 2021-12-31, 莲城街道 from 2021-06-01; villages from 2022-05-01.
    start, end = ("2021-05-25", "2021-06-05") if every == "DAY" else ("2019-12-31", "2022-06-30")
    for level in ("TOWNSHIP", "VILLAGE"):
        variables = {"code": "52", "level": level, "from": start, "to": end, "every": every}
        points = (await api.data(TREND, variables))["division"]["coverageTrend"]
        expected_days = [
            d.isoformat()
            for d in series(date.fromisoformat(start), date.fromisoformat(end), Interval(every.lower()))
        ]
        assert [p["date"] for p in points] == expected_days
        for point in points:
            coverage = (await api.data(COVERAGE_ON, {"code": "52", "asOf": point["date"]}))["division"]
            same_level = next(c for c in coverage["coverage"] if c["level"] == level)
            assert {k: point[k] for k in ("total", "covered", "rate")} == {
                k: same_level[k] for k in ("total", "covered", "rate")
            }, point


@pytest.mark.anyio
async def test_monthly_by_default_and_the_values_of_the_small_network(api: Api) -> None:
    variables = {"code": "522324", "level": "TOWNSHIP", "from": "2019-12-31", "to": "2022-01-31"}
    points = (await api.data(TREND, variables))["division"]["coverageTrend"]
    assert len(points) == 26
    by_day = {p["date"]: (p["covered"], p["total"]) for p in points}
    assert by_day["2019-12-31"] == (0, 3)
    assert by_day["2020-01-31"] == (1, 3)
    assert by_day["2021-06-30"] == (2, 3)
    assert by_day["2021-12-31"] == (2, 3)
    assert by_day["2022-01-31"] == (1, 3)
    assert points[-1]["rate"] == pytest.approx(1 / 3)


@pytest.mark.anyio
async def test_a_thousand_points_at_most(api: Api) -> None:
    allowed = {"code": "52", "level": "TOWNSHIP", "from": "2020-01-01", "to": "2022-09-26", "every": "DAY"}
    assert len((await api.data(TREND, allowed))["division"]["coverageTrend"]) == 1000
    error = await api.error(TREND, {**allowed, "to": "2022-09-27"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "1000 points" in error["message"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("variables", "words"),
    [
        ({"code": "522324", "level": "CITY"}, "not below 522324"),
        ({"code": "522324", "level": "COUNTY"}, "not below 522324"),
        ({"code": "52", "level": "TOWNSHIP", "from": "2022-01-01", "to": "2021-01-01"}, "before from"),
    ],
)
async def test_bad_requests_are_bad_user_input(api: Api, variables: dict, words: str) -> None:
    full = {"from": "2021-01-01", "to": "2021-12-31", **variables}
    error = await api.error(TREND, full)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert words in error["message"]
