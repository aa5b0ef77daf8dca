"""The dashboard on the Guizhou demo, in Debian's Chromium: its speed, and the README's screenshots.

    python -m bench.dashboard speed [--runs N]        the figures of the README's dashboard section
    python -m bench.dashboard screenshots [--out DIR] regenerate docs/screenshots/*.png

Both seed the demo (seed/demo.py: the four editions and the demo stations) into a temporary SQLite
store and serve it with uvicorn on a free loopback port in this process; the browser tests
(tests/e2e/browser/) use the same `DemoServer`.

Speed is read from the page's own Performance API: `document.body.dataset.drawnAt` is
`performance.now()` when every panel of a view is drawn (for a first load, milliseconds since the
navigation started), and the page's own assets are the transfer sizes (gzip) of the document and
/static/dashboard/* in the resource timing entries.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from graph_service.bootstrap import open_service
from graph_service.entrypoints.app import create_app
from graph_service.service_layer.services import NetworkService
from graph_service.service_layer.settings import Settings
from seed.demo import seed_demo

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
AS_OF = "2021-12-31"
DRILL = ("52", "5223", "522324", "522324105")
"""The drill-down walked: 贵州省 → 黔西南州 → 晴隆县 → 花贡镇."""


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class DemoServer:
    """The service over one store, served by uvicorn in a thread of this process."""

    store_url: str
    public_read: bool = True
    jwt_secret: str | None = None
    url: str = ""
    service: NetworkService | None = None
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    def start(self) -> DemoServer:
        settings = Settings(
            store_url=self.store_url, jwt_secret=self.jwt_secret, public_read=self.public_read
        )
        self.service = open_service(settings)
        port = free_port()
        config = uvicorn.Config(create_app(self.service), host="127.0.0.1", port=port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.service is not None:
            self.service.close()


def wait_view(page: Any, code: str, as_of: str, timeout: float = 15_000) -> None:
    """Wait until the page has drawn division `code` on `as_of`, every panel included."""
    page.wait_for_selector(f'body[data-state="ready"][data-view="{code} {as_of}"]', timeout=timeout)


# --- speed ---------------------------------------------------------------------------------------


def measure(browser: Any, url: str) -> dict[str, Any]:
    """One fresh tab: the province view's first draw, each drill-down step, the page's own bytes."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{url}/#code={DRILL[0]}&asOf={AS_OF}")
    wait_view(page, DRILL[0], AS_OF)
    first = float(page.evaluate("document.body.dataset.drawnAt"))
    steps = []
    for code in DRILL[1:]:
        started = page.evaluate(
            "(code) => { const t = performance.now();"
            ' document.querySelector(`#children a[data-code="${code}"]`).click(); return t; }',
            code,
        )
        wait_view(page, code, AS_OF)
        steps.append(float(page.evaluate("document.body.dataset.drawnAt")) - started)
    own = page.evaluate(
        """() => {
            const entries = [...performance.getEntriesByType('navigation'),
                             ...performance.getEntriesByType('resource')];
            return entries.filter(e => e.entryType === 'navigation' || new URL(e.name).pathname
                                      .startsWith('/static/dashboard/'))
                          .map(e => [new URL(e.name).pathname, e.encodedBodySize, e.decodedBodySize]);
        }"""
    )
    context.close()
    return {"first": first, "steps": steps, "assets": own}


def trend_cost(service: NetworkService, repeats: int = 200) -> float:
    """Milliseconds for 120 month-end points of the province's village coverage (the median of `repeats`)."""
    from datetime import date

    from graph_service.domain.calendar import Interval
    from graph_service.domain.levels import DivisionLevel

    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        points = service.coverage_trend(
            DRILL[0], DivisionLevel.VILLAGE, date(2016, 1, 31), date(2025, 12, 31), Interval.MONTH
        )
        times.append((time.perf_counter() - started) * 1000)
        assert len(points) == 120
    return statistics.median(times)


