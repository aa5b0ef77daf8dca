"""The other `graph-service` commands end to end: export uncovered, token, schema, serve, help (spec §4)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from graph_service.entrypoints import exports as gap_list
from tests.support.cli import DIVISIONS, run, write

# On 2021-12-31 the small network of tests/support/cli.py covers 东观街道 (opened 2021-09-29) and
# 花贡镇 (open 2020-01-01 … 2022-06-30); 莲城街道 has a station still being built.
UNCOVERED_2021 = [
    ("522301001", "黄草街道", "township", "贵州省 / 黔西南布依族苗族自治州 / 兴义市 / 黄草街道"),
    ("522324002", "莲城街道", "township", "贵州省 / 黔西南布依族苗族自治州 / 晴隆县 / 莲城街道"),
]


# --- export uncovered ----------------------------------------------------------------------------


def test_export_uncovered_as_csv(network: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys,
        "export",
        "uncovered",
        "--under",
        "52",
        "--level",
        "township",
        "--as-of",
        "2021-12-31",
        "--store",
        network,
    )
    assert status == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["code", "name", "level", "path"]
    assert [tuple(row) for row in rows[1:]] == UNCOVERED_2021
    assert "2 uncovered townships under 52 贵州省 on 2021-12-31" in err


def test_export_uncovered_as_json(network: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys,
        "--store",
        network,
        "export",
        "uncovered",
        "--under",
        "5223",
        "--level",
        "township",
        "--as-of",
        "2022-06-30",
        "--format",
        "json",
    )
    assert status == 0, err
    records = json.loads(out)
    # 花贡镇's station closed on 2022-06-30, so on that day it is uncovered again.
    assert [record["code"] for record in records] == ["522301001", "522324002", "522324105"]
    assert records[2] == {
        "code": "522324105",
        "name": "花贡镇",
        "level": "township",
        "path": ["贵州省", "黔西南布依族苗族自治州", "晴隆县", "花贡镇"],
    }


def test_export_uncovered_walks_every_page(
    network: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gap_list, "EXPORT_PAGE_SIZE", 1)
    status, out, _ = run(
        capsys,
        "export",
        "uncovered",
        "--under",
        "52",
        "--level",
        "village",
        "--as-of",
        "2021-12-31",
        "--store",
        network,
    )
    assert status == 0
    assert [row[0] for row in csv.reader(io.StringIO(out))] == ["code", "522324002001", "522324002002"]


def test_export_of_nothing_uncovered_is_a_header_or_an_empty_list(
    network: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "export",
        "uncovered",
        "--under",
        "5223",
        "--level",
        "city",
        "--as-of",
        "2021-12-31",
        "--store",
        network,
    ]
    status, out, err = run(capsys, *argv)
    assert (status, out) == (0, "code,name,level,path\n")
    assert "0 uncovered cities" in err
    status, out, _ = run(capsys, *argv, "--format", "json")
    assert (status, json.loads(out)) == (0, [])


def test_export_defaults_to_today(network: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys, "export", "uncovered", "--under", "522324", "--level", "township", "--store", network
    )
    assert status == 0, err
    # Today 东观街道 is covered and 花贡镇's station has closed; 莲城街道's is still being built.
    assert [row[0] for row in csv.reader(io.StringIO(out))][1:] == ["522324002", "522324105"]


def test_export_under_an_unknown_division_fails(network: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys, "export", "uncovered", "--under", "99", "--level", "township", "--store", network
    )
    assert (status, out) == (1, "")
    assert "no division with code '99'" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--level", "town"], "invalid choice: 'town'"),
        (["--level", "province"], "invalid choice: 'province'"),
        (
            ["--level", "township", "--as-of", "2021-02-30"],
            "'2021-02-30' is not a date in the form YYYY-MM-DD",
        ),
        (["--level", "township", "--as-of", "31/12/2021"], "not a date"),
        (["--level", "township", "--format", "xml"], "invalid choice: 'xml'"),
        ([], "the following arguments are required: --level"),
    ],
)
def test_export_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "export", "uncovered", "--under", "52", *argv)
    assert (status, out) == (2, "")
    assert message in err


# --- token ---------------------------------------------------------------------------------------

SECRET = "test-secret-that-is-long-enough-for-hs256"


def test_token_is_signed_with_the_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPH_SERVICE_JWT_SECRET", SECRET)
    status, out, err = run(capsys, "token", "--role", "editor", "--scope", "5223", "--subject", "clerk")
    assert status == 0, err
    claims = jwt.decode(out.strip(), SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["role"], claims["scope"]) == ("clerk", "editor", "5223")
    expires = datetime.fromtimestamp(claims["exp"], UTC) - datetime.now(UTC)
    assert timedelta(hours=7, minutes=59) < expires <= timedelta(hours=8)
    assert "editor of division 5223 and below, valid for 8h" in err


def test_token_ttl_and_admin_scope(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPH_SERVICE_JWT_SECRET", SECRET)
    status, out, _ = run(capsys, "token", "--role", "admin", "--scope", "*", "--ttl", "30m")
    assert status == 0
    claims = jwt.decode(out.strip(), SECRET, algorithms=["HS256"])
    assert claims["scope"] == "*"
    assert claims["exp"] - claims["iat"] == 1800


def test_token_without_a_secret_says_what_to_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRAPH_SERVICE_JWT_SECRET", raising=False)
    status, out, err = run(capsys, "token", "--role", "admin", "--scope", "52")
    assert (status, out) == (2, "")
    assert "GRAPH_SERVICE_JWT_SECRET is not set" in err
    assert "export GRAPH_SERVICE_JWT_SECRET=" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--role", "editor", "--scope", "*"], "only an admin may have scope *"),
        (["--role", "editor", "--scope", "52", "--ttl", "forever"], "is not a duration"),
        (["--role", "editor", "--scope", "52", "--ttl", "0h"], "is not a duration"),
        (["--role", "boss", "--scope", "52"], "invalid choice: 'boss'"),
        (["--role", "editor"], "the following arguments are required: --scope"),
        (["--role", "editor", "--scope", " "], "--scope needs a division code"),
    ],
)
def test_token_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPH_SERVICE_JWT_SECRET", SECRET)
    status, out, err = run(capsys, "token", *argv)
    assert (status, out) == (2, "")
    assert message in err


# --- schema and serve ----------------------------------------------------------------------------


def test_schema_prints_the_sdl(capsys: pytest.CaptureFixture[str]) -> None:
    schema = pytest.importorskip("graph_service.entrypoints.graphql")
    status, out, _ = run(capsys, "schema")
    assert status == 0
    assert out.rstrip("\n") == schema.sdl().rstrip("\n")
    for text in ("type Query", "uncoveredDivisions", "type Mutation", "importStations"):
        assert text in out


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ("postgres://db/network", "unsupported store URL"),
        ("sqlite:///{tmp}/no/such/folder/x.db", "does not exist"),
    ],
)
def test_serve_refuses_an_unusable_store_before_binding(
    store: str,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("uvicorn.run must not be reached")

    monkeypatch.setattr(uvicorn, "run", never)
    status, _, err = run(capsys, "serve", "--store", store.format(tmp=tmp_path), "--port", "8765")
    assert status == 1
    assert "cannot use the store" in err and message in err


def test_serve_starts_on_a_damaged_store_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    import uvicorn

    calls: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(app))
    url = f"sqlite:///{tmp_path / 'broken.db'}"
    status, _, _ = run(capsys, "seed", "divisions", str(write(tmp_path / "d.csv", DIVISIONS)), "--store", url)
    assert status == 0
    with sqlite3.connect(tmp_path / "broken.db") as conn:  # a township directly under the province
        conn.execute("UPDATE divisions SET level = 'township' WHERE code = '5223'")
    status, _, err = run(capsys, "serve", "--store", url)
    assert status == 0 and len(calls) == 1
    assert "break the rules; they are left out" in err and "graph-service check" in err


def test_serve_runs_the_app_on_the_host_and_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("graph_service.entrypoints.app")
    import uvicorn

    calls: list[tuple[object, dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append((app, kwargs)))
    status, _, err = run(capsys, "serve", "--store", f"sqlite:///{tmp_path / 's.db'}", "--port", "8765")
    assert status == 0, err
    assert len(calls) == 1 and calls[0][1] == {"host": "127.0.0.1", "port": 8765}
    assert "GraphiQL: http://127.0.0.1:8765/graphql" in err


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_serve_rejects_a_bad_port(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "serve", "--port", port)
    assert status == 2
    assert "is not a port number" in err


# --- help and usage ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "texts"),
    [
        ([], ["serve", "seed", "export", "token", "schema", "exit status", "GRAPH_SERVICE_STORE"]),
        (["serve"], ["--host", "--port", "GraphiQL", "127.0.0.1", "8000"]),
        (["export", "uncovered"], ["--under", "--level", "--as-of", "--format", "path", "province"]),
        (["token"], ["--role", "--scope", "--ttl", "GRAPH_SERVICE_JWT_SECRET", "8h", "Authorization"]),
        (["schema"], ["SDL"]),
    ],
)
def test_every_command_explains_itself(
    argv: list[str], texts: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, *argv, "--help")
    assert status == 0
    words = " ".join(out.split())
    for text in texts:
        assert text in words


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["export"], ["export", "covered"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert "usage: graph-service" in err
