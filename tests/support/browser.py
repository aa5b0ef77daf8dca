"""Helpers of the browser tests (tests/e2e/browser/): where Chromium is, the demo's token secret, a
page watched for errors and foreign requests, and running `graph-service` in another process."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("GRAPH_SERVICE_TEST_CHROMIUM", "/usr/bin/chromium")
SECRET = "browser-test-secret-of-at-least-32-bytes"


@dataclass
class Watched:
    """A page with what it logged as errors and the requests it sent to any other host."""

    page: Any
    origin: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.foreign == [], self.foreign


def watch(page: Any, origin: str) -> Watched:
    """Record the page's console errors, uncaught exceptions and requests off `origin`."""
    watched = Watched(page, origin)
    host = urlsplit(origin).netloc

    def on_console(message: Any) -> None:
        if message.type == "error":
            watched.errors.append(message.text)

    def on_request(request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme not in ("data", "blob", "about") and parts.netloc != host:
            watched.foreign.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.errors.append(f"uncaught: {error}"))
    page.on("request", on_request)
    page.on("websocket", lambda socket: watched.foreign.append(socket.url))
    return watched


def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run `graph-service ARGS` (this interpreter's install) and return what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "graph_service.entrypoints.cli", *args], capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    return done
