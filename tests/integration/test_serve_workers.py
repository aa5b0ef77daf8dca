"""`graph-service serve --workers N`: N processes on one port, each loading the network and following
the store, supervised by the command's own process."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from graph_service.entrypoints.app import WORKER_APP, NoDelayHttpToolsProtocol
from tests.support.cli import run
from tests.support.network import DIVISIONS_CSV, STATIONS_CSV, token
from tests.support.servers import CLI, child_env, free_port, graphql, run_cli, wait_for

STARTED = "Application startup complete."
STATION = "query ($id: ID!) { station(id: $id) { id staff } }"
CREATE = "mutation ($input: StationInput!) { createStation(input: $input) { id version } }"


def test_workers_are_served_by_the_factory_after_the_store_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[tuple[object, dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append((app, kwargs)))
    # serve_workers sets it for the workers; set here first so the test's end takes it away again.
    monkeypatch.setenv("GRAPH_SERVICE_STORE", "sqlite:///unused.db")
    url = f"sqlite:///{tmp_path / 's.db'}"
    status, _, err = run(capsys, "serve", "--store", url, "--port", "8765", "--workers", "2")
    assert status == 0, err
    assert len(calls) == 1
    app, options = calls[0]
    assert app == WORKER_APP
    assert {key: options[key] for key in ("factory", "workers", "host", "port")} == {
        "factory": True,
        "workers": 2,
        "host": "127.0.0.1",
        "port": 8765,
    }
    assert "with 2 worker processes" in err
    assert os.environ["GRAPH_SERVICE_STORE"] == url  # what each worker opens


def test_workers_are_not_started_on_an_unusable_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("uvicorn.run must not be reached")

    monkeypatch.setattr(uvicorn, "run", never)
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


def test_worker_connections_have_nagles_algorithm_off() -> None:
    """uvicorn binds the workers' shared socket with protocol number 0, so asyncio leaves Nagle's
    algorithm on for what it accepts (each answer then waited ~40 ms for a delayed acknowledgement);
    the workers' protocol turns it off on every connection."""
    import asyncio

    import uvicorn
    from uvicorn.server import ServerState

    async def app(scope: object, receive: object, send: object) -> None:
        return None

    async def accepted_no_delay() -> int:
        config = uvicorn.Config(app, http=NoDelayHttpToolsProtocol, lifespan="off")
        config.load()
        listener = socket.socket(family=socket.AF_INET)  # as uvicorn's Config.bind_socket makes it
        listener.bind(("127.0.0.1", 0))
        protocols: list[NoDelayHttpToolsProtocol] = []

        def protocol() -> NoDelayHttpToolsProtocol:
            made = NoDelayHttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
            protocols.append(made)
            return made

        server = await asyncio.get_running_loop().create_server(protocol, sock=listener)
        try:
            _, writer = await asyncio.open_connection(*listener.getsockname())
            for _ in range(500):
                if protocols and protocols[0].transport is not None:
                    break
                await asyncio.sleep(0.01)
            accepted = protocols[0].transport.get_extra_info("socket")
            value = int(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()
            return value
        finally:
            server.close()

    assert asyncio.run(accepted_no_delay()) == 1
