"""Driving the servers over loopback HTTP: starting them, latency with a sync httpx client (one
keep-alive connection, one request at a time), and throughput under concurrency with a lean asyncio
client (pre-encoded requests on keep-alive connections, so the client costs little next to the server
it measures on a 2-core machine). Every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.proc import peak_rss_bytes

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


STARTED = "Application startup complete."
"""What uvicorn logs (at level info) when one worker is ready."""


class Server:
    """One `python -m bench.serve ...` subprocess on a free loopback port; with `workers` > 1 (an app
    served by several processes), ready once every worker has said it started."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        name: str,
        log_dir: Path,
        ready_timeout: float = 600.0,
        workers: int = 1,
        checkout: Path = REPO,
    ) -> None:
        self.workers = workers
        self.port = free_port()
        self.name = name
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = log_dir / f"server-{name}.log"
        self._log = self.log_path.open("w")
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.serve", *args, "--port", str(self.port)]
            + (["--workers", str(workers)] if workers > 1 else []),
            cwd=checkout,  # `python -m` puts it first on the path: the server runs that checkout's code
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
        self.ready_s = self._wait_ready(ready_timeout) - started

    def _wait_ready(self, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server {self.name} exited ({self.process.returncode}); see {self.log_path}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2.0).status_code == 200 and (
                    self.workers == 1 or self.log_path.read_text().count(STARTED) >= self.workers
                ):
                    return time.perf_counter()
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server {self.name} did not answer within {timeout:.0f} s; see {self.log_path}")

    def pids(self) -> list[int]:
        """The server process and its live descendants (its workers)."""
        return process_tree(self.process.pid)

    def peak_rss_bytes(self) -> int | None:
        """The peak resident set so far (VmHWM) of the server process, summed with its workers' when
        it has some, when /proc tells."""
        known = [peak for peak in map(peak_rss_bytes, self.pids()) if peak is not None]
        return sum(known) if known else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def process_tree(pid: int) -> list[int]:
    """`pid` and its live descendants, from /proc (just `pid` where /proc does not tell)."""
    found, pending = [pid], [pid]
    while pending:
        parent = pending.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        found += [int(child) for child in children]
        pending += [int(child) for child in children]
    return found


class GraphQLError(RuntimeError):
    pass


def graphql(
    client: httpx.Client,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST one operation; its `data`, or `GraphQLError` when the answer is not a clean 200."""
    response = client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise GraphQLError(f"HTTP {response.status_code}: {json.dumps(body)[:500]}")
    return body["data"]


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of `samples` (fraction in 0..1)."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(samples: Sequence[float]) -> dict[str, Any]:
    """p50, p99, mean and min of seconds, as milliseconds."""
    return {
        "n": len(samples),
        "p50_ms": percentile(samples, 0.50) * 1000,
        "p99_ms": percentile(samples, 0.99) * 1000,
        "mean_ms": sum(samples) / len(samples) * 1000 if samples else float("nan"),
        "min_ms": min(samples) * 1000 if samples else float("nan"),
    }


def time_calls(call: Callable[[], Any], count: int, warmup: int, budget_s: float) -> list[float]:
    """Run `call` `warmup` times untimed, then up to `count` times (stopping after `budget_s` seconds)
    and return each call's wall time in seconds."""
    for _ in range(warmup):
        call()
    samples: list[float] = []
    deadline = time.perf_counter() + budget_s
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
        if started > deadline:
            break
    return samples


# --- throughput -------------------------------------------------------------------------------------


@dataclass
class _Tally:
    window_start: float
    window_end: float
    max_requests: int
    sent: int = 0
    completed: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    first_body: bytes | None = None


async def _worker(port: int, request: bytes, tally: _Tally, expected: bytes | None) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while time.perf_counter() < tally.window_end and tally.sent < tally.max_requests:
            tally.sent += 1
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            finished = time.perf_counter()
            ok = head.startswith(b"HTTP/1.1 200") and (expected is None or body == expected)
            if tally.first_body is None:
                tally.first_body = body
            if tally.window_start <= started and finished <= tally.window_end:
                if ok:
                    tally.completed += 1
                    tally.latencies.append(finished - started)
                else:
                    tally.failed += 1
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def throughput(
    port: int,
    body: bytes,
    *,
    concurrency: int,
    duration_s: float,
    warmup_s: float = 1.0,
    max_requests: int = 2_000_000,
    expected: bytes | None = None,
) -> dict[str, Any]:
    """`concurrency` keep-alive connections posting `body` to /graphql back to back for `warmup_s` +
    `duration_s` seconds; requests/s counts the responses that started and finished inside the
    measured window (after the warm-up) and were a 200 (with the `expected` body, when given)."""
    request = (
        f"POST /graphql HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body

    async def run() -> _Tally:
        now = time.perf_counter()
        tally = _Tally(now + warmup_s, now + warmup_s + duration_s, max_requests)
        await asyncio.wait_for(
            asyncio.gather(*(_worker(port, request, tally, expected) for _ in range(concurrency))),
            timeout=warmup_s + duration_s + 60,
        )
        return tally

    tally = asyncio.run(run())
    return {
        "concurrency": concurrency,
        "duration_s": duration_s,
        "completed": tally.completed,
        "failed": tally.failed,
        "requests_per_s": tally.completed / duration_s,
        "latency_under_load": summary(tally.latencies),
    }


# --- a lean client for latency ------------------------------------------------------------------------


class LeanClient:
    """One keep-alive HTTP/1.1 connection with a blocking socket, posting JSON to /graphql and reading
    the answer by its Content-Length: a few microseconds of client work per request, so that a latency
    measured with it is the server's (httpx spends about half a millisecond per request on its side)."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self.port = port
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Send one request; its status and body."""
        head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
        if body or method == "POST":
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        self.sock.sendall(head.encode() + b"\r\n" + body)
        while b"\r\n\r\n" not in self._buffer:
            self._receive()
        raw_head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        lines = raw_head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(self._buffer) < length:
            self._receive()
        answer, self._buffer = self._buffer[:length], self._buffer[length:]
        return status, answer

    def _receive(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self._buffer += chunk

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """POST one operation; its `data`, or `GraphQLError` when the answer is not a clean 200."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        status, answer = self.request("POST", "/graphql", body, headers)
        parsed = json.loads(answer)
        if status != 200 or parsed.get("errors"):
            raise GraphQLError(f"HTTP {status}: {answer[:500]!r}")
        return parsed["data"]

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> LeanClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
