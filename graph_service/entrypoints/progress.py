"""A plain progress bar on stderr for long imports, drawn only when stderr is a terminal.

Nothing here knows about imports: a `ProgressBar` is told what it is doing (`status`) and how far a
counted task has come (`update(done, total)`), and redraws one line in place. When the stream is not a
terminal (a pipe, a log file, CI) it draws nothing at all, so logs stay clean.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30
MIN_INTERVAL_SECONDS = 0.1


class ProgressBar:
    """One line on `stream`, rewritten in place: a status message, or a bar with counts and a rate."""

    def __init__(self, label: str, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self._started = time.monotonic()
        self._last_draw = 0.0
        self._line_length = 0
        self._task_started: float | None = None

    def status(self, message: str) -> None:
        """Show what is happening now (no count): e.g. "checking 665,277 rows…"."""
        self._draw(f"{self.label}: {message}")

    def update(self, done: int, total: int) -> None:
        """Show `done` of `total` (redrawn at most every 0.1 s, and always at the start and the end)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if done == 0 or self._task_started is None:
            self._task_started = now
        if 0 < done < total and now - self._last_draw < MIN_INTERVAL_SECONDS:
            return
        fraction = done / total if total else 1.0
        filled = round(WIDTH * fraction)
        bar = "#" * filled + "." * (WIDTH - filled)
        elapsed = now - self._task_started
        rate = f"  {done / elapsed:,.0f} rows/s" if done and elapsed > 0 else ""
        self._draw(f"{self.label}: writing [{bar}] {done:,}/{total:,} {fraction:4.0%}{rate}")

    def close(self) -> None:
        """Clear the line, so whatever is printed next starts on a clean one."""
        if self.enabled and self._line_length:
            self.stream.write("\r" + " " * self._line_length + "\r")
            self.stream.flush()
            self._line_length = 0

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _draw(self, line: str) -> None:
        if not self.enabled:
            return
        padding = " " * max(0, self._line_length - len(line))
        self.stream.write("\r" + line + padding)
        self.stream.flush()
        self._line_length = len(line)
        self._last_draw = time.monotonic()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
