"""Where the repository is, for tests that read its committed files (seed data, schema, launcher)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
"""The repository's root folder."""
