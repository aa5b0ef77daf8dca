"""The use cases of the service: reading the network on a day, changing stations, importing files.

`NetworkService` owns one store and the engine built from it. Reads answer from the engine and never
touch the store; `refresh()` catches up with another process's writes (a server calls it from a
background thread: `service_layer.following`). Every write is validated whole, access-checked, written
in one store transaction, then applied to the engine, so the very next read reflects it. A store that
is busy or unreachable makes a write fail with `Unavailable` (nothing written, safe to retry).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from graph_service.domain import calendar
from graph_service.domain.audit import (
    DIVISION_KIND,
    IMPORT_OPERATION,
    STATION_KIND,
    AuditChange,
    AuditEntry,
    AuditQuery,
    AuditTrail,
    DivisionPaths,
    division_json,
    station_json,
    utc_now,
    within_of,
)
from graph_service.domain.calendar import Interval
from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus
from graph_service.domain.model import Division, Station
from graph_service.domain.validation import (
    DIVISION_COLUMNS,
    MAX_SUM,
    STATION_COLUMNS,
    Problem,
    codes_above,
    decode_csv_bytes,
    placement_problems,
    read_csv_rows,
    station_field_problems,
    validate_divisions,
    validate_stations,
)
from graph_service.engine import LevelCoverage, NetworkEngine, Page
from graph_service.engine.network import SumExcess
from graph_service.ports import (
    Changes,
    ConflictError,
    Progress,
    Store,
    StoreUnavailable,
)
from graph_service.service_layer.auth import Principal, Role
from graph_service.service_layer.errors import (
    BadUserInput,
    Conflict,
    Forbidden,
    NotFound,
    Unauthenticated,
    Unavailable,
)
from graph_service.service_layer.settings import Settings
from graph_service.service_layer.views import NetworkViews

logger = logging.getLogger("graph_service.service")

STATION_FIELDS = frozenset(f.name for f in dataclasses.fields(Station)) - {"version"}

CREATE_OPERATION = "createStation"
UPDATE_OPERATION = "updateStation"
CLOSE_OPERATION = "closeStation"
MAX_TREND_POINTS = 1_000
"""The most points one coverage trend may hold (spec §8)."""

ImportProgress = Callable[[int, int], None]
"""Told how an import's write goes: (rows written so far, rows to write), once with 0 before the first
batch and then after each batch. Not called when nothing is to be written (a dry run, an unchanged file)."""


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page of the audit trail, newest first: the entries, whether older ones follow, and a way
    to count the whole selection (a store query, so only made when asked for)."""

    entries: list[AuditEntry]
    has_next: bool
    count: Callable[[], int]


@dataclass(slots=True)
class ImportReport:
    """What an import did (or, on a dry run or a rejected file, would have done)."""

    applied: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[Problem] = field(default_factory=list)