def speed(runs: int) -> int:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        store = f"sqlite:///{folder}/demo.db"
        seed_demo(store)
        server = DemoServer(store).start()
        assert server.service is not None
        trend_ms = trend_cost(server.service)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM)
                cold = measure(browser, server.url)  # nothing cached yet on the server or in the browser
                results = [measure(browser, server.url) for _ in range(runs)]
                browser.close()
        finally:
            server.stop()
    firsts = [r["first"] for r in results]
    print(f"dashboard on the Guizhou demo, as of {AS_OF} (Chromium, 1280x800)")
    steps = ", ".join(f"{code} {ms:.0f} ms" for code, ms in zip(DRILL[1:], cold["steps"], strict=True))
    print(
        f"  first tab after the server started (nothing cached): province view {cold['first']:.0f} ms; "
        f"drill-down {steps}"
    )
    print(f"  then {runs} fresh tabs (the server's response cache warm, the browser's cache empty):")
    print(
        f"    province view (52) fully drawn after navigation: median {statistics.median(firsts):.0f} ms, "
        f"max {max(firsts):.0f} ms (target 1000 ms)"
    )
    for index, code in enumerate(DRILL[1:]):
        step = [r["steps"][index] for r in results]
        print(
            f"    drill-down to {code}: median {statistics.median(step):.0f} ms, max {max(step):.0f} ms "
            "(target 300 ms)"
        )
    print(f"  coverageTrend, 120 months of 52's village coverage, in the service: {trend_ms:.2f} ms (median)")
    assets = results[0]["assets"]
    encoded = sum(size for _, size, _ in assets)
    decoded = sum(size for _, _, size in assets)
    print(
        f"  page's own assets: {len(assets)} files, {encoded / 1024:.1f} kB transferred (gzip), "
        f"{decoded / 1024:.1f} kB uncompressed (target < 300 kB compressed)"
    )
    return 0


# --- screenshots ---------------------------------------------------------------------------------


def screenshots(out: Path) -> int:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        store = f"sqlite:///{folder}/demo.db"
        seed_demo(store)
        server = DemoServer(store).start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM)
                desktop = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
                page = desktop.new_page()
                page.goto(f"{server.url}/#code=52&asOf={AS_OF}")
                wait_view(page, "52", AS_OF)
                page.screenshot(path=out / "dashboard-province.png", full_page=True)
                page.goto(f"{server.url}/#code=5223&asOf={AS_OF}")
                wait_view(page, "5223", AS_OF)
                page.click('#children th[data-sort="township"] button')
                page.locator("#children-card").screenshot(path=out / "dashboard-counties-sorted.png")
                page.goto(f"{server.url}/#code=522324&asOf={AS_OF}")
                wait_view(page, "522324", AS_OF)
                page.locator("#gaps-card").screenshot(path=out / "dashboard-gap-list.png")
                page.click("#lang")
                page.screenshot(path=out / "dashboard-english.png")
                page.click("#lang")
                phone = browser.new_context(
                    viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN"
                )
                small = phone.new_page()
                small.goto(f"{server.url}/#code=5223&asOf={AS_OF}")
                wait_view(small, "5223", AS_OF)
                small.screenshot(path=out / "dashboard-phone.png")
                small.locator("#trend-card").scroll_into_view_if_needed()
                small.screenshot(path=out / "dashboard-phone-chart.png")
                browser.close()
        finally:
            server.stop()
    for path in sorted(out.glob("dashboard-*.png")):
        print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    speed_command = commands.add_parser("speed", help="print the dashboard's speed figures")
    speed_command.add_argument("--runs", type=int, default=5, help="fresh tabs to measure (5)")
    shots = commands.add_parser("screenshots", help="regenerate the README's screenshots")
    shots.add_argument(
        "--out", type=Path, default=REPO / "docs" / "screenshots", help="folder (docs/screenshots)"
    )
    args = parser.parse_args(argv)
    if args.command == "speed":
        return speed(args.runs)
    return screenshots(args.out)


if __name__ == "__main__":
    sys.exit(main())
