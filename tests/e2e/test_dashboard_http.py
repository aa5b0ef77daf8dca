"""Spec §8 over HTTP without a browser: the gap list download, the dashboard's files, GraphiQL's
vendored files, and that all of them ship in the package."""

from __future__ import annotations

import csv
import gzip
import io
import re
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import openpyxl
import pytest

from graph_service.entrypoints import cli
from tests.support.network import Api, single_error, token
from tests.support.paths import REPO

STATIC = resources.files("graph_service.entrypoints").joinpath("static")
DASHBOARD_BUDGET = 300 * 1024
"""The dashboard's own files, gzip-compressed, together (spec §8; GraphiQL aside)."""


def cli_export(capsys: pytest.CaptureFixture[str], store_url: str, *args: str) -> str:
    status = cli.main(["export", "uncovered", *args, "--store", store_url])
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


def sheet_rows(data: bytes) -> list[list[str]]:
    """The rows of an .xlsx file's first sheet, read by openpyxl (None cells as "")."""
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return [["" if cell is None else cell for cell in row] for row in sheet.iter_rows(values_only=True)]


# --- GET /export/uncovered -----------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("query", "cli_args"),
    [
        (
            "under=52&level=township&asOf=2021-12-31",
            ["--under", "52", "--level", "township", "--as-of", "2021-12-31"],
        ),
        (
            "under=522324&level=village&asOf=2022-06-01",
            ["--under", "522324", "--level", "village", "--as-of", "2022-06-01"],
        ),
        ("under=52&level=county", ["--under", "52", "--level", "county"]),
    ],
)
async def test_csv_download_is_the_cli_export(
    api: Api, capsys: pytest.CaptureFixture[str], query: str, cli_args: list[str]
) -> None:
    response = await api.client.get(f"/export/uncovered?{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="uncovered-')
    assert response.text == cli_export(capsys, api.service.store.url, *cli_args)


@pytest.mark.anyio
async def test_xlsx_download_holds_the_csv_rows_as_text(
    api: Api, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    csv_text = (await api.client.get("/export/uncovered?under=52&level=village&asOf=2021-12-31")).text
    response = await api.client.get("/export/uncovered?under=52&level=village&asOf=2021-12-31&format=xlsx")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument")
    assert 'filename="uncovered-52-village-2021-12-31.xlsx"' in response.headers["content-disposition"]
    rows = sheet_rows(response.content)
    assert rows == list(csv.reader(io.StringIO(csv_text)))
    assert rows[0] == ["code", "name", "level", "path"] and len(rows) > 1
    # Codes stay text (leading digits and length kept), not numbers.
    sheet = zipfile.ZipFile(io.BytesIO(response.content)).read("xl/worksheets/sheet1.xml").decode()
    assert 't="inlineStr"' in sheet and "<v>" not in sheet
    # The CLI writes the same workbook content to a file.
    output = tmp_path / "gaps.xlsx"
    cli_export(
        capsys,
        api.service.store.url,
        "--under",
        "52",
        "--level",
        "village",
        "--as-of",
        "2021-12-31",
        "--format",
        "xlsx",
        "--output",
        str(output),
    )
    assert sheet_rows(output.read_bytes()) == rows


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("level=township", 400, "under"),
        ("under=52", 400, "level"),
        ("under=52&level=province", 400, "level: 'province'"),
        ("under=52&level=TOWNSHIP", 400, "level"),
        ("under=52&level=township&asOf=2021-13-01", 400, "asOf"),
        ("under=52&level=township&asOf=21-1-1", 400, "asOf"),
        ("under=52&level=township&asOf=1899-12-31", 400, "1900..2100"),
        ("under=52&level=township&format=pdf", 400, "format"),
        ("under=52&level=township&as_of=2021-01-01", 400, "as_of"),
        ("under=99&level=township", 404, "99"),
    ],
)
async def test_bad_export_parameters_are_refused_clearly(
    api: Api, query: str, status: int, words: str
) -> None:
    error = single_error(await api.client.get(f"/export/uncovered?{query}"), status)
    assert words in error["message"]
    assert error["extensions"]["code"] == ("NOT_FOUND" if status == 404 else "BAD_USER_INPUT")


