"""The follower's account of a catch-up in the server's log, on each store (issue 9: the load run reads
it to say where a slow catch-up spent its time)."""

from __future__ import annotations

import logging
import re
from datetime import date

import pytest

from graph_service.bootstrap import open_store
from graph_service.domain.levels import StationLevel, StationStatus
from graph_service.domain.model import Station
from graph_service.service_layer.following import Follower
from graph_service.service_layer.services import NetworkService


def test_the_follower_logs_a_catch_up_with_its_cost_and_the_store_s_time(
    service: NetworkService, caplog: pytest.LogCaptureFixture
) -> None:
    """A catch-up with another process's write is logged with its wall time, its CPU by phase, and
    the wall time the store took to give the changes (slow catch-ups in the load run took seconds
    with milliseconds of CPU: this says whether the store or the engine took them)."""
    other = open_store(service.settings)  # another handle on the store: as another process
    try:
        room = Station(
            "LOG-1",
            "日志村站",
            StationLevel.VILLAGE_ROOM,
            "522324100001",
            status=StationStatus.OPERATING,
            opened_on=date(2021, 1, 1),
        )
        other.upsert_stations([room], {room.id: None})
    finally:
        other.close()
    with caplog.at_level(logging.INFO, logger="graph_service.following"):
        Follower(service).check()
    (message,) = [
        record.getMessage() for record in caplog.records if record.name == "graph_service.following"
    ]
    number = r"[0-9]+\.[0-9]{3}"
    assert re.fullmatch(
        rf"caught up from data version \d+ to \d+ in {number} s \({number} s of CPU: read {number} s, "
        rf"check {number} s\); the store answered in {number} s",
        message,
    ), message
    assert service.engine.station("LOG-1") == room
