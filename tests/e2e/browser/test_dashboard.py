"""The planners' dashboard (spec §8) in Debian's Chromium, on the Guizhou demo."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl

from bench.dashboard import DemoServer as Server
from graph_service.service_layer.auth import Role, issue_token
from tests.support.browser import SECRET, Watched, cli

QUERY_TIMEOUT = 15_000


def wait_view(page: Any, code: str, as_of: str) -> None:
    """Wait until the page has drawn division `code` on `as_of`, every panel included."""
    page.wait_for_selector(f'body[data-state="ready"][data-view="{code} {as_of}"]', timeout=QUERY_TIMEOUT)


def texts(page: Any, selector: str) -> list[str]:
    return [text.strip() for text in page.locator(selector).all_inner_texts()]


def graphql(server: Server, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ask the served /graphql directly (the oracle for what the page shows)."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        f"{server.url}/graphql", body, {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    assert "errors" not in answer, answer
    return answer["data"]


def sheet_rows(path: Path | bytes) -> list[list[str]]:
    source = io.BytesIO(path) if isinstance(path, bytes) else path
    sheet = openpyxl.load_workbook(source, read_only=True).worksheets[0]
    return [["" if cell is None else cell for cell in row] for row in sheet.iter_rows(values_only=True)]


def download(page: Any, button: str) -> bytes:
    with page.expect_download(timeout=QUERY_TIMEOUT) as info:
        page.click(button)
    return Path(info.value.path()).read_bytes()


def today_in_shanghai(page: Any) -> str:
    return page.evaluate(
        "new Intl.DateTimeFormat('en-CA', {timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit',"
        " day: '2-digit'}).format(new Date())"
    )


def test_a_planners_path_through_qinglong(demo: Server, open_page: Any, tmp_path: Path) -> None:
    watched: Watched = open_page(demo.url, viewport={"width": 1280, "height": 800})
    page = watched.page
    page.goto(f"{demo.url}/")
    today = today_in_shanghai(page)
    wait_view(page, "52", today)
    assert page.locator("h1").inner_text() == "社会工作服务站覆盖"
    assert page.input_value("#asof") == today

    # Search by name, then by code.
    page.fill("#search", "晴隆")
    page.wait_for_selector('#results li[data-code="522324"]', timeout=QUERY_TIMEOUT)
    assert "晴隆县" in page.locator('#results li[data-code="522324"]').inner_text()
    page.fill("#search", "522324")
    page.wait_for_selector('#results li[data-code="522324"]', timeout=QUERY_TIMEOUT)
    page.press("#search", "Escape")

    # Drill down from the province: 贵州省 → 黔西南州 → 晴隆县, and set the date.
    page.click('#children a[data-code="5223"]')
    wait_view(page, "5223", today)
    page.click('#children a[data-code="522324"]')
    wait_view(page, "522324", today)
    assert texts(page, "#crumbs > a, #crumbs > span:not(.sep)") == [
        "贵州省",
        "黔西南布依族苗族自治州",
        "晴隆县",
    ]
    page.fill("#asof", "2021-12-31")
    wait_view(page, "522324", "2021-12-31")

    # Its 14 uncovered townships (of 16 in the 2021 table, in force that day), as the CLI lists them.
    expected_csv = cli(
        "export",
        "uncovered",
        "--under",
        "522324",
        "--level",
        "township",
        "--as-of",
        "2021-12-31",
        "--store",
        demo.store_url,
    ).stdout
    expected_rows = list(csv.reader(io.StringIO(expected_csv.decode())))
    assert len(expected_rows) == 15
    assert page.locator("#gap-count").inner_text() == "共 14 个"
    assert texts(page, "#gaps tbody tr td:first-child") == [row[0] for row in expected_rows[1:]]
    coverage = {
        row.get_attribute("data-level"): row.locator("td").all_inner_texts()
        for row in page.locator("#coverage tbody tr").all()
    }
    assert coverage["township"][:3] == ["2", "16", "12.5%"]

    # Both downloads hold exactly the CLI's rows.
    assert download(page, "#download-csv") == expected_csv
    cli_xlsx = tmp_path / "cli.xlsx"
    cli(
        "export",
        "uncovered",
        "--under",
        "522324",
        "--level",
        "township",
        "--as-of",
        "2021-12-31",
        "--format",
        "xlsx",
        "--output",
        str(cli_xlsx),
        "--store",
        demo.store_url,
    )
    assert sheet_rows(download(page, "#download-xlsx")) == sheet_rows(cli_xlsx) == expected_rows

    # Up to the prefecture by the breadcrumb; the counties sorted by township coverage.
    page.click('#crumbs a[data-code="5223"]')
    wait_view(page, "5223", "2021-12-31")
    counties = graphql(
        demo,
        '{ division(code: "5223") { children { edges { node { code '
        'coverage(asOf: "2021-12-31") { level rate } } } } } }',
    )["division"]["children"]["edges"]
    township_rate = {
        edge["node"]["code"]: next(c["rate"] for c in edge["node"]["coverage"] if c["level"] == "TOWNSHIP")
        for edge in counties
    }
    page.click('#children th[data-sort="township"] button')
    assert page.get_attribute('#children th[data-sort="township"]', "aria-sort") == "ascending"
    shown = [row.get_attribute("data-code") for row in page.locator("#children tbody tr").all()]
    assert sorted(shown) == sorted(township_rate)
    assert [township_rate[code] for code in shown] == sorted(township_rate.values())
    page.click('#children th[data-sort="township"] button')
    assert page.get_attribute('#children th[data-sort="township"]', "aria-sort") == "descending"
    shown = [row.get_attribute("data-code") for row in page.locator("#children tbody tr").all()]
    assert [township_rate[code] for code in shown] == sorted(township_rate.values(), reverse=True)

    # The chart: its points are the service's trend, month-end by month-end, up to the goal line.
    for level in ("township", "village"):
        dots = page.locator(f'#trend g[data-series="{level}"] circle')
        points = [
            (dot.get_attribute("data-date"), float(dot.get_attribute("data-rate"))) for dot in dots.all()
        ]
        assert points[-1][0] == "2025-12-31"
        trend = graphql(
            demo,
            'query ($from: Date!) { division(code: "5223") { coverageTrend(level: '
            f'{level.upper()}, from: $from, to: "2025-12-31") {{ date rate }} }} }}',
            {"from": points[0][0]},
        )["division"]["coverageTrend"]
        assert points == [(p["date"], p["rate"]) for p in trend]
    first_covered = min(
        next(
            i
            for i, dot in enumerate(page.locator(f'#trend g[data-series="{level}"] circle').all())
            if float(dot.get_attribute("data-rate")) > 0
        )
        for level in ("township", "village")
    )
    # The chart starts the month before the first station covered anything; in the demo no division is
    # valid before its first edition (2020-06-30), so that month has no rate (no dot) and the first
    # dot, on the edition's day, already counts the stations opened before it.
    assert first_covered == 0
    assert page.locator('#trend g[data-series="township"] circle').first.get_attribute("data-date") == (
        "2020-06-30"
    )
    goal = page.locator("#trend g.goal")
    assert goal.get_attribute("data-date") == "2025-12-31" and goal.get_attribute("data-rate") == "1"
    top_line = goal.locator("line").first
    hundred = page.locator("#trend line.grid").last  # the 100% grid line
    assert top_line.get_attribute("y1") == top_line.get_attribute("y2") == hundred.get_attribute("y1")

    # The English switch, and back.
    page.click("#lang")
    assert page.locator("h1").inner_text() == "Social-work station coverage"
    assert texts(page, "#coverage tbody th")[:3] == ["County", "Township", "Village"]
    page.click("#lang")
    assert page.locator("h1").inner_text() == "社会工作服务站覆盖"

    # The stations sitting in 晴隆县 itself.
    page.click('#children a[data-code="522324"]')
    wait_view(page, "522324", "2021-12-31")
    assert texts(page, "#stations tbody td:first-child") == ["GZ-GS-522324"]
    assert "运营中" in page.locator("#stations tbody").inner_text()

    watched.assert_clean()


def test_the_page_asks_for_a_token_when_reading_is_private(private_demo: Server, open_page: Any) -> None:
    watched: Watched = open_page(private_demo.url)
    page = watched.page
    page.goto(f"{private_demo.url}/#code=522324&asOf=2021-12-31")
    page.wait_for_selector('body[data-state="token"]', timeout=QUERY_TIMEOUT)
    assert page.locator("#token").is_visible() and not page.locator("#view").is_visible()

    page.fill("#token-input", "not-a-token")
    page.click("#token button[type=submit]")
    page.wait_for_selector("#token-error:not([hidden])", timeout=QUERY_TIMEOUT)

    viewer = issue_token(
        SECRET, Role.VIEWER, "52", __import__("datetime").timedelta(hours=1), subject="planner"
    )
    page.fill("#token-input", viewer)
    page.click("#token button[type=submit]")
    wait_view(page, "522324", "2021-12-31")
    assert page.locator("#gap-count").inner_text() == "共 14 个"
    assert page.evaluate("sessionStorage.getItem('graph-service-token')") == viewer
    assert page.evaluate("Object.values({...localStorage}).some(v => v.includes('.'))") is False
    rows = list(csv.reader(io.StringIO(download(page, "#download-csv").decode())))
    assert len(rows) == 15

    # Kept for this tab only: another tab asks again.
    other: Watched = open_page(private_demo.url)
    other.page.goto(f"{private_demo.url}/")
    other.page.wait_for_selector('body[data-state="token"]', timeout=QUERY_TIMEOUT)
    # The 401s the page answers by asking for a token are logged by Chromium as failed loads.
    for log in (watched, other):
        log.errors = [e for e in log.errors if "401" not in e]
        log.assert_clean()


def test_the_phone_layout(demo: Server, open_page: Any) -> None:
    watched: Watched = open_page(
        demo.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = watched.page
    for code in ("52", "522324"):
        page.goto(f"{demo.url}/#code={code}&asOf=2021-12-31")
        wait_view(page, code, "2021-12-31")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        for card in page.locator("section.card:visible").all():
            box = card.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, card
        header = [page.locator(s).bounding_box() for s in ("h1", "#search", "#asof", "#lang")]
        for index, first in enumerate(header):
            for second in header[index + 1 :]:
                assert not overlaps(first, second), (first, second)
        for button in page.locator("#children button.sort").all():
            box = button.bounding_box()
            assert box["x"] + box["width"] <= 390, "a sort button is off screen"
        chart = page.locator("#trend svg").bounding_box()
        assert chart["width"] <= 390
    page.tap('#children a[data-code="522324105"]')
    wait_view(page, "522324105", "2021-12-31")
    watched.assert_clean()


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_graphiql_runs_a_query_offline(demo: Server, open_page: Any) -> None:
    watched: Watched = open_page(demo.url, viewport={"width": 1280, "height": 800})
    page = watched.page
    query = '{ division(code: "522324") { name coverage(asOf: "2021-12-31") { level covered } } }'
    page.goto(f"{demo.url}/graphql?query={urllib.request.quote(query)}")
    page.wait_for_selector(".graphiql-container", timeout=QUERY_TIMEOUT)
    page.click(".graphiql-execute-button")
    page.wait_for_function(
        "document.querySelector('.result-window')?.innerText.includes('晴隆县')", timeout=QUERY_TIMEOUT
    )
    assert '"covered": 2' in page.locator(".result-window").inner_text()
    watched.assert_clean()


def test_today_is_the_default_date(demo: Server, open_page: Any) -> None:
    watched: Watched = open_page(demo.url)
    page = watched.page
    page.goto(f"{demo.url}/#code=5223")
    today = today_in_shanghai(page)
    wait_view(page, "5223", today)
    assert date.fromisoformat(page.input_value("#asof")) == date.fromisoformat(today)
    watched.assert_clean()