class NetworkService:
    """The use cases over one store and its engine."""

    def __init__(self, store: Store, engine: NetworkEngine, settings: Settings) -> None:
        self.store = store
        self.engine = engine
        self.views = NetworkViews(engine)
        """The reads the entry points make, and the one-version-per-request context."""
        self.settings = settings
        self._refreshed_at = float("-inf")

    def close(self) -> None:
        self.store.close()

    def refresh(self, *, force: bool = False, written: Changes | None = None) -> bool:
        """Catch up with writes made since the engine last looked (by this process or another).

        Asks the store at most once per `settings.refresh_interval` seconds unless `force` is true;
        the service's own writes always force it, so they show in the very next read. `written` is
        what this service has just committed (applied without reading it back when nothing else was
        written meanwhile). True when the engine changed.
        """
        now = time.monotonic()
        if not force and now - self._refreshed_at < self.settings.refresh_interval:
            return False
        changed = self.engine.sync(self.store, written)
        self._refreshed_at = now
        return changed

    def today(self) -> date:
        return self.settings.today()

    # --- access ----------------------------------------------------------------------------------

    def check_read(self, principal: Principal | None) -> None:
        """Reading needs no token unless GRAPH_SERVICE_PUBLIC_READ=false."""
        if principal is None and not self.settings.public_read:
            raise Unauthenticated("reading needs a token on this server: send Authorization: Bearer <token>")

    def check_writer(self, principal: Principal | None) -> Principal:
        """The caller, when it may write stations at all (an editor or an admin): the first check of
        every station write, before its input is read or a station looked up (spec §7)."""
        if principal is None:
            raise Unauthenticated("writing needs a token: send Authorization: Bearer <token>")
        if principal.role is Role.VIEWER:
            raise Forbidden("a viewer may not write")
        return principal

    def check_station_write(self, principal: Principal | None, division_codes: Sequence[str]) -> None:
        """Editors write only stations inside their scope's subtree (before and after); viewers never."""
        principal = self.check_writer(principal)
        if principal.role is Role.ADMIN:
            return
        outside = sorted({code for code in division_codes if not self._within_scope(code, principal.scope)})
        if outside:
            raise Forbidden(
                f"an editor for {principal.scope} may not write stations in {', '.join(outside[:10])}"
                + (" …" if len(outside) > 10 else "")
            )

    def check_division_write(self, principal: Principal | None) -> None:
        if principal is None:
            raise Unauthenticated("writing needs a token: send Authorization: Bearer <token>")
        if principal.role is not Role.ADMIN:
            raise Forbidden("only an admin may write divisions")

    def check_audit_read(self, principal: Principal | None, division_codes: Sequence[str]) -> None:
        """Reading the audit trail: admins anywhere; editors only within their scope (every division of
        `division_codes` inside it); viewers and anonymous callers never."""
        if principal is None:
            raise Unauthenticated("reading the audit trail needs a token: send Authorization: Bearer <token>")
        if principal.role is Role.ADMIN:
            return
        if principal.role is Role.VIEWER:
            raise Forbidden("a viewer may not read the audit trail")
        outside = sorted({code for code in division_codes if not self._within_scope(code, principal.scope)})
        if outside:
            raise Forbidden(
                f"an editor for {principal.scope} may read the audit trail only within it, "
                f"not of {', '.join(outside[:10])}"
            )

    def _within_scope(self, code: str, scope: str) -> bool:
        return self.engine.division(code) is not None and self.engine.is_within(code, scope)

    # --- reads -----------------------------------------------------------------------------------

    def require_division(self, code: str) -> Division:
        division = self.engine.division(code)
        if division is None:
            raise NotFound(f"no division with code {code!r}")
        return division

    def require_station(self, station_id: str) -> Station:
        station = self.engine.station(station_id)
        if station is None:
            raise NotFound(f"no station with id {station_id!r}")
        return station

    def uncovered(
        self, under: str, level: DivisionLevel, as_of: date | None, after: str | None, first: int
    ) -> Page[Division]:
        """Spec §3's uncovered divisions of `level` under `under` on `as_of` (default today), one page."""
        self.require_division(under)
        if level is DivisionLevel.PROVINCE:
            raise BadUserInput("provinces have no station level, so they are never covered or uncovered")
        return self.engine.uncovered(under, level, as_of or self.today(), after, first)

    def coverage_trend(
        self, code: str, level: DivisionLevel, start: date, end: date, every: Interval
    ) -> list[tuple[date, LevelCoverage]]:
        """The coverage of `level` under the division on each day of the series from `start` to `end`
        (spec §8): at most MAX_TREND_POINTS points, each one engine lookup."""
        division = self.require_division(code)
        if level not in division.level.levels_below:
            raise BadUserInput(
                f"level: {level} is not below {division.code} {division.name} (a {division.level})"
            )
        if end < start:
            raise BadUserInput(f"to ({end.isoformat()}) is before from ({start.isoformat()})")
        if calendar.count(start, end, every, MAX_TREND_POINTS) > MAX_TREND_POINTS:
            raise BadUserInput(
                f"from {start.isoformat()} to {end.isoformat()} every {every} is more than "
                f"{MAX_TREND_POINTS} points: ask for a shorter span or a longer interval"
            )
        days = list(calendar.series(start, end, every))
        return list(zip(days, self.engine.coverage_trend(code, level, days), strict=True))

    def search(
        self,
        name_contains: str,
        level: DivisionLevel | None,
        under: str | None,
        after: str | None,
        first: int,
    ) -> Page[Division]:
        """Divisions whose name contains the text, by code, one page."""
        if not name_contains.strip():
            raise BadUserInput("nameContains must not be empty")
        if under is not None:
            self.require_division(under)
        return self.engine.search(name_contains.strip(), level, under, after, first)

    # --- the audit trail -------------------------------------------------------------------------

    def station_history(
        self, principal: Principal | None, station_id: str, before_seq: int | None, first: int
    ) -> AuditPage:
        """The recorded changes of one station, newest first, one page (access as `check_audit_read`,
        judged by where the station sits now)."""
        self.check_audit_read(principal, [])
        station = self.require_station(station_id)
        self.check_audit_read(principal, [station.division_code])
        return self._audit_page(AuditQuery(kind=STATION_KIND, target=station_id), before_seq, first)

    def audit_log(
        self,
        principal: Principal | None,
        under: str | None,
        since: datetime | None,
        before_seq: int | None,
        first: int,
    ) -> AuditPage:
        """The recorded changes of the rows that sat in `under`'s subtree when they were written (every
        change when `under` is None), at or after `since`, newest first, one page. Admins may ask for
        anything; an editor only within its scope, which is also what it gets without `under`."""
        if principal is not None and principal.role is Role.EDITOR and under is None:
            under = principal.scope
        if under is not None:
            if principal is not None and principal.role is Role.ADMIN:
                self.require_division(under)
            self.check_audit_read(principal, [under])
        else:
            self.check_audit_read(principal, [])
        return self._audit_page(AuditQuery(within=under, since=since), before_seq, first)

    def _audit_page(self, query: AuditQuery, before_seq: int | None, first: int) -> AuditPage:
        """Up to `first` entries of `query` older than the entry `before_seq`, and whether more follow."""
        page_query = dataclasses.replace(query, before_seq=before_seq, limit=first + 1)
        entries = self.store.audit_entries(page_query)
        return AuditPage(entries[:first], len(entries) > first, lambda: self.store.count_audit_entries(query))

    def _trail(
        self,
        principal: Principal | None,
        changes: Sequence[AuditChange],
    ) -> AuditTrail:
        """Who (the principal: token subject and role, or the command line's actor) changed what, now."""
        if principal is None:  # every write checks access first, so this cannot be reached
            raise Unauthenticated("writing needs a token: send Authorization: Bearer <token>")
        return AuditTrail(principal.subject, principal.recorded_role, utc_now(), changes)

    def _station_changes(
        self, operation: str, pairs: Sequence[tuple[Station, Station | None]]
    ) -> list[AuditChange]:
        """One audit change per (new, stored or None) station pair, where it sat before and after."""
        paths = DivisionPaths(self._stored_parent_code)
        return [
            AuditChange(
                operation,
                STATION_KIND,
                new.id,
                station_json(old) if old is not None else None,
                station_json(new),
                paths.within(old.division_code if old is not None else None, new.division_code),
            )
            for new, old in pairs
        ]

    def _stored_parent_code(self, code: str) -> str | None:
        division = self.engine.division(code)
        return division.parent_code if division is not None else None

    # --- station writes --------------------------------------------------------------------------

    def create_station(self, principal: Principal | None, fields: Mapping[str, Any]) -> Station:
        """Create a station from its fields (the station CSV's, snake_case)."""
        self.check_writer(principal)
        station = _station_from_fields(fields)
        self.check_station_write(principal, self._known_divisions(station.division_code))
        if self.engine.station(station.id) is not None:
            raise Conflict(f"a station with id {station.id!r} already exists")
        if self.engine.left_out_version(station.id) is not None:
            raise Conflict(
                f"a station with id {station.id!r} is stored but breaks the rules (see /readyz or "
                "`graph-service check`); correct it with importStations"
            )
        self._check_station(station, None)
        self._write_stations(
            [station],
            {station.id: None},
            self._station_changes(CREATE_OPERATION, [(station, None)]),
            principal,
        )
        return self.require_station(station.id)

    def update_station(
        self,
        principal: Principal | None,
        station_id: str,
        patch: Mapping[str, Any],
        expected_version: int | None,
    ) -> Station:
        """Change some fields of a station; with `expected_version`, only if it is still that version."""
        self.check_writer(principal)
        current = self.require_station(station_id)
        unknown = set(patch) - (STATION_FIELDS - {"id"})
        if unknown:
            raise BadUserInput(f"unknown or unchangeable fields: {', '.join(sorted(unknown))}")
        changed = dataclasses.replace(current, **_typed_fields(_trimmed(patch)), version=current.version + 1)
        self.check_station_write(
            principal, [current.division_code, *self._known_divisions(changed.division_code)]
        )
        self._check_version(current, expected_version)
        if changed.same_content(current):
            return current
        self._check_station(changed, current)
        self._write_stations(
            [changed],
            {station_id: current.version},
            self._station_changes(UPDATE_OPERATION, [(changed, current)]),
            principal,
        )
        return self.require_station(station_id)

    def close_station(self, principal: Principal | None, station_id: str, on: date) -> Station:
        """Mark a station closed from `on` (it is active up to the day before)."""
        self.check_writer(principal)
        current = self.require_station(station_id)
        self.check_station_write(principal, [current.division_code])
        if current.opened_on is None:
            raise BadUserInput(
                f"station {station_id} never opened (it is {current.status}), so it cannot close"
            )
        if current.status is StationStatus.CLOSED and current.closed_on == on:
            return current
        closed = dataclasses.replace(
            current, status=StationStatus.CLOSED, closed_on=on, version=current.version + 1
        )
        self._check_station(closed, current)
        self._write_stations(
            [closed],
            {station_id: current.version},
            self._station_changes(CLOSE_OPERATION, [(closed, current)]),
            principal,
        )
        return self.require_station(station_id)

    def _known_divisions(self, code: str) -> list[str]:
        """`[code]` when it names a division (an unknown one is a validation problem, not an access one)."""
        return [code] if self.engine.division(code) is not None else []

    def _check_version(self, current: Station, expected_version: int | None) -> None:
        if expected_version is not None and expected_version != current.version:
            raise Conflict(
                f"station {current.id} is at version {current.version}, not the expected {expected_version}"
            )

    def _check_station(self, station: Station, current: Station | None) -> None:
        """Refuse (`BadUserInput`, every problem) a station that breaks a rule on its own, where it
        sits or whom it reports to, or that would take a roll-up total past `MAX_SUM`."""
        problems = station_field_problems(station, 0) + placement_problems(
            {station.id: (0, station)}, self.engine
        )
        if not problems:
            old = [current] if current is not None else []
            problems = [
                Problem(0, excess.column, _excess_message(excess, self.engine))
                for excess in self.engine.sums_over_limit(old, [station])
            ]
        if problems:
            raise BadUserInput.from_problems(problems)

    def _write_stations(
        self,
        stations: Sequence[Station],
        expected: Mapping[str, int | None],
        changes: Sequence[AuditChange],
        principal: Principal | None,
    ) -> None:
        """Write `stations` (checked against the `expected` versions) with their audit `changes`."""
        try:
            with _store_busy_is_unavailable():
                version = self.store.upsert_stations(
                    stations, expected, audit=self._trail(principal, changes)
                )
        except ConflictError as error:
            self._catch_up_after_write()
            raise Conflict(str(error)) from error
        self._catch_up_after_write(Changes(version, stations=list(stations)))

    def _catch_up_after_write(self, written: Changes | None = None) -> None:
        """Bring the engine up to the store after a write (committed or not); if the store cannot be
        read just now, the background catch-up (or the next write) does it later."""
        with suppress(StoreUnavailable):
            self.refresh(force=True, written=written)

    # --- imports ---------------------------------------------------------------------------------

    def import_stations(
        self,
        principal: Principal | None,
        data: bytes | str,
        *,
        dry_run: bool = False,
        follow: bool = True,
        progress: ImportProgress | None = None,
    ) -> ImportReport:
        """Validate a whole station file, then upsert it by id in one transaction (or report why not).

        `follow=False` leaves the engine behind the store (for a one-shot command that exits after).
        `progress` follows the write batch by batch. Who may write at all is checked before the file
        is read; an editor's scope once its rows are known.
        """
        self.check_writer(principal)
        rows, problems = _read_rows(data, STATION_COLUMNS)
        if problems and not rows:
            return ImportReport(errors=problems)
        stations, row_problems = validate_stations(rows, self.engine)
        problems = sorted(problems + row_problems, key=lambda problem: problem.row)
        row_of = {values["id"]: row for row, values in rows}
        del rows  # the records are all that is needed from here on
        if problems:
            return ImportReport(errors=problems)
        touched = [s.division_code for s in stations]
        touched += [old.division_code for s in stations if (old := self.engine.station(s.id)) is not None]
        self.check_station_write(principal, touched)
        report, changed = _compare(stations, lambda s: self.engine.station(s.id), Station.same_content)
        problems = self._sum_problems(changed, row_of)
        if problems:
            return ImportReport(errors=problems)
        # A stored row left out at load (it broke the rules) is replaced: an update of its version.
        stored = {new.id: self.engine.left_out_version(new.id) for new, old in changed if old is None}
        left_out = {station_id: version for station_id, version in stored.items() if version is not None}
        report.created -= len(left_out)
        report.updated += len(left_out)
        to_write = [
            new.with_version(old.version + 1 if old else left_out.get(new.id, 0) + 1) for new, old in changed
        ]
        expected = {new.id: old.version if old else left_out.get(new.id) for new, old in changed}

        def write() -> Changes:
            pairs = [(new, old) for new, (_, old) in zip(to_write, changed, strict=True)]
            trail = self._trail(principal, self._station_changes(IMPORT_OPERATION, pairs))
            version = self.store.upsert_stations(
                to_write, expected, audit=trail, **_per_batch(progress, len(to_write))
            )
            return Changes(version, stations=to_write)

        return self._apply_import(report, dry_run, follow, write)

    def import_divisions(
        self,
        principal: Principal | None,
        data: bytes | str,
        *,
        dry_run: bool = False,
        follow: bool = True,
        progress: ImportProgress | None = None,
    ) -> ImportReport:
        """Validate a whole division file, then upsert it by code in one transaction (or report why not).

        `follow` and `progress` as for `import_stations`.
        """
        self.check_division_write(principal)
        rows, problems = _read_rows(data, DIVISION_COLUMNS)
        if problems and not rows:
            return ImportReport(errors=problems)
        divisions, row_problems = validate_divisions(rows, self.engine)
        problems = sorted(problems + row_problems, key=lambda problem: problem.row)
        row_of = {values["code"]: row for row, values in rows}
        del rows  # the records are all that is needed from here on
        if problems:
            return ImportReport(errors=problems)
        report, changed = _compare(divisions, lambda d: self.engine.division(d.code), Division.__eq__)
        problems = self._move_sum_problems(changed, row_of)
        if problems:
            return ImportReport(errors=problems)
        to_write = [new for new, _ in changed]

        def write() -> Changes:
            trail = self._trail(principal, self._division_changes(divisions, changed))
            version = self.store.upsert_divisions(
                to_write, audit=trail, **_per_batch(progress, len(to_write))
            )
            return Changes(version, divisions=to_write)

        return self._apply_import(report, dry_run, follow, write)

    def _division_changes(
        self, divisions: Sequence[Division], changed: Sequence[tuple[Division, Division | None]]
    ) -> list[AuditChange]:
        """One audit change per (new, stored or None) division pair of an import of `divisions`, sitting
        where the division was (its stored path) and where it is now (its path as the file makes it:
        the file's parents first, then the stored ones)."""
        in_file = {d.code: d.parent_code for d in divisions}

        def parent_of(code: str) -> str | None:
            return in_file[code] if code in in_file else self._stored_parent_code(code)

        new_paths, stored_paths = DivisionPaths(parent_of), DivisionPaths(self._stored_parent_code)
        return [
            AuditChange(
                IMPORT_OPERATION,
                DIVISION_KIND,
                new.code,
                division_json(old) if old is not None else None,
                division_json(new),
                new_paths.within_one(new.code)
                if old is None
                else within_of(stored_paths.path(old.code), new_paths.path(new.code)),
            )
            for new, old in changed
        ]

    def _sum_problems(
        self, changed: Sequence[tuple[Station, Station | None]], row_of: Mapping[str, int]
    ) -> list[Problem]:
        """A problem for each roll-up total that writing `changed` would take past `MAX_SUM`, blamed
        on the last row of the file that adds to it."""
        excesses = self.engine.sums_over_limit(
            [old for _, old in changed if old], [new for new, _ in changed]
        )
        problems = []
        for excess in excesses:
            adding = [
                row_of[new.id]
                for new, _ in changed
                if new.is_active_on(excess.day) and self.engine.is_within(new.division_code, excess.code)
            ]
            problems.append(
                Problem(max(adding, default=1), excess.column, _excess_message(excess, self.engine))
            )
        return sorted(problems, key=lambda problem: problem.row)

    def _move_sum_problems(
        self, changed: Sequence[tuple[Division, Division | None]], row_of: Mapping[str, int]
    ) -> list[Problem]:
        """A problem for each roll-up total that moving divisions under new parents would take past
        `MAX_SUM`, blamed on the row of a moved division below the division concerned."""
        moves = {
            new.code: new.parent_code
            for new, old in changed
            if old is not None and new.parent_code is not None and old.parent_code != new.parent_code
        }
        if not moves:
            return []
        written = {new.code: new for new, _ in changed}

        def find(code: str) -> Division | None:
            return written.get(code) or self.engine.division(code)

        problems = []
        for excess in self.engine.sums_over_limit_after_moves(moves, find):
            rows = [row_of[code] for code in moves if excess.code in codes_above(code, find)]
            problems.append(
                Problem(min(rows, default=1), "parent_code", _excess_message(excess, self.engine))
            )
        return sorted(problems, key=lambda problem: problem.row)

    def _apply_import(
        self, report: ImportReport, dry_run: bool, follow: bool, write: Callable[[], Changes]
    ) -> ImportReport:
        """Run an import's `write` (which returns what it wrote) unless it is a dry run or nothing
        changed; a conflict writes nothing."""
        if dry_run or not (report.created or report.updated):
            report.applied = not dry_run
            return report
        try:
            with _store_busy_is_unavailable():
                written = write()
        except ConflictError as error:
            self._catch_up_after_write()
            raise Conflict(f"{error}; nothing was written, try again") from error
        report.applied = True
        if follow:
            self._catch_up_after_write(written)
        return report


