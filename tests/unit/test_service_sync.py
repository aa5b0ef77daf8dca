"""The service notices what another writer (another store handle) changed, asks the store no more often
than set, and a write is in the engine when it returns, catch-up or not; on the in-memory fake store (another
process's writes on the real stores: tests/integration/test_another_process.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date
from unittest import mock

import pytest

from graph_service.domain.levels import DivisionLevel
from graph_service.service_layer import syncing
from graph_service.service_layer.auth import Principal
from graph_service.service_layer.services import NetworkService
from graph_service.service_layer.settings import Settings, SettingsError

ADMIN = Principal.local_admin()
DIVISIONS = """code,name,level,parent_code
52,贵州省,province,
5201,贵阳市,city,52
520102,南明区,county,5201
520102001,新华路街道,township,520102
520102002,西湖路街道,township,520102
"""
STATIONS = (
    "id,name,level,division_code,parent_id,status,opened_on,closed_on,staff,certified_staff,volunteers\n"
    """GC,贵阳市社会工作指导中心,guidance_centre,5201,,operating,2019-01-01,,3,1,0
GS,南明区社会工作总站,general_station,520102,GC,operating,2020-01-01,,2,1,0
"""
)
DAY = date(2024, 1, 1)


def township_coverage(service: NetworkService) -> tuple[int, int]:
    entry = next(c for c in service.engine.coverage("52", DAY) if c.level is DivisionLevel.TOWNSHIP)
    return entry.total, entry.covered


def test_second_handle_catches_up_incrementally(open_service: Callable[..., NetworkService]) -> None:
    writer, reader = open_service(), open_service()
    assert writer.import_divisions(ADMIN, DIVISIONS).applied
    assert writer.import_stations(ADMIN, STATIONS).applied
    graph = reader.engine.graph
    reader.store.load = None  # type: ignore[method-assign]  # catching up must not reload everything
    reader.refresh()
    assert reader.engine.graph is graph
    assert reader.engine.version == writer.engine.version == reader.store.data_version()
    assert township_coverage(reader) == (2, 0)
    created = writer.create_station(
        ADMIN,
        {
            "id": "TS1",
            "name": "新华路街道社会工作服务站",
            "level": "township_station",
            "division_code": "520102001",
            "parent_id": "GS",
            "status": "operating",
            "opened_on": date(2021, 3, 1),
            "staff": 4,
            "certified_staff": 2,
        },
    )
    assert created.version == 1
    assert township_coverage(writer) == (2, 1)  # the writer's very next read reflects its write
    assert township_coverage(reader) == (2, 0)  # the reader has not looked yet
    reader.refresh()
    assert township_coverage(reader) == (2, 1)
    assert reader.engine.rollup("52", DAY).staff == 3 + 2 + 4
    reader.close_station(ADMIN, "TS1", date(2023, 6, 1))
    writer.refresh()
    assert township_coverage(writer) == (2, 0)
    assert writer.engine.covered("520102001", date(2023, 5, 31))


def test_failed_write_changes_nothing_anywhere(open_service: Callable[..., NetworkService]) -> None:
    service = open_service()
    service.import_divisions(ADMIN, DIVISIONS)
    service.import_stations(ADMIN, STATIONS)
    version = service.store.data_version()
    bad = STATIONS + "TS9,坏,township_station,520102001,GS,operating,2021-01-01,,1,2,0\n"
    report = service.import_stations(ADMIN, bad)
    assert not report.applied and [(e.row, e.column) for e in report.errors] == [(4, "certified_staff")]
    assert service.store.data_version() == version
    assert service.engine.station("TS9") is None


@pytest.mark.parametrize("first", [1, 2])
def test_uncovered_pages_walk_in_code_order(open_service: Callable[..., NetworkService], first: int) -> None:
    service = open_service()
    service.import_divisions(ADMIN, DIVISIONS)
    codes, after = [], None
    while True:
        page = service.uncovered("52", DivisionLevel.TOWNSHIP, DAY, after, first)
        codes += [d.code for d in page.items]
        if not page.has_next:
            break
        after = page.items[-1].code
    assert codes == ["520102001", "520102002"]


def test_refresh_interval_bounds_how_often_the_store_is_asked(
    open_service: Callable[..., NetworkService],
) -> None:
    writer = open_service()
    reader = open_service(refresh_interval=60)
    reader.refresh()
    writer.import_divisions(ADMIN, DIVISIONS)
    reader.refresh()  # asked less than a minute ago: not asked again
    assert reader.engine.division("52") is None
    reader.refresh(force=True)
    assert reader.engine.division("52") is not None
    reader.import_stations(ADMIN, STATIONS)  # its own writes show at once, interval or not
    assert reader.engine.station("GS") is not None


def test_refresh_interval_setting() -> None:
    assert Settings.from_env({}, store_url="sqlite:///x.db").refresh_interval == 0.1
    assert Settings.from_env({}, store_url="bolt://127.0.0.1:7687").refresh_interval == 0.1
    env = {"GRAPH_SERVICE_REFRESH_INTERVAL": "0"}
    assert Settings.from_env(env, store_url="bolt://127.0.0.1:7687").refresh_interval == 0
    with pytest.raises(SettingsError, match="GRAPH_SERVICE_REFRESH_INTERVAL"):
        Settings.from_env({"GRAPH_SERVICE_REFRESH_INTERVAL": "soon"})


def test_a_write_during_a_catch_up_waits_for_it_and_is_seen_when_it_returns(
    open_service: Callable[..., NetworkService],
) -> None:
    """A catch-up under way holds the engine's `updating` lock only while it swaps in what it read; a
    write that comes meanwhile waits for that, then applies its own records: when it returns, a read
    sees it (the store and the engine never disagree after a write returns)."""
    service = open_service()
    service.import_divisions(ADMIN, DIVISIONS)
    service.import_stations(ADMIN, STATIONS)
    written: list[tuple[int, int]] = []

    def write() -> None:
        updated = service.update_station(ADMIN, "GS", {"staff": 5}, None)
        written.append((updated.staff, updated.version))

    with service.engine.updating:
        writer = threading.Thread(target=write)
        writer.start()
        writer.join(timeout=0.5)
        assert writer.is_alive()  # waiting for the catch-up to let go of the engine
    writer.join(timeout=60)
    assert written == [(5, 2)]
    assert service.engine.station("GS").staff == 5
    assert service.engine.version == service.store.data_version()
    assert service.engine.rollup("52", DAY).staff == 3 + 5


def test_a_catch_up_reads_the_store_without_holding_writers(
    open_service: Callable[..., NetworkService],
) -> None:
    """While a catch-up reads another writer's changes from the store, the engine's `updating` lock is
    free (a write may apply its own records meanwhile); the changes read are applied after it."""
    service, other = open_service(), open_service()
    service.import_divisions(ADMIN, DIVISIONS)
    other.refresh(force=True)
    other.import_stations(ADMIN, STATIONS)
    read = service.store.changes_since
    free_while_reading: list[bool] = []

    def reading(version: int) -> object:
        free_while_reading.append(_free_for_another_thread(service.engine.updating))
        return read(version)

    with mock.patch.object(service.store, "changes_since", reading):
        assert service.refresh(force=True)
    assert free_while_reading == [True]
    assert service.engine.station("GS") is not None
    assert service.engine.version == service.store.data_version()


def _free_for_another_thread(lock: object) -> bool:
    """True when another thread can take `lock` at once (it releases it again)."""
    taken: list[bool] = []

    def probe() -> None:
        got = lock.acquire(blocking=False)  # type: ignore[attr-defined]
        taken.append(got)
        if got:
            lock.release()  # type: ignore[attr-defined]

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return taken == [True]


def test_a_write_after_another_processs_write_catches_up_with_both(
    open_service: Callable[..., NetworkService],
) -> None:
    """A write that another process's write preceded catches up with that write too before it
    returns (reading the store without holding the engine), so a read after it sees both."""
    service, other = open_service(), open_service()
    service.import_divisions(ADMIN, DIVISIONS)
    service.import_stations(ADMIN, STATIONS)
    other.refresh(force=True)
    other.update_station(ADMIN, "GC", {"staff": 7}, None)  # another process writes first
    updated = service.update_station(ADMIN, "GS", {"staff": 5}, None)
    assert (updated.staff, updated.version) == (5, 2)
    assert service.engine.station("GS").staff == 5
    assert service.engine.rollup("52", DAY).staff == 7 + 5
    assert service.engine.version == service.store.data_version()


def test_a_version_read_before_this_processs_own_write_rebuilds_nothing(
    open_service: Callable[..., NetworkService],
) -> None:
    """(issue 9: in the load run one write took 30 s, with no error) The background catch-up reads the
    store's version; when a write of this process commits and is applied before the catch-up compares
    that version with the engine's, the engine is ahead of what was read. That is not a store gone
    back, so nothing is rebuilt (at national scale a rebuild holds every write for many seconds)."""
    service = open_service()
    service.import_divisions(ADMIN, DIVISIONS)
    service.import_stations(ADMIN, STATIONS)
    read_version = service.store.data_version

    def version_then_a_write() -> int:
        current = read_version()
        writer = threading.Thread(target=service.update_station, args=(ADMIN, "GS", {"staff": 5}, None))
        writer.start()  # the write thread commits and applies its write meanwhile
        writer.join(timeout=60)
        return current

    with (
        mock.patch.object(service.store, "data_version", version_then_a_write),
        mock.patch.object(syncing, "rebuild", wraps=syncing.rebuild) as rebuild,
    ):
        service.refresh(force=True)  # what the follower does on each round
    assert rebuild.call_count == 0
    assert service.engine.station("GS").staff == 5
    assert service.engine.version == service.store.data_version()


def test_a_write_waits_for_the_catch_up_under_way_instead_of_repeating_it(
    open_service: Callable[..., NetworkService],
) -> None:
    """(issue 9) A write that finds the store ahead of the engine by another process's writes (an
    import) while the follower is catching up with them waits for that catch-up and applies only what
    is still missing: the other process's records are read once, not once per thread. When the write
    returns, the engine holds it and the other process's write."""
    service, other = open_service(), open_service()
    service.import_divisions(ADMIN, DIVISIONS)
    service.import_stations(ADMIN, STATIONS)
    other.refresh(force=True)
    other.update_station(ADMIN, "GC", {"staff": 7}, None)  # another process writes
    base = service.engine.version
    read = service.store.changes_since
    bases: list[int] = []
    reading, go_on = threading.Event(), threading.Event()

    def slow_read(version: int) -> object:
        bases.append(version)
        if len(bases) == 1:  # the follower's read: held until the write has committed
            reading.set()
            go_on.wait(timeout=60)
        return read(version)

    written: list[tuple[int, int]] = []

    def write() -> None:
        updated = service.update_station(ADMIN, "GS", {"staff": 5}, None)
        written.append((updated.staff, updated.version))

    with mock.patch.object(service.store, "changes_since", slow_read):
        follower = threading.Thread(target=service.refresh, kwargs={"force": True})
        follower.start()
        assert reading.wait(timeout=60)
        writer = threading.Thread(target=write)
        writer.start()
        deadline = time.monotonic() + 60
        while service.store.data_version() < base + 2 and time.monotonic() < deadline:
            time.sleep(0.01)  # the write commits (the follower's read is held meanwhile)
        assert service.store.data_version() == base + 2
        given_up = time.monotonic() + 1.0
        while len(bases) < 2 and time.monotonic() < given_up:
            time.sleep(0.01)  # a write that read the changes itself (the bug) would do it by now
        go_on.set()
        follower.join(timeout=60)
        writer.join(timeout=60)
    assert written == [(5, 2)]
    assert bases[0] == base and len(bases) == len(set(bases)), bases
    assert service.engine.station("GS").staff == 5
    assert service.engine.rollup("52", DAY).staff == 7 + 5
    assert service.engine.version == service.store.data_version()
