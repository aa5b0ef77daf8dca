"""Writing one station: create, update (optionally at an expected version) and close, each validated
whole and access-checked before the store commits it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum
from typing import Any

from graph_service.domain.audit import AuditChange
from graph_service.domain.levels import StationLevel, StationStatus
from graph_service.domain.model import Station
from graph_service.domain.validation import Problem, placement_problems, station_field_problems
from graph_service.ports import Changes, ConflictError, WriteBasis
from graph_service.service_layer.auth import Principal
from graph_service.service_layer.base import ServiceBase, excess_message, store_busy_is_unavailable
from graph_service.service_layer.errors import BadUserInput, Conflict

STATION_FIELDS = frozenset(f.name for f in dataclasses.fields(Station)) - {"version"}


CREATE_OPERATION = "createStation"


UPDATE_OPERATION = "updateStation"


CLOSE_OPERATION = "closeStation"


class StationWrites(ServiceBase):
    """The one-station writes."""

    def create_station(self, principal: Principal | None, fields: Mapping[str, Any]) -> Station:
        """Create a station from its fields (the station CSV's, snake_case)."""
        self.check_writer(principal)
        read_at = self.engine.version
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
            self._station_basis(read_at, [station], []),
        )
        return self._as_written(station)

    def update_station(
        self,
        principal: Principal | None,
        station_id: str,
        patch: Mapping[str, Any],
        expected_version: int | None,
    ) -> Station:
        """Change some fields of a station; with `expected_version`, only if it is still that version."""
        self.check_writer(principal)
        read_at = self.engine.version
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
            self._station_basis(read_at, [changed], [current.division_code]),
        )
        return self._as_written(changed)

    def close_station(self, principal: Principal | None, station_id: str, on: date) -> Station:
        """Mark a station closed from `on` (it is active up to the day before)."""
        self.check_writer(principal)
        read_at = self.engine.version
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
            self._station_basis(read_at, [closed], []),
        )
        return self._as_written(closed)

    def _as_written(self, station: Station) -> Station:
        """A station just written, as the engine holds it once it has that version; until then (a
        catch-up with another process's import was under way) as written."""
        current = self.engine.station(station.id)
        return current if current is not None and current.version >= station.version else station

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
                Problem(0, excess.column, excess_message(excess, self.engine))
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
        basis: WriteBasis,
    ) -> None:
        """Write `stations` (checked against the `expected` versions and the `basis` they were
        validated on) with their audit `changes`."""
        try:
            with store_busy_is_unavailable():
                version = self.store.upsert_stations(
                    stations, expected, audit=self._trail(principal, changes), basis=basis
                )
        except ConflictError as error:
            self._catch_up_after_write()
            raise Conflict(str(error)) from error
        self._catch_up_after_write(Changes(version, stations=list(stations)))


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