def _excess_message(excess: SumExcess, engine: NetworkEngine) -> str:
    """Why a write is refused for taking a roll-up total past `MAX_SUM`."""
    division = engine.division(excess.code)
    where = f"{excess.code} {division.name}" if division else excess.code
    what = "the count of stations" if excess.column == "level" else f"the sum of {excess.column}"
    return (
        f"{what} under {where} would reach {excess.value:,} on {excess.day.isoformat()}, more than "
        f"{MAX_SUM:,} (the largest whole number GraphQL's Int can return); nothing was written"
    )


R = TypeVar("R", Division, Station)


UNAVAILABLE_MESSAGE = "the store is busy or cannot be reached just now; nothing was written, try again"


@contextmanager
def _store_busy_is_unavailable() -> Iterator[None]:
    """Turn the store's "busy or unreachable, nothing written" into the service's `Unavailable` (whose
    message names no host: the store's own is logged)."""
    try:
        yield
    except StoreUnavailable as error:
        logger.warning("a write failed, nothing written: %s", error)
        raise Unavailable(UNAVAILABLE_MESSAGE) from error


def _compare(
    records: Sequence[R], current_of: Callable[[R], R | None], same: Callable[[R, R], bool]
) -> tuple[ImportReport, list[tuple[R, R | None]]]:
    """Count the records that are new, changed and unchanged against what is stored; return the
    counts and the (record, stored record or None) pairs to write."""
    report = ImportReport()
    changed: list[tuple[R, R | None]] = []
    for record in records:
        current = current_of(record)
        if current is None:
            report.created += 1
            changed.append((record, None))
        elif same(record, current):
            report.unchanged += 1
        else:
            report.updated += 1
            changed.append((record, current))
    return report, changed


