"""The command line's side of the audit trail (spec §9), on both stores: `seed` records its changes as
`--actor` (default the OS user) with role cli, `graph-service audit` prints them (CSV or JSON, newest
first, by subtree and time), and `token --subject` defaults to the OS user."""

from __future__ import annotations

import csv
import getpass
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from graph_service.entrypoints import cli
from tests.support.cli import DIVISIONS, STATION_HEADER, STATIONS, run, write

KEYS = ["at", "actor", "role", "operation", "target", "before", "after"]


def audit_json(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> list[dict]:
    status, out, err = run(capsys, "audit", "--store", url, "--format", "json", *args)
    assert status == 0, err
    return json.loads(out)


def test_seed_records_the_actor_and_audit_prints_it(
    store_url: str,
    files: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    started = datetime.now(UTC) - timedelta(seconds=1)
    status, _, err = run(capsys, "seed", "divisions", str(files["divisions"]), "--store", store_url)
    assert status == 0, err
    status, _, err = run(
        capsys, "seed", "stations", str(files["stations"]), "--store", store_url, "--actor", "王科长"
    )
    assert status == 0, err

    entries = audit_json(capsys, store_url)
    assert len(entries) == 10 + 6
    assert all(list(entry) == KEYS for entry in entries)
    assert all(entry["operation"] == "import" and entry["role"] == "cli" for entry in entries)
    assert {e["actor"] for e in entries[:6]} == {"王科长"}  # the stations, newest first
    assert {e["actor"] for e in entries[6:]} == {getpass.getuser()}
    station = next(e for e in entries if e["target"] == "GS-522324")
    assert station["before"] is None
    assert station["after"]["parent_id"] == "GC-5223" and station["after"]["volunteers"] == 29
    assert started <= datetime.fromisoformat(entries[0]["at"]) <= datetime.now(UTC)

    # A changed row is one entry with its values before and after; unchanged rows record nothing.
    changed = STATIONS.replace(",2,1,29", ",3,1,29")
    status, _, err = run(
        capsys, "seed", "stations", str(write(tmp_path / "s2.csv", changed)), "--store", store_url
    )
    assert status == 0, err
    newest, *_ = audit_json(capsys, store_url)
    assert newest["target"] == "GS-522324"
    assert (newest["before"]["staff"], newest["after"]["staff"]) == (2, 3)
    assert len(audit_json(capsys, store_url)) == 17

    # By subtree: the county 522301 holds a township and no station.
    assert [e["target"] for e in audit_json(capsys, store_url, "--under", "522301")] == [
        "522301001",
        "522301",
    ]
    # By time: nothing from tomorrow on, everything since yesterday.
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert audit_json(capsys, store_url, "--since", tomorrow) == []
    assert len(audit_json(capsys, store_url, "--since", started.isoformat())) == 17

    status, out, err = run(capsys, "audit", "--store", store_url, "--under", "522324002")
    assert status == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == KEYS
    assert {row[4] for row in rows[1:]} == {
        "522324002",
        "522324002001",
        "522324002002",
        "TS-522324002",
        "VR-522324002001",
    }
    village = next(row for row in rows[1:] if row[4] == "VR-522324002001")
    assert village[5] == ""  # created: no before
    assert json.loads(village[6])["status"] == "planned"
    assert "5 audit entries under 522324002" in err


def test_a_dry_run_and_a_rejected_file_record_nothing(
    store_url: str,
    files: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    status, _, _ = run(
        capsys, "seed", "divisions", str(files["divisions"]), "--store", store_url, "--dry-run"
    )
    assert status == 0
    assert audit_json(capsys, store_url) == []
    run(capsys, "seed", "divisions", str(files["divisions"]), "--store", store_url)
    bad = write(tmp_path / "bad.csv", STATION_HEADER + "\nX,名,village_room,nowhere,,planned,,,,,\n")
    status, _, _ = run(capsys, "seed", "stations", str(bad), "--store", store_url)
    assert status == 1
    assert len(audit_json(capsys, store_url)) == 10
    # Re-importing the same file changes nothing, and records nothing.
    run(capsys, "seed", "divisions", str(files["divisions"]), "--store", store_url)
    assert len(audit_json(capsys, store_url)) == 10


def test_audit_usage_errors(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "audit", "--store", store_url, "--since", "last week")
    assert status == 2 and "--since" in err
    status, _, err = run(capsys, "audit", "--store", store_url, "--format", "xml")
    assert status == 2
    status, _, err = run(capsys, "audit", "--store", store_url, "--under", "99")
    assert status == 1 and "99" in err


def test_audit_csv_is_spreadsheet_safe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    run(
        capsys,
        "seed",
        "divisions",
        str(write(tmp_path / "d.csv", DIVISIONS)),
        "--store",
        url,
        "--actor",
        "=cmd|x",
    )
    status, out, _ = run(capsys, "audit", "--store", url)
    assert status == 0
    assert {row[1] for row in list(csv.reader(io.StringIO(out)))[1:]} == {"'=cmd|x"}


def test_the_token_subject_defaults_to_the_os_user(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "cli-audit-test-secret-of-32-bytes-or-more"
    monkeypatch.setenv("GRAPH_SERVICE_JWT_SECRET", secret)
    status, out, err = run(capsys, "token", "--role", "viewer", "--scope", "52")
    assert status == 0, err
    claims = jwt.decode(out.strip(), secret, algorithms=["HS256"])
    assert claims["sub"] == getpass.getuser()
    assert cli.build_parser().parse_args(["seed", "divisions", "f.csv"]).actor == getpass.getuser()
