"""What Linux's /proc tells about a process, for the benchmarks' memory figures (standard library
only, so that a timed cold start imports nothing more)."""

from __future__ import annotations

from pathlib import Path


def peak_rss_bytes(pid: int | str = "self") -> int | None:
    """The peak resident set (VmHWM) of process `pid` so far, this one by default; None where /proc
    does not tell."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
