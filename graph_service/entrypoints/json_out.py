"""JSON out: one writer for every JSON array the service streams (the gap list, the audit trail)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TextIO


def write_json_array(records: Iterable[Mapping[str, object]], out: TextIO) -> int:
    """The records as a JSON array, one object a line (non-ASCII text kept as it is), written as they
    come and flushed at the end; returns how many were written."""
    count = 0
    out.write("[")
    for record in records:
        out.write(("\n  " if count == 0 else ",\n  ") + json.dumps(record, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    out.flush()
    return count
