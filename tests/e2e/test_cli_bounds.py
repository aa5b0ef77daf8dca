"""Spec §7 at the command line: value bounds in seeded files, `--as-of`, spreadsheet-safe CSV out,
the token secret and `--ttl` (issues 9 and 10)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import jwt
import pytest

from graph_service.entrypoints.csv_out import spreadsheet_safe, write_csv
from graph_service.service_layer.auth import MAX_TTL, parse_duration
from tests.support.cli import DIVISIONS, STATION_HEADER, data_version, run, write

SECRET = "a-token-secret-of-32-bytes-at-least"

# --- seeding -------------------------------------------------------------------------------------


def test_seeding_huge_counts_exits_1_naming_every_row(
    network: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 9 #1: two CSV rows of 1,500,000,000 were accepted (exit 0) and broke the sums."""
    rows = "".join(
        f"VR-{n},某室{n},village_room,522324002002,TS-522324002,planned,,,1500000000,0,0\n" for n in (1, 2)
    )
    before = data_version(network)
    status, _, err = run(
        capsys,
        "seed",
        "stations",
        str(write(tmp_path / "s.csv", f"{STATION_HEADER}\n{rows}")),
        "--store",
        network,
    )
    assert status == 1
    assert "row 2, column staff" in err and "row 3, column staff" in err and "1,000,000" in err
    assert data_version(network) == before


def test_seeding_reports_a_twelve_field_row_and_ten_other_bad_rows(
    network: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 9 #3: only "row 13: expected 11 fields, found 12" was reported."""
    bad = [
        f"VR-B{n},坏室{n},village_room,522324002002,TS-522324002,planned,,,0,0,{-n - 1}\n" for n in range(10)
    ]
    twelve = "VR-12,十二,village_room,522324002002,TS-522324002,planned,,,0,0,0,extra\n"
    text = STATION_HEADER + "\n" + "".join(bad[:9]) + twelve + bad[9]
    status, _, err = run(capsys, "seed", "stations", str(write(tmp_path / "s.csv", text)), "--store", network)
    assert status == 1
    assert "11 problems in 11 rows" in err
    assert "row 11: expected 11 fields, found 12" in err
    for row in (*range(2, 11), 12):
        assert f"row {row}, column volunteers" in err or f"row {row}:" in err


def test_seeding_a_division_with_a_control_character_exits_1(
    store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = DIVISIONS + "522324002003,坏\x01名,village,522324002\n"
    status, _, err = run(
        capsys, "seed", "divisions", str(write(tmp_path / "d.csv", text)), "--store", store_url
    )
    assert status == 1
    assert "row 12, column name: name holds a control character (U+0001)" in err


# --- --as-of -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["20240101", "2024-W05-3", "1899-12-31", "2101-01-01", "2024-1-05"])
def test_as_of_takes_exactly_yyyy_mm_dd_in_the_years(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys, "export", "uncovered", "--under", "52", "--level", "township", "--as-of", value
    )
    assert (status, out) == (2, "")
    assert "argument --as-of" in err and "Traceback" not in err


# --- CSV out -------------------------------------------------------------------------------------


def test_export_prefixes_formula_cells_with_a_quote(
    store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 10 #4: `export uncovered` wrote names beginning with =, +, -, @ raw."""
    names = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)"]
    text = DIVISIONS + "".join(
        f"52232400201{n},{_quoted(name)},village,522324002\n" for n, name in enumerate(names)
    )
    status, _, err = run(
        capsys, "seed", "divisions", str(write(tmp_path / "d.csv", text)), "--store", store_url
    )
    assert status == 0, err
    status, out, err = run(
        capsys, "export", "uncovered", "--under", "522324002", "--level", "village", "--store", store_url
    )
    assert status == 0, err
    rows = {row[0]: row for row in csv.reader(io.StringIO(out))}
    for n, name in enumerate(names):
        row = rows[f"52232400201{n}"]
        assert row[1] == "'" + name
        assert row[3].startswith("贵州省 / ")  # the path starts with a plain name, so it stays as it is


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def test_the_csv_helper_leaves_numeric_columns_and_plain_text_alone() -> None:
    assert [spreadsheet_safe(cell) for cell in ("=1+1", "\tx", "\rx", "plain", "中-文", "")] == [
        "'=1+1",
        "'\tx",
        "'\rx",
        "plain",
        "中-文",
        "",
    ]
    out = io.StringIO()
    count = write_csv(out, ("name", "delta"), [("-x", "-5"), ("@y", 3)], numeric_columns=("delta",))
    assert count == 2
    assert out.getvalue() == "name,delta\n'-x,-5\n'@y,3\n"


# --- tokens --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [["token", "--role", "admin", "--scope", "*"], ["serve", "--port", "8765"]]
)
@pytest.mark.parametrize("secret", ["x", "a" * 31, "密" * 10])
def test_a_short_secret_is_refused_at_start(
    command: list[str], secret: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10 #6: a 1-byte secret was accepted. (密 is 3 bytes: ten of them are 30 bytes.)"""
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("uvicorn.run must not be reached"))
    monkeypatch.setenv("GRAPH_SERVICE_JWT_SECRET", secret)
    status, out, err = run(capsys, *command)
    assert (status, out) == (2, "")
    assert "at least 32 bytes" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("ttl", "message"),
    [
        ("99999999999999w", "is not a duration"),
        ("367d", "longer than 366 days"),
        ("53w", "longer than 366 days"),
        ("100000w", "longer than 366 days"),
        ("31622401", "longer than 366 days"),
        ("-1h", "is not a duration"),
        ("1y", "is not a duration"),
    ],
)
def test_ttl_at_most_366_days_and_bad_values_are_usage_errors(
    ttl: str, message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10 #6: --ttl 99999999999999w ended in a traceback; 100,000 weeks was accepted."""
    monkeypatch.setenv("GRAPH_SERVICE_JWT_SECRET", SECRET)
    status, out, err = run(capsys, "token", "--role", "admin", "--scope", "*", f"--ttl={ttl}")
    assert (status, out) == (2, "")
    assert message in err and "Traceback" not in err


def test_ttl_of_exactly_366_days_is_accepted(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPH_SERVICE_JWT_SECRET", SECRET)
    status, out, _ = run(capsys, "token", "--role", "admin", "--scope", "*", "--ttl", "366d")
    assert status == 0
    claims = jwt.decode(out.strip(), SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == MAX_TTL.total_seconds()
    assert parse_duration("8h") == timedelta(hours=8)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--scope", "52 24"], "--scope may hold only"),
        (["--scope", "5" * 65], "at most 64"),
        (["--scope", "52", "--subject", "a\x07b"], "--subject: the subject holds a control character"),
    ],
)
def test_token_scope_and_subject_follow_the_value_rules(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPH_SERVICE_JWT_SECRET", SECRET)
    status, out, err = run(capsys, "token", "--role", "editor", *flags)
    assert (status, out) == (2, "")
    assert message in err
