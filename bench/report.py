"""How the benchmarks print what they measured: the timed progress note, the machine line, latency
figures and fixed-width tables. Formatting only: nothing here measures or changes a figure."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MISSING = "—"
"""What a table shows where there is no figure."""


def note(message: str) -> None:
    """Say on standard error how far a run has got, stamped with the time of day."""
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def p50_p99(summary: Mapping[str, Any] | None) -> str:
    """A latency summary (`p50_ms`, `p99_ms`, as `bench.http.summary` makes) as "p50 / p99" in
    milliseconds; MISSING when there is none, or it counted no sample."""
    if not summary or summary.get("n") == 0:
        return MISSING
    return f"{summary['p50_ms']:.2f} / {summary['p99_ms']:.2f}"


def machine_text(machine: Mapping[str, Any], *, at_end: bool = False) -> str:
    """The machine a run measured on (as `bench.run.machine` describes it): CPU, cores, memory, Python,
    commit and the load average at the start (and, when `at_end`, at the end)."""
    m = machine
    text = (
        f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}, "
        f"commit {m['commit']}; load average at start {m['load_average_at_start'][0]:.2f}"
    )
    if at_end:
        text += f", at end {m['load_average_at_end'][0]:.2f}"
    return text


def latency_cells(summary: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """A latency summary with a maximum (`n`, `p50_ms`, `p99_ms`, `max_ms`) as four table cells."""
    return (
        f"{summary['n']:,}",
        f"{summary['p50_ms']:.2f}",
        f"{summary['p99_ms']:.2f}",
        f"{summary['max_ms']:.1f}",
    )


@dataclass(frozen=True)
class Table:
    """A fixed-width text table: a label left-aligned in `label_width`, then one cell a column,
    right-aligned in that column's width, each line after `indent`. The header and the rows are made
    by the same `line`, so their columns cannot drift apart."""

    label_width: int
    widths: tuple[int, ...]
    indent: str = "  "

    def line(self, label: str, *cells: str) -> str:
        """One line: `label`, then each of `cells` (already formatted; one a column) in its column."""
        return f"{self.indent}{label:{self.label_width}}" + "".join(
            f"{cell:>{width}}" for cell, width in zip(cells, self.widths, strict=True)
        )
