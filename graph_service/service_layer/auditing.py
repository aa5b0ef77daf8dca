"""Reading the audit trail (spec §9): one station's history and the log under a division, a page at a time."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from graph_service.domain.audit import STATION_KIND, AuditEntry, AuditQuery
from graph_service.service_layer.auth import Principal, Role
from graph_service.service_layer.base import ServiceBase


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page of the audit trail, newest first: the entries, whether older ones follow, and a way
    to count the whole selection (a store query, so only made when asked for)."""

    entries: list[AuditEntry]
    has_next: bool
    count: Callable[[], int]


class AuditReads(ServiceBase):
    """The audit trail's reads, access-checked."""

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