@pytest.mark.anyio
async def test_private_export_needs_a_token(private_api: Api) -> None:
    url = "/export/uncovered?under=52&level=township&format=xlsx"
    error = single_error(await private_api.client.get(url), 401)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    bad = await private_api.client.get(url, headers={"Authorization": "Bearer not-a-token"})
    assert single_error(bad, 401)["extensions"]["code"] == "UNAUTHENTICATED"
    # Who asks is checked first: bad parameters without a token are still UNAUTHENTICATED.
    error = single_error(await private_api.client.get("/export/uncovered?level=nation"), 401)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    good = await private_api.client.get(url, headers={"Authorization": f"Bearer {token('viewer', '52')}"})
    assert good.status_code == 200 and sheet_rows(good.content)[0] == ["code", "name", "level", "path"]
    # The pages themselves load without a token: they ask for one before reading.
    for page in ("/", "/graphql", "/static/dashboard/app.js"):
        assert (await private_api.client.get(page)).status_code == 200, page


# --- the page and its files ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_dashboard_and_graphiql_load_only_files_of_this_service(api: Api) -> None:
    for page in ("/", "/graphql"):
        response = await api.client.get(page)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        assert "unpkg" not in response.text and "cdn" not in response.text.lower()
        links = re.findall(r'(?:src|href)="([^"]+)"', response.text)
        assert links, page
        for link in links:
            if link.startswith(("data:", "#")):
                continue
            assert link.startswith("/"), f"{page} loads {link} from elsewhere"
            if link.startswith("/static/"):
                assert (await api.client.get(link)).status_code == 200, link


@pytest.mark.anyio
async def test_static_files_are_compressed_when_asked(api: Api) -> None:
    response = await api.client.get("/static/dashboard/app.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["content-encoding"] == "gzip"
    assert "javascript" in response.headers["content-type"]
    again = await api.client.get(
        "/static/dashboard/app.js", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304 and not again.content
    assert (await api.client.get("/static/nothing-here.js")).status_code == 404
    assert (await api.client.get("/static/../app.py")).status_code == 404


def test_dashboard_files_fit_the_budget() -> None:
    folder = STATIC.joinpath("dashboard")
    files = [entry for entry in folder.iterdir() if entry.is_file()]
    assert {f.name for f in files} >= {"index.html", "app.js", "api.js", "chart.js", "i18n.js", "style.css"}
    compressed = sum(len(gzip.compress(f.read_bytes(), 9)) for f in files)
    assert compressed < DASHBOARD_BUDGET
    for entry in files:
        text = entry.read_text(encoding="utf-8")
        assert not re.search(
            r"(?:src|href)=\"https?:|url\(['\"]?https?:|import .* from ['\"]https?:", text
        ), entry


def test_vendored_files_are_recorded() -> None:
    record = STATIC.joinpath("vendor", "VENDORED.md").read_text(encoding="utf-8")
    for name in (
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ):
        assert name in record
    assert STATIC.joinpath("vendor", "graphiql", "LICENSE").is_file()
    assert STATIC.joinpath("vendor", "react", "LICENSE").is_file()


def test_a_built_wheel_holds_the_static_files(tmp_path: Path) -> None:
    """`pip install .` (not editable) must install the page and GraphiQL's files too."""
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("graph_service-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "dashboard/index.html",
        "dashboard/app.js",
        "dashboard/style.css",
        "graphiql.html",
        "graphiql-start.js",
        "vendor/graphiql/graphiql.min.js",
        "vendor/graphiql/graphiql.min.css",
        "vendor/react/react.production.min.js",
        "vendor/react/react-dom.production.min.js",
        "vendor/VENDORED.md",
    ):
        assert f"graph_service/entrypoints/static/{name}" in names, name


@pytest.mark.anyio
async def test_csv_download_is_spreadsheet_safe_and_xlsx_keeps_the_text(api: Api) -> None:
    from graph_service.service_layer.auth import Principal

    report = api.service.import_divisions(
        Principal.local_admin(), "code,name,level,parent_code\n522324199,=SUM(1+1)镇,township,522324\n"
    )
    assert report.applied and not report.errors, report.errors
    url = "/export/uncovered?under=522324&level=township&asOf=2021-12-31"
    rows = list(csv.reader(io.StringIO((await api.client.get(url)).text)))
    formula = next(row for row in rows if row[0] == "522324199")
    assert formula[1] == "'=SUM(1+1)镇"
    # In the workbook every cell is a text cell, never a formula, so the name is kept as it is.
    sheet = sheet_rows((await api.client.get(url + "&format=xlsx")).content)
    assert next(row for row in sheet if row[0] == "522324199")[1] == "=SUM(1+1)镇"
