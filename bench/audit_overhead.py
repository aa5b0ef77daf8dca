"""What the audit trail costs an import: the national seed (`bench.seed.seed`, as `graph-service seed`
does) timed with this checkout's code and with the code of a git ref from before the audit trail
(default `main`), one after the other in one run, each into a fresh store.

    python -m bench.audit_overhead --baseline-ref 68fd275 [--scale 1] [--skip-neo4j] [--neo4j-port 7697]

Each seed runs in its own process, with the code tree under test first on `sys.path` (the baseline is
extracted with `git archive`). Neo4j is started fresh (`neo4j-local --fresh`) for every seed, on
`--neo4j-port` (its heap from NEO4J_LOCAL_JAVA_OPTS, as for neo4j-local). Prints a table and writes
`bench/results/audit-overhead.json` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.neo4j_local import DEFAULT_PORT, LocalNeo4j
from bench.report import note

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "bench" / "results" / "audit-overhead.json"
ALLOWED_RATIO = 1.5

_CHILD = """
import json, sys
from bench.generate import divisions, stations
from bench.seed import seed
provinces = int(sys.argv[2])
result = seed(sys.argv[1], list(divisions(provinces=provinces)), list(stations(provinces=provinces)))
print(json.dumps(result))
"""


def extract(ref: str, into: Path) -> Path:
    """The tree of git `ref` extracted into `into` (returned)."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", ref], check=True, capture_output=True
    )
    into.mkdir(parents=True)
    with tempfile.TemporaryFile() as raw:
        raw.write(archive.stdout)
        raw.seek(0)
        with tarfile.open(fileobj=raw) as tar:
            tar.extractall(into, filter="data")
    return into


def seed_with(code: Path, store_url: str, provinces: int) -> dict[str, Any]:
    """Run `bench.seed.seed` from the code tree `code` into `store_url`, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, store_url, str(provinces)],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return {"failed": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no output"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_overhead", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--baseline-ref", default="main", help="the git ref without the audit trail (main)")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 31 provinces (default 1)")
    parser.add_argument("--skip-neo4j", action="store_true", help="time the embedded store only")
    parser.add_argument("--skip-embedded", action="store_true", help="time Neo4j only")
    parser.add_argument("--neo4j-port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "graph-service-audit-bench"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    provinces = max(1, round(31 * args.scale))
    work: Path = args.work_dir
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    trees = {"baseline": extract(args.baseline_ref, work / "baseline"), "audit": REPO}
    result: dict[str, Any] = {"baseline_ref": args.baseline_ref, "provinces": provinces, "runs": {}}
    kinds = [k for k, skip in (("embedded", args.skip_embedded), ("neo4j", args.skip_neo4j)) if not skip]
    for kind in kinds:
        for name, tree in trees.items():
            note(f"seeding {kind} with the {name} code")
            run_dir = work / f"{kind}-{name}"
            run_dir.mkdir()
            if kind == "embedded":
                figures = seed_with(tree, f"sqlite:///{run_dir / 'bench.db'}", provinces)
            else:
                neo4j = LocalNeo4j(run_dir, args.neo4j_port)
                neo4j.start()
                try:
                    figures = seed_with(tree, neo4j.url, provinces)
                finally:
                    neo4j.stop()
            result["runs"].setdefault(kind, {})[name] = figures
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(render(result))
    return 1 if any("failed" in run for runs in result["runs"].values() for run in runs.values()) else 0


def render(result: dict[str, Any]) -> str:
    """The table: end-to-end seconds per import, baseline against audit, and the ratio."""
    lines = [
        f"seeding {result['provinces']} provinces: "
        f"baseline {result['baseline_ref']} vs. with the audit trail",
        f"{'store':9} {'import':10} {'baseline s':>11} {'audit s':>9} {'ratio':>6}  (write phase s)",
    ]
    for kind, runs in result["runs"].items():
        failed = {name: run["failed"] for name, run in runs.items() if "failed" in run}
        if failed or len(runs) < 2:
            lines.append(f"{kind:9} failed or incomplete: {failed}")
            continue
        for table in ("divisions", "stations"):
            base, audit = runs["baseline"][table], runs["audit"][table]
            ratio = audit["end_to_end_s"] / base["end_to_end_s"]
            lines.append(
                f"{kind:9} {table:10} {base['end_to_end_s']:11.1f} {audit['end_to_end_s']:9.1f} {ratio:6.2f}"
                f"  ({base['write_s']:.1f} → {audit['write_s']:.1f})"
                + ("" if ratio <= ALLOWED_RATIO else f"  over {ALLOWED_RATIO}×")
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
