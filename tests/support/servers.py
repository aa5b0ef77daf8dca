"""Real `graph-service` processes for the tests: servers on free ports, CLI runs, GraphQL over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.network import SECRET

CLI = [sys.executable, "-m", "graph_service.entrypoints.cli"]


def free_port() -> int:
    """A TCP port nothing listens on just now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child `graph-service`: the tests' token secret, a refresh interval of
    0.1 s (the default), and `extra`."""
    env = {**os.environ, "GRAPH_SERVICE_JWT_SECRET": SECRET, "PYTHONUNBUFFERED": "1"}
    env.pop("GRAPH_SERVICE_REFRESH_INTERVAL", None)
    return {**env, **extra}


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `graph-service ARGS` to the end in another process."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=child_env())


@contextmanager
def serving(store_url: str, log: Path, *, start_timeout: float = 120) -> Iterator[str]:
    """`graph-service serve` on a free port in another process, until the block ends; its base URL."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*CLI, "serve", "--store", store_url, "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=child_env(),
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base) or process.poll() is not None, start_timeout, "the server to start")
        assert process.poll() is None, f"the server ended: {log.read_text(errors='replace')}"
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for(condition: Callable[[], object], timeout: float, what: str, pause: float = 0.02) -> float:
    """Poll `condition()` until it is true; the seconds that took (failing after `timeout`)."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"waited {timeout} s for {what}"
        time.sleep(pause)
    return time.monotonic() - started


def graphql(
    base: str, query: str, variables: dict[str, Any] | None = None, *, bearer: str | None = None, **kw: Any
) -> httpx.Response:
    """POST one operation to a server."""
    headers = {**kw.pop("headers", {}), **({"Authorization": f"Bearer {bearer}"} if bearer else {})}
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    return httpx.post(f"{base}/graphql", json=payload, headers=headers, timeout=kw.pop("timeout", 30), **kw)
