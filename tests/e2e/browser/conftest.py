"""Fixtures for the tests in a real browser: the Guizhou demo served by uvicorn on a free loopback
port (bench/dashboard.py's `DemoServer`, which the speed figures and screenshots use too), and
Debian's Chromium driven by Playwright (its own browser download is not used).

Without Chromium or Playwright these tests skip; under CI=true they fail instead. The helpers the
tests import by name are in tests/support/browser.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.dashboard import DemoServer as Server
from seed.demo import seed_demo
from tests.support.browser import CHROMIUM, SECRET, Watched, watch


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must run the browser tests (.ci/run installs chromium)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store holding the Guizhou demo, seeded once for the session."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    seed_demo(url)
    return url


@pytest.fixture(scope="session")
def demo(demo_store: str) -> Iterator[Server]:
    """The demo, served with reading open to all (the default)."""
    server = Server(demo_store, jwt_secret=SECRET).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def private_demo(demo_store: str) -> Iterator[Server]:
    """The demo, served with GRAPH_SERVICE_PUBLIC_READ=false."""
    server = Server(demo_store, public_read=False, jwt_secret=SECRET).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright. Per module: Playwright's sync API holds an
    event loop in this thread while it runs, which the asyncio tests of other modules cannot share."""
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """open_page(origin, **context options) -> Watched: a fresh browser context (tab) per call."""
    contexts: list[Any] = []

    def opener(origin: str, **options: Any) -> Watched:
        context = browser.new_context(accept_downloads=True, **options)
        contexts.append(context)
        return watch(context.new_page(), origin)

    yield opener
    for context in contexts:
        context.close()
