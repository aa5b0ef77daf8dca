"""Repeated queries are answered from the response cache, and never with a stale or wrong answer."""

from __future__ import annotations

import pytest

from tests.support.network import Api, token
from tests.support.spies import count_executions

pytestmark = pytest.mark.anyio
COVERAGE = '{ division(code: "5223") { coverage(asOf: "2021-06-01") { level total covered } } }'


async def test_a_repeated_query_runs_once_until_the_network_changes(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = count_executions(monkeypatch)
    first = await api.data(COVERAGE)
    assert await api.data(COVERAGE) == first
    assert len(runs) == 1
    await api.data(
        'mutation { createStation(input: {id: "TS-NEW", name: "新站", level: TOWNSHIP_STATION, '
        'divisionCode: "522301001", status: OPERATING, openedOn: "2021-01-01"}) '
        "{ version } }",
        bearer=token("admin", "*"),
    )
    after = await api.data(COVERAGE)
    township = next(c for c in after["division"]["coverage"] if c["level"] == "TOWNSHIP")
    before = next(c for c in first["division"]["coverage"] if c["level"] == "TOWNSHIP")
    assert township["covered"] == before["covered"] + 1


async def test_mutations_and_errors_are_never_replayed(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = count_executions(monkeypatch)
    bad = '{ division(code: "5223") { children(first: 0) { totalCount } } }'
    for _ in range(2):
        assert (await api.error(bad))["extensions"]["code"] == "BAD_USER_INPUT"
    assert len(runs) == 2
    rename = (
        'mutation { updateStation(id: "GC-5223", input: {name: "改名"}, expectedVersion: 1) { version } }'
    )
    assert (await api.data(rename, bearer=token("admin", "*")))["updateStation"]["version"] == 2
    again = await api.error(rename, bearer=token("admin", "*"))
    assert again["extensions"]["code"] == "CONFLICT"
