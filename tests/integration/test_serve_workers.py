"""`graph-service serve --workers N`: N processes on one port, each loading the network and following
the store, supervised by the command's own process."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from graph_service.entrypoints import workers as workers_module
from graph_service.entrypoints.app import WORKER_APP
from graph_service.entrypoints.workers import WorkerListener
from tests.support.cli import run
from tests.support.network import DIVISIONS_CSV, STATIONS_CSV, token
from tests.support.servers import CLI, child_env, free_port, graphql, run_cli, wait_for

STARTED = "Application startup complete."
STATION = "query ($id: ID!) { station(id: $id) { id staff } }"
CREATE = "mutation ($input: StationInput!) { createStation(input: $input) { id version } }"


def test_workers_are_served_by_the_factory_after_the_store_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from uvicorn import supervisors

    calls: list[tuple[object, list[socket.socket]]] = []

    class Supervisor:
        def __init__(self, config: object, sockets: list[socket.socket]) -> None:
            calls.append((config, sockets))

        def run(self) -> None:
            (listener,) = calls[0][1]
            assert isinstance(listener, WorkerListener) and listener.getsockname()[0] == "127.0.0.1"

    monkeypatch.setattr(supervisors, "Multiprocess", Supervisor)
    # serve_workers sets it for the workers; set here first so the test's end takes it away again.
    monkeypatch.setenv("GRAPH_SERVICE_STORE", "sqlite:///unused.db")
    url = f"sqlite:///{tmp_path / 's.db'}"
    port = free_port()
    status, _, err = run(capsys, "serve", "--store", url, "--port", str(port), "--workers", "2")
    assert status == 0, err
    assert len(calls) == 1
    config, sockets = calls[0]
    assert config.app == WORKER_APP  # type: ignore[attr-defined]
    assert (config.factory, config.workers, config.host, config.port) == (  # type: ignore[attr-defined]
        True,
        2,
        "127.0.0.1",
        port,
    )
    assert sockets[0].fileno() == -1  # the supervisor's socket is closed once it returns
    assert "with 2 worker processes" in err
    assert os.environ["GRAPH_SERVICE_STORE"] == url  # what each worker opens


def test_workers_are_not_started_on_an_unusable_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("no worker may be started")

    monkeypatch.setattr(workers_module.WorkerListener, "bound", never)
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'folder' / 'x.db'}"
    status, _, err = run(capsys, "serve", "--store", url, "--workers", "2")
    assert status == 1 and "cannot use the store" in err


@pytest.mark.parametrize("workers", ["0", "65", "two"])
def test_a_bad_number_of_workers_is_a_usage_error(workers: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "serve", "--workers", workers)
    assert status == 2 and "is not a number of workers" in err


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_two_workers_answer_on_one_port_and_see_each_others_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'network.db'}"
    for kind, text in (("divisions", DIVISIONS_CSV), ("stations", STATIONS_CSV)):
        (tmp_path / f"{kind}.csv").write_text(text, encoding="utf-8")
        done = run_cli("seed", kind, str(tmp_path / f"{kind}.csv"), "--store", url)
        assert done.returncode == 0, done.stderr
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*CLI, "serve", "--store", url, "--port", str(port), "--workers", "2"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=child_env(),
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: log.read_text(errors="replace").count(STARTED) >= 2 or process.poll() is not None,
            180,
            "both workers to start",
            pause=0.1,
        )
        assert process.poll() is None, log.read_text(errors="replace")
        workers = [pid for pid in _children(process.pid) if "spawn_main" in _command(pid)]
        assert len(workers) == 2, log.read_text(errors="replace")
        # Fresh connections land on either worker: every one answers, and a write made through one
        # is seen through all of them within a second.
        for _ in range(10):
            assert graphql(base, STATION, {"id": "TS-522324002"}).json()["data"]["station"]["staff"] >= 0
        station = {
            "id": "VR-522324002002",
            "name": "西街社区社会工作室",
            "level": "VILLAGE_ROOM",
            "divisionCode": "522324002002",
            "status": "OPERATING",
            "openedOn": "2023-01-01",
            "staff": 2,
        }
        created = graphql(base, CREATE, {"input": station}, bearer=token("admin", "*"))
        assert created.json() == {"data": {"createStation": {"id": "VR-522324002002", "version": 1}}}

        def seen_everywhere() -> bool:
            return all(
                graphql(base, STATION, {"id": "VR-522324002002"}).json()["data"]["station"] is not None
                for _ in range(10)
            )

        wait_for(seen_everywhere, 10, "the write to show through every connection", pause=0.05)
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        # The other worker says so in the server's log, with its times.
        wait_for(
            lambda: "INFO      graph_service.following: caught up from data version" in log.read_text(),
            10,
            "the other worker to log its catch-up",
            pause=0.05,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0, log.read_text(errors="replace")


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_each_worker_listens_on_its_own_socket_with_nagles_algorithm_off() -> None:
    """What a worker receives for the supervisor's listener is a socket of its own on the same address
    (SO_REUSEPORT: the kernel spreads connections over the workers' sockets), and the connections it
    accepts have Nagle's algorithm off (else each answer waited ~40 ms for a delayed acknowledgement)."""
    import asyncio
    import pickle

    async def accepted(listeners: list[socket.socket]) -> list[tuple[int, int]]:
        """(which listener, TCP_NODELAY) of each of 32 connections to the listeners' address."""
        seen: list[tuple[int, int]] = []

        def on_connection(number: int) -> asyncio.Protocol:
            class Accepted(asyncio.Protocol):
                def connection_made(self, transport: asyncio.BaseTransport) -> None:
                    sock = transport.get_extra_info("socket")
                    seen.append((number, int(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))))

            return Accepted()

        loop = asyncio.get_running_loop()
        servers = [
            await loop.create_server(lambda n=n: on_connection(n), sock=listener)  # type: ignore[misc]
            for n, listener in enumerate(listeners)
        ]
        writers = []
        for _ in range(32):
            _, writer = await asyncio.open_connection(*listeners[0].getsockname())
            writers.append(writer)
        for _ in range(500):
            if len(seen) == 32:
                break
            await asyncio.sleep(0.01)
        for writer in writers:
            writer.close()
        for server in servers:
            server.close()
        return seen

    with WorkerListener.bound("127.0.0.1", 0) as supervisors:
        workers = [pickle.loads(pickle.dumps(supervisors)) for _ in range(2)]
        assert all(type(w) is socket.socket and w.getsockname() == supervisors.getsockname() for w in workers)
        seen = asyncio.run(accepted(workers))
    assert len(seen) == 32
    assert {nodelay for _, nodelay in seen} == {1}
    # Spread by a hash of each connection's addresses: all 32 on one worker would be 1 in 2**31.
    assert {number for number, _ in seen} == {0, 1}
