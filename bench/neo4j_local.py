"""Starting and stopping the benchmark's own Neo4j with the repo's launcher (`neo4j-local/neo4j-local`),
on its own port and data directory so that the test server (port 7687) is left alone."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LAUNCHER = REPO / "neo4j-local" / "neo4j-local"
DEFAULT_PORT = 7697


class LocalNeo4j:
    """A fresh Neo4j with a random password (exported as NEO4J_USER / NEO4J_PASSWORD to this process
    and its children), so that nothing else on the machine writes into the benchmark's database."""

    def __init__(self, work_dir: Path, port: int = DEFAULT_PORT, page_cache: str = "1g") -> None:
        self.port = port
        self.url = f"bolt://127.0.0.1:{port}"
        self.password = secrets.token_hex(16)
        self._options = [
            "--port",
            str(port),
            "--data",
            str(work_dir / "neo4j-data"),
            "--state-dir",
            str(work_dir / "neo4j-state"),
        ]
        self._env = {**os.environ, "NEO4J_LOCAL_PAGECACHE": page_cache, "NEO4J_LOCAL_PASSWORD": self.password}
        self.log = work_dir / "neo4j-state" / f"neo4j-{port}.log"
        self._pid_file = work_dir / "neo4j-state" / f"neo4j-{port}.pid"

    def pid(self) -> int | None:
        """The server's process id while it runs (the launcher's pid file), else None."""
        try:
            return int(self._pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self) -> None:
        """Start on an emptied data directory and wait for Bolt."""
        if not LAUNCHER.exists():
            raise RuntimeError(f"{LAUNCHER} is missing: cannot start Neo4j (use --neo4j URL or --skip-neo4j)")
        subprocess.run([str(LAUNCHER), *self._options, "--fresh", "start"], check=True, env=self._env)
        os.environ["NEO4J_USER"] = "neo4j"
        os.environ["NEO4J_PASSWORD"] = self.password

    def stop(self) -> None:
        subprocess.run([str(LAUNCHER), *self._options, "stop"], check=False, env=self._env)
