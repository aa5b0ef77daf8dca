"""What every use case of the service works with: the store, the engine kept level with it, the
settings, access checks, the audit trail a write records, and the store's errors as the service's."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date

from graph_service.domain.audit import (
    DIVISION_KIND,
    IMPORT_OPERATION,
    STATION_KIND,
    AuditChange,
    AuditTrail,
    DivisionPaths,
    division_json,
    station_json,
    utc_now,
    within_of,
)
from graph_service.domain.model import Division, Station
from graph_service.domain.validation import MAX_SUM
from graph_service.domain.write_basis import StationBasis
from graph_service.engine import NetworkEngine, SumExcess
from graph_service.ports import Changes, Store, StoreUnavailable, WriteBasis
from graph_service.service_layer.auth import Principal, Role
from graph_service.service_layer.errors import Forbidden, NotFound, Unauthenticated, Unavailable
from graph_service.service_layer.settings import Settings
from graph_service.service_layer.syncing import load_engine, sync
from graph_service.service_layer.views import NetworkViews

logger = logging.getLogger("graph_service.service")


class ServiceBase:
    """The store, its engine and the settings, with what every use case needs of them."""

    def __init__(self, store: Store, engine: NetworkEngine, settings: Settings) -> None:
        self.store = store
        self.engine = engine
        self.views = NetworkViews(engine)
        """The reads the entry points make, and the one-version-per-request context."""
        self.settings = settings
        self._refreshed_at = float("-inf")

    def close(self) -> None:
        self.store.close()

    def load_whole_network(self) -> None:
        """Put an engine holding the whole stored network in place of the one holding part of it
        (`syncing.load_engine_around`), for a check that needs all of it (its aggregates built only
        when that check needs them: `NetworkEngine.load`)."""
        self.engine = load_engine(self.store, aggregates=False)
        self.views = NetworkViews(self.engine)

    def refresh(
        self,
        *,
        force: bool = False,
        written: Changes | None = None,
        phases: dict[str, float] | None = None,
    ) -> bool:
        """Catch up with writes made since the engine last looked (by this process or another).

        Asks the store at most once per `settings.refresh_interval` seconds unless `force` is true;
        the service's own writes always force it, so they show in the very next read. `written` is
        what this service has just committed (applied without reading it back when nothing else was
        written meanwhile). `phases` receives what the catch-up cost (`syncing.sync`). True when the
        engine changed.
        """
        now = time.monotonic()
        if not force and now - self._refreshed_at < self.settings.refresh_interval:
            return False
        changed = sync(self.engine, self.store, written, phases)
        self._refreshed_at = now
        return changed

    def today(self) -> date:
        return self.settings.today()

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

    def _station_basis(
        self, version: int, stations: Sequence[Station], old_codes: Iterable[str]
    ) -> WriteBasis:
        """What a write of `stations` (which sat in `old_codes`) was validated against: the engine at
        data version `version` (read before validating), re-checked by the store as it writes."""
        basis = StationBasis.of(stations, old_codes, self.engine.division, self.engine.station)
        return WriteBasis(version, basis.conflicts, frozenset(basis.parents))

    def _catch_up_after_write(self, written: Changes | None = None) -> None:
        """Bring the engine up to the store after a write (committed or not); if the store cannot be
        read just now, the background catch-up (or the next write) does it later."""
        with suppress(StoreUnavailable):
            self.refresh(force=True, written=written)


def excess_message(excess: SumExcess, engine: NetworkEngine) -> str:
    """Why a write is refused for taking a roll-up total past `MAX_SUM`."""
    division = engine.division(excess.code)
    where = f"{excess.code} {division.name}" if division else excess.code
    what = "the count of stations" if excess.column == "level" else f"the sum of {excess.column}"
    return (
        f"{what} under {where} would reach {excess.value:,} on {excess.day.isoformat()}, more than "
        f"{MAX_SUM:,} (the largest whole number GraphQL's Int can return); nothing was written"
    )


UNAVAILABLE_MESSAGE = "the store is busy or cannot be reached just now; nothing was written, try again"


@contextmanager
def store_busy_is_unavailable() -> Iterator[None]:
    """Turn the store's "busy or unreachable, nothing written" into the service's `Unavailable` (whose
    message names no host: the store's own is logged)."""
    try:
        yield
    except StoreUnavailable as error:
        logger.warning("a write failed, nothing written: %s", error)
        raise Unavailable(UNAVAILABLE_MESSAGE) from error
