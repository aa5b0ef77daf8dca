"""An edition and another process's write at the same moment (spec §6, on SQLite and Neo4j): the write
that commits second was checked against a network that no longer is, so it is refused (CONFLICT,
naming what changed, nothing written) instead of breaking "editions in date order", "the same
edition twice changes nothing" or leaving a station in a retired division.

The other process is a real `graph-service seed` run, started in the window between this service's
check and its write (the service's store write is wrapped to run it first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from graph_service.adapters.neo4j_store import LATE_LOCK_ROWS
from graph_service.bootstrap import open_service
from graph_service.domain.audit import AuditQuery
from graph_service.service_layer.auth import Principal
from graph_service.service_layer.editions import apply_stored_edition
from graph_service.service_layer.errors import Conflict
from graph_service.service_layer.services import NetworkService
from tests.support.editions import (
    D2020,
    D2021,
    D2022,
    DIVISIONS_2020,
    DIVISIONS_2021,
    STATIONS,
    SUCCESSORS_2021,
    assert_answers_like_a_fresh_load,
    edition_args,
)
from tests.support.network import settings_for
from tests.support.servers import run_cli
from tests.support.stores import StoreFactory

ADMIN = Principal.local_admin()
NEW_STATION = "\n".join(
    [
        STATIONS.splitlines()[0],
        "TS-520221111-2,木果镇第二社会工作服务站,township_station,520221111,GS-520221,operating,2021-01-04,,2,1,0",
        "",
    ]
)


@pytest.fixture
def service(store_factory: StoreFactory) -> Iterator[NetworkService]:
    """A service on a store (SQLite, then Neo4j) holding the 2020 edition and the stations on it."""
    service = open_service(settings_for(store_factory().url))
    assert apply_stored_edition(service, ADMIN, DIVISIONS_2020, D2020).applied
    assert service.import_stations(ADMIN, STATIONS).applied
    try:
        yield service
    finally:
        service.close()


@contextmanager
def other_process_first(service: NetworkService, method: str, *args: str) -> Iterator[list[Any]]:
    """While the block runs, the first call of `service.store.<method>` (a write, checked already)
    first runs `graph-service ARGS --store URL` in another process to the end (asserting it succeeds)."""
    real: Callable[..., Any] = getattr(service.store, method)
    runs: list[Any] = []

    def racing(*call_args: Any, **kwargs: Any) -> Any:
        if not runs:
            done = run_cli(*args, "--store", service.store.url)
            assert done.returncode == 0, done.stdout + done.stderr
            runs.append(done)
        return real(*call_args, **kwargs)

    with mock.patch.object(service.store, method, racing):
        yield runs


def files(tmp_path: Path, **texts: str) -> dict[str, str]:
    """Write each text to tmp_path/<name>.csv; the paths by name."""
    paths = {}
    for name, text in texts.items():
        (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
        paths[name] = str(tmp_path / f"{name}.csv")
    return paths


def import_entries(service: NetworkService) -> int:
    """How many audit entries the store holds."""
    return service.store.count_audit_entries(AuditQuery())


def test_an_edition_checked_before_a_later_one_committed_is_refused(
    service: NetworkService, tmp_path: Path
) -> None:
    """Another process applies the table as the edition of 2022 while this one applies it as 2021:
    without the check both commit and the latest edition goes back to 2021 (editions out of date order)."""
    paths = files(tmp_path, table=DIVISIONS_2021, successors=SUCCESSORS_2021)
    later = ("seed", *edition_args(paths["table"], D2022, paths["successors"]))
    with (
        other_process_first(service, "upsert_divisions", *later) as runs,
        pytest.raises(Conflict) as refused,
    ):
        apply_stored_edition(service, ADMIN, DIVISIONS_2021, D2021, SUCCESSORS_2021)
    assert runs, "the other process ran"
    assert "latest edition of province 52 is now 2022-10-31, not 2020-06-30" in refused.value.message
    assert "nothing was written" in refused.value.message
    assert service.store.applied_editions()["52"].day == D2022
    moved = service.engine.station("TS-520221001")
    assert moved is not None and [(p.division_code, p.from_, p.to) for p in moved.placements] == [
        ("520221001", None, D2022),
        ("520204002", D2022, None),
    ]
    assert_answers_like_a_fresh_load(service)
    # Checked again now, it is the out-of-order edition the rules refuse, naming why.
    again = apply_stored_edition(service, ADMIN, DIVISIONS_2021, D2021, SUCCESSORS_2021)
    assert not again.applied and "2022-10-31" in str(again.preview.division_problems)


def test_the_same_edition_from_two_processes_is_written_once(service: NetworkService, tmp_path: Path) -> None:
    paths = files(tmp_path, table=DIVISIONS_2021, successors=SUCCESSORS_2021)
    same = ("seed", *edition_args(paths["table"], D2021, paths["successors"]))
    edition_now = "latest edition of province 52 is now 2021-10-31"
    with other_process_first(service, "upsert_divisions", *same), pytest.raises(Conflict, match=edition_now):
        apply_stored_edition(service, ADMIN, DIVISIONS_2021, D2021, SUCCESSORS_2021)
    version, entries = service.store.data_version(), import_entries(service)
    rerun = apply_stored_edition(service, ADMIN, DIVISIONS_2021, D2021, SUCCESSORS_2021)
    assert rerun.applied and rerun.written == 0
    assert (service.store.data_version(), import_entries(service)) == (version, entries)
    assert [n.name for n in service.store.division_names(["5201"])["5201"]] == ["贵阳市", "贵阳"]
    assert_answers_like_a_fresh_load(service)


@pytest.mark.parametrize("planned", [0, LATE_LOCK_ROWS], ids=["small", "large"])
def test_a_station_import_checked_before_an_edition_retired_its_division_is_refused(
    service: NetworkService, tmp_path: Path, planned: int
) -> None:
    """The import puts an operating station in 木果镇, which the other process's edition retires (moving
    its stations): committed after it, the new station would stay in a retired township. A large
    import (Neo4j takes its write lock last) is checked as a small one is."""
    paths = files(tmp_path, table=DIVISIONS_2021, successors=SUCCESSORS_2021)
    edition = ("seed", *edition_args(paths["table"], D2021, paths["successors"]))
    extra = "".join(
        f"TS-PLANNED-{n},规划站{n},township_station,520221111,,planned,,,0,0,0\n" for n in range(planned)
    )
    with (
        other_process_first(service, "upsert_stations", *edition),
        pytest.raises(Conflict, match="divisions the stations sit in were written meanwhile: .*520221111"),
    ):
        service.import_stations(ADMIN, NEW_STATION + extra)
    assert service.engine.station("TS-520221111-2") is None
    assert service.engine.station("TS-PLANNED-0") is None
    assert service.store.applied_editions()["52"].day == D2021
    assert_answers_like_a_fresh_load(service)


def test_an_edition_checked_before_a_station_import_into_a_retired_division_is_refused(
    service: NetworkService, tmp_path: Path
) -> None:
    """The other process imports a station into 木果镇 after this edition planned its moves: committed
    after it, the edition would leave that station behind in the retired township. Checked again, the
    edition moves it too."""
    paths = files(tmp_path, stations=NEW_STATION)
    other = ("seed", "stations", paths["stations"])
    moving = "stations the edition moves or re-parents were written meanwhile: TS-520221111-2"
    with other_process_first(service, "upsert_divisions", *other), pytest.raises(Conflict, match=moving):
        apply_stored_edition(service, ADMIN, DIVISIONS_2021, D2021, SUCCESSORS_2021)
    assert "52" in service.store.applied_editions()
    assert service.store.applied_editions()["52"].day == D2020
    assert service.engine.division("520221111").valid_to is None
    applied = apply_stored_edition(service, ADMIN, DIVISIONS_2021, D2021, SUCCESSORS_2021)
    assert applied.applied and applied.written
    second = service.engine.station("TS-520221111-2")
    assert second is not None and second.division_code == "520201104"
    assert_answers_like_a_fresh_load(service)
