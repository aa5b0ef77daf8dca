"""The service's settings and the one place the environment is read (spec §4–§5).

`Settings` holds one default per setting; `Settings.from_env` reads every GRAPH_SERVICE_* and NEO4J_*
variable through `Config`, a small typed reader that names the variable in the `SettingsError` a bad
value raises. Imports the ports (for the batch size default) and nothing of the adapters.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from graph_service.ports import DEFAULT_BATCH_SIZE

DEFAULT_STORE_URL = "sqlite:///graph-service.db"

_ORIGIN = re.compile(r"^https?://[^/\s?#]+$")
"""An origin as browsers send it: scheme, host and optional port, no path."""

T = TypeVar("T")


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the composition root (`graph_service.bootstrap`) needs to build the service."""

    store_url: str = DEFAULT_STORE_URL
    time_zone: str = "Asia/Shanghai"
    jwt_secret: str | None = None
    public_read: bool = True
    batch_size: int = DEFAULT_BATCH_SIZE
    # Seconds between two questions of the catch-up thread to the store (and the least time between two
    # catch-ups `NetworkService.refresh` makes when not forced): writes by another process are seen
    # within this plus the time to apply them. Requests themselves never ask the store.
    refresh_interval: float = 0.1
    # Origins whose pages may call the API from a browser (CORS); empty: none, "*": any.
    cors_origins: tuple[str, ...] = ()
    # Neo4j credentials (no password: no authentication) and database (None: the server's default).
    neo4j_user: str = "neo4j"
    neo4j_password: str = ""
    neo4j_database: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, store_url: str | None = None) -> Settings:
        """Settings from GRAPH_SERVICE_* and NEO4J_* variables (`os.environ` unless `environ` is
        given); an explicit `store_url` wins over the environment. `SettingsError` names a bad one."""
        config = Config(os.environ if environ is None else environ)
        defaults = cls()
        return cls(
            store_url=store_url or config("GRAPH_SERVICE_STORE", default=defaults.store_url),
            time_zone=config("GRAPH_SERVICE_TZ", cast=time_zone, default=defaults.time_zone),
            jwt_secret=config("GRAPH_SERVICE_JWT_SECRET", default=defaults.jwt_secret),
            public_read=config("GRAPH_SERVICE_PUBLIC_READ", cast=boolean, default=defaults.public_read),
            batch_size=config("GRAPH_SERVICE_BATCH_SIZE", cast=batch_size, default=defaults.batch_size),
            refresh_interval=config(
                "GRAPH_SERVICE_REFRESH_INTERVAL", cast=refresh_interval, default=defaults.refresh_interval
            ),
            cors_origins=config(
                "GRAPH_SERVICE_CORS_ORIGINS", cast=cors_origins, default=defaults.cors_origins
            ),
            neo4j_user=config("NEO4J_USER", default=defaults.neo4j_user),
            neo4j_password=config("NEO4J_PASSWORD", default=defaults.neo4j_password),
            neo4j_database=config("NEO4J_DATABASE", default=defaults.neo4j_database),
        )

    def today(self) -> date:
        """The current date in the configured time zone (spec §3's "today")."""
        return datetime.now(ZoneInfo(self.time_zone)).date()


def pass_store_url_on(store_url: str) -> None:
    """Set GRAPH_SERVICE_STORE to `store_url` in this process's environment, for the processes it
    starts (the server's workers, whose `Settings.from_env` then opens that store)."""
    os.environ["GRAPH_SERVICE_STORE"] = store_url


class Config:
    """A typed reader over environment variables, like Starlette's `Config`: `config(name, cast=...,
    default=...)`. An unset or empty variable gives the default (not cast); a value `cast` rejects
    (with `ValueError`) raises `SettingsError` naming the variable and the value."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    @overload
    def __call__(self, name: str, *, default: str) -> str: ...

    @overload
    def __call__(self, name: str, *, default: None) -> str | None: ...

    @overload
    def __call__(self, name: str, *, cast: Callable[[str], T], default: T) -> T: ...

    def __call__(self, name: str, *, cast: Callable[[str], object] = str, default: object = None) -> object:
        """The variable `name` read through `cast`, or `default` when unset or empty."""
        text = self.environ.get(name, "")
        if text == "":
            return default
        try:
            return cast(text)
        except ValueError as error:
            raise SettingsError(f"{name} {error}, not {text!r}") from error


def boolean(text: str) -> bool:
    """true/false, 1/0 or yes/no (any case)."""
    value = text.strip().lower()
    if value not in {"true", "false", "1", "0", "yes", "no"}:
        raise ValueError("must be true or false")
    return value in {"true", "1", "yes"}


def time_zone(text: str) -> str:
    """An IANA time zone name the system knows."""
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError("must name a known time zone") from error
    return text


def batch_size(text: str) -> int:
    """A whole number ≥ 1."""
    if not text.isdigit() or int(text) < 1:
        raise ValueError("must be a whole number ≥ 1")
    return int(text)


def refresh_interval(text: str) -> float:
    """Seconds from 0 to 60."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 60:
        raise ValueError("must be seconds from 0 to 60")
    return seconds


def cors_origins(text: str) -> tuple[str, ...]:
    """Origins separated by commas (`https://host[:port]`), or `*` for any; `ValueError` naming a
    malformed one."""
    origins = tuple(origin.strip().rstrip("/") for origin in text.split(",") if origin.strip())
    for origin in origins:
        if origin != "*" and not _ORIGIN.match(origin):
            raise ValueError(
                "must list origins such as https://example.org or http://localhost:8080 (or * for any); "
                f"{origin!r} is not one"
            )
    return origins
