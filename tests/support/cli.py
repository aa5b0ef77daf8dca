"""The command line's small network (two CSV files) and running `graph-service` in this process.

The fixtures built on them (`store_url`, `files`, `network`) are in tests/e2e/conftest.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graph_service.bootstrap import open_store
from graph_service.entrypoints import cli
from graph_service.service_layer.settings import Settings

DIVISIONS = """\
code,name,level,parent_code
52,贵州省,province,
5223,黔西南布依族苗族自治州,city,52
522301,兴义市,county,5223
522324,晴隆县,county,5223
522301001,黄草街道,township,522301
522324001,东观街道,township,522324
522324002,莲城街道,township,522324
522324105,花贡镇,township,522324
522324002001,中心社区居民委员会,village,522324002
522324002002,南街社区居民委员会,village,522324002
"""
DIVISION_COUNT = 10

STATIONS = """\
id,name,level,division_code,parent_id,status,opened_on,closed_on,staff,certified_staff,volunteers
GC-5223,黔西南州社会工作指导中心,guidance_centre,5223,,operating,2018-03-01,,5,2,40
GS-522324,晴隆县社会工作总站,general_station,522324,GC-5223,operating,2019-02-09,,2,1,29
TS-522324001,东观街道社会工作服务站,township_station,522324001,GS-522324,operating,2021-09-29,,3,1,20
TS-522324105,花贡镇社会工作服务站,township_station,522324105,GS-522324,closed,2020-01-01,2022-06-30,1,1,22
TS-522324002,莲城街道社会工作服务站,township_station,522324002,GS-522324,building,,,0,0,
VR-522324002001,中心社区社会工作室,village_room,522324002001,TS-522324002,planned,,,,,
"""
STATION_COUNT = 6
STATION_HEADER = STATIONS.splitlines()[0]


def data_version(url: str) -> int:
    """The data version of the store at `url`."""
    store = open_store(Settings.from_env(store_url=url))
    try:
        return store.data_version()
    finally:
        store.close()


def write(path: Path, text: str | bytes) -> Path:
    """Write `text` (UTF-8) or bytes to `path`; the path."""
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`graph-service ARGV` in this process: its exit status, and what it printed to stdout and stderr."""
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def section(out: str, title: str) -> list[str]:
    """The lines of a report's list whose title starts with `title`."""
    match = re.search(rf"^{re.escape(title)}[^\n]*:\n((?:  [^\n]*\n)*)", out, re.MULTILINE)
    assert match is not None, f"no section {title!r} in:\n{out}"
    return [line.strip() for line in match.group(1).splitlines()]
