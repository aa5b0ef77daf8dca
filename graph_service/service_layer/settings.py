"""The service's settings, read from the environment (spec §4–§5)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from graph_service.adapters.store import DEFAULT_BATCH_SIZE, DEFAULT_STORE_URL

# How often a server's catch-up thread asks the store whether another process wrote (seconds): such
# writes are seen within this plus the time to apply them. Requests themselves never ask the store.
DEFAULT_REFRESH_INTERVAL = 0.1


_ORIGIN = re.compile(r"^https?://[^/\s?#]+$")
"""An origin as browsers send it: scheme, host and optional port, no path."""


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True, slots=True)
class Settings:
    store_url: str = DEFAULT_STORE_URL
    time_zone: str = "Asia/Shanghai"
    jwt_secret: str | None = None
    public_read: bool = True
    batch_size: int = DEFAULT_BATCH_SIZE
    # Seconds between two questions of the catch-up thread to the store (and the least time between two
    # catch-ups `NetworkService.refresh` makes when not forced).
    refresh_interval: float = 0.0
    # Origins whose pages may call the API from a browser (CORS); empty: none, "*": any.
    cors_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, store_url: str | None = None) -> Settings:
        """Settings from GRAPH_SERVICE_* variables; an explicit `store_url` wins over the environment."""
        env = os.environ if environ is None else environ
        public_read = env.get("GRAPH_SERVICE_PUBLIC_READ", "true").strip().lower()
        if public_read not in {"true", "false", "1", "0", "yes", "no"}:
            raise SettingsError(f"GRAPH_SERVICE_PUBLIC_READ must be true or false, not {public_read!r}")
        time_zone = env.get("GRAPH_SERVICE_TZ", "Asia/Shanghai")
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise SettingsError(f"GRAPH_SERVICE_TZ names no known time zone: {time_zone!r}") from error
        batch = env.get("GRAPH_SERVICE_BATCH_SIZE", str(DEFAULT_BATCH_SIZE))
        if not batch.isdigit() or int(batch) < 1:
            raise SettingsError(f"GRAPH_SERVICE_BATCH_SIZE must be a whole number ≥ 1, not {batch!r}")
        url = store_url or env.get("GRAPH_SERVICE_STORE") or DEFAULT_STORE_URL
        interval = env.get("GRAPH_SERVICE_REFRESH_INTERVAL", str(DEFAULT_REFRESH_INTERVAL))
        try:
            refresh_interval = float(interval)
            if not 0 <= refresh_interval <= 60:
                raise ValueError
        except ValueError as error:
            raise SettingsError(
                f"GRAPH_SERVICE_REFRESH_INTERVAL must be seconds from 0 to 60, not {interval!r}"
            ) from error
        return cls(
            cors_origins=cors_origins(env.get("GRAPH_SERVICE_CORS_ORIGINS", "")),
            store_url=url,
            refresh_interval=refresh_interval,
            time_zone=time_zone,
            jwt_secret=env.get("GRAPH_SERVICE_JWT_SECRET") or None,
            public_read=public_read in {"true", "1", "yes"},
            batch_size=int(batch),
        )

    def today(self) -> date:
        """The current date in the configured time zone (spec §3's "today")."""
        return datetime.now(ZoneInfo(self.time_zone)).date()


def cors_origins(text: str) -> tuple[str, ...]:
    """GRAPH_SERVICE_CORS_ORIGINS: origins separated by commas (`https://host[:port]`), or `*` for any;
    `SettingsError` naming a malformed one."""
    origins = tuple(origin.strip().rstrip("/") for origin in text.split(",") if origin.strip())
    for origin in origins:
        if origin != "*" and not _ORIGIN.match(origin):
            raise SettingsError(
                f"GRAPH_SERVICE_CORS_ORIGINS: {origin!r} is not an origin such as https://example.org "
                "or http://localhost:8080 (or * for any)"
            )
    return origins
