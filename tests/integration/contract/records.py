"""The records the contract suite writes and reads back: divisions of every level (one name with quotes
and a comma) and stations of several levels and statuses, optional fields set on some and empty on others."""

from __future__ import annotations

from datetime import date

from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus
from graph_service.domain.model import Division, Station

P, C, K, T, V = (
    DivisionLevel.PROVINCE,
    DivisionLevel.CITY,
    DivisionLevel.COUNTY,
    DivisionLevel.TOWNSHIP,
    DivisionLevel.VILLAGE,
)

DIVISIONS: list[Division] = [
    Division("52", "贵州省", P),
    Division("5201", "贵阳市", C, "52"),
    Division("520102", "南明区", K, "5201"),
    Division("520102001", "新华路街道", T, "520102"),
    Division("520102001001", "富水南路社区", V, "520102001"),
    Division("5223", "黔西南布依族苗族自治州", C, "52"),
    Division("522324", "晴隆县", K, "5223"),
    Division("522324002", "莲城街道", T, "522324"),
    Division("522324100", 'Township, with "quotes" and a comma', T, "5223"),
]

STATIONS: list[Station] = [
    Station(
        "GC-5201",
        "贵阳市社会工作指导中心",
        StationLevel.GUIDANCE_CENTRE,
        "5201",
        None,
        StationStatus.OPERATING,
        opened_on=date(2021, 3, 1),
        staff=5,
        certified_staff=3,
        volunteers=12,
    ),
    Station(
        "GS-520102",
        "南明区社会工作总站",
        StationLevel.GENERAL_STATION,
        "520102",
        "GC-5201",
        StationStatus.CLOSED,
        opened_on=date(2019, 12, 31),
        closed_on=date(2024, 2, 29),
        staff=4,
        certified_staff=4,
        volunteers=0,
        version=3,
    ),
    Station(
        "TS-520102001",
        "新华路街道社会工作服务站",
        StationLevel.TOWNSHIP_STATION,
        "520102001",
        "GS-520102",
        StationStatus.BUILDING,
        version=2,
    ),
    Station(
        "VR-520102001001",
        "富水南路社区社会工作室",
        StationLevel.VILLAGE_ROOM,
        "520102001001",
        "TS-520102001",
        StationStatus.PLANNED,
        staff=1,
    ),
    Station("GS-522324", "晴隆县社会工作总站", StationLevel.GENERAL_STATION, "522324", None),
]
