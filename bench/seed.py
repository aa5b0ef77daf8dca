"""Seeding a store the way an admin does: the division file, then the station file, through
`NetworkService.import_*` (parse, validate whole, write in one transaction), timed.

Two rates come out of each import: end to end (parse + validation + write, what `graph-service seed`
costs once its process is up) and store only (from the first batch written to the commit, as reported
by the import's progress callback).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterable, Sequence
from typing import Any

from graph_service.bootstrap import open_service
from graph_service.domain.model import Division, Station
from graph_service.domain.station_fields import csv_values
from graph_service.domain.validation import DIVISION_COLUMNS, STATION_COLUMNS
from graph_service.service_layer.auth import Principal
from graph_service.service_layer.services import ImportReport, NetworkService
from graph_service.service_layer.settings import Settings


def divisions_csv(divisions: Iterable[Division]) -> bytes:
    """The divisions as a division file (spec §2)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(DIVISION_COLUMNS)
    writer.writerows((d.code, d.name, str(d.level), d.parent_code or "") for d in divisions)
    return buffer.getvalue().encode("utf-8")


def stations_csv(stations: Iterable[Station]) -> bytes:
    """The stations as a station file (spec §2)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(STATION_COLUMNS)
    writer.writerows(csv_values(s) for s in stations)
    return buffer.getvalue().encode("utf-8")


def seed(store_url: str, divisions: Sequence[Division], stations: Sequence[Station]) -> dict[str, Any]:
    """Import both files into the (empty) store at `store_url`, each with a freshly opened service as
    the command line does; return the timings and rates."""
    settings = Settings.from_env(store_url=store_url)
    division_file = divisions_csv(divisions)
    station_file = stations_csv(stations)

    service, open_empty = _timed_open(settings)
    try:
        division_import = _timed_import(service.import_divisions, division_file, len(divisions))
    finally:
        service.close()
    del division_file

    service, open_with_divisions = _timed_open(settings)
    try:
        station_import = _timed_import(service.import_stations, station_file, len(stations))
    finally:
        service.close()
    return {
        "divisions": division_import,
        "stations": station_import,
        "service_open_empty_s": open_empty,
        "service_open_before_stations_s": open_with_divisions,
    }


def _timed_open(settings: Settings) -> tuple[NetworkService, float]:
    """The service over the configured store, and the seconds opening it (load and build) took."""
    opened = time.perf_counter()
    service = open_service(settings)
    return service, time.perf_counter() - opened


def _timed_import(importer: Any, data: bytes, rows: int) -> dict[str, Any]:
    write_started: list[float] = []

    def progress(written: int, total: int) -> None:
        if written == 0 and not write_started:
            write_started.append(time.perf_counter())

    started = time.perf_counter()
    report: ImportReport = importer(Principal.local_admin(), data, follow=False, progress=progress)
    finished = time.perf_counter()
    if report.errors or not report.applied or report.created != rows:
        shown = "; ".join(f"row {p.row}: {p.message}" for p in report.errors[:5])
        raise RuntimeError(
            f"the generated file was not imported as expected (created {report.created} of {rows}): {shown}"
        )
    write_s = finished - write_started[0] if write_started else float("nan")
    total_s = finished - started
    return {
        "rows": rows,
        "end_to_end_s": total_s,
        "write_s": write_s,
        "validate_s": total_s - write_s,
        "end_to_end_per_s": rows / total_s,
        "store_only_per_s": rows / write_s,
    }