def _per_batch(progress: ImportProgress | None, total: int) -> dict[str, Progress]:
    """The store's per-batch callback for an import's `progress` (after telling it the write begins),
    as keyword arguments for the upsert (none without `progress`)."""
    if progress is None:
        return {}
    progress(0, total)
    return {"progress": lambda written: progress(written, total)}


def _read_rows(
    data: bytes | str, columns: Sequence[str]
) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    if isinstance(data, bytes):
        text, problems = decode_csv_bytes(data)
        if text is None:
            return [], problems
    else:
        text = data
    return read_csv_rows(text, columns)


def _station_from_fields(fields: Mapping[str, Any]) -> Station:
    """A `Station` from fields (snake_case), refusing unknown ones and missing required ones."""
    unknown = set(fields) - STATION_FIELDS
    if unknown:
        raise BadUserInput(f"unknown fields: {', '.join(sorted(unknown))}")
    fields = _trimmed(fields)
    missing = [name for name in ("id", "name", "level", "division_code") if fields.get(name) is None]
    if missing:
        raise BadUserInput(f"missing required fields: {', '.join(missing)}")
    return Station(
        **_typed_fields({name: value for name, value in fields.items() if value is not None}), version=1
    )


def _trimmed(fields: Mapping[str, Any]) -> dict[str, Any]:
    """`fields` with the name trimmed of surrounding whitespace (stored names are trimmed, spec §7)."""
    trimmed = dict(fields)
    if isinstance(trimmed.get("name"), str):
        trimmed["name"] = trimmed["name"].strip()
    return trimmed


_FIELD_TYPES: dict[str, type[StrEnum]] = {"level": StationLevel, "status": StationStatus}


def _typed_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """`fields` with level and status as their enums (given as enums or their values)."""
    typed = dict(fields)
    for name, kind in _FIELD_TYPES.items():
        if name in typed and typed[name] is not None:
            try:
                typed[name] = kind(typed[name])
            except ValueError as error:
                raise BadUserInput(
                    f"unknown {name} {typed[name]!r}; expected one of {', '.join(kind)}",
                    [Problem(0, name, f"unknown {name} {typed[name]!r}")],
                ) from error
    return typed


ProgressCallback = Callable[[int], None]
