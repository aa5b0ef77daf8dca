"""Keeping the engine level with the store: loading it, and catching up with what was written since.

The engine knows nothing of stores (it takes plain data: a `Snapshot`, `Changes`); this module asks
the store for its data version and for the changes since the engine's, and hands them over.

Writers are never held for a whole catch-up: the changes are read from the store without the
engine's `updating` lock (a catch-up holds it only to check, prepare and swap them in). A write
still waits for that last part when it finds it under way, and catches up with another process's
writes that preceded its own: when a write returns, the engine holds it (issue 9: the store and the
engine never disagree after a write returns), so a read after it always sees it. Only one thread
catches up at a time (the engine's `catching_up` lock): a write that finds the store ahead of the
engine by another process's writes waits for the catch-up under way (the follower's) and then
applies only what is still missing, instead of reading and preparing the same import again.

May import: the domain, the ports and the engine.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from graph_service.domain.changes import Changes
from graph_service.engine import NetworkEngine, Snapshot, collector_paused
from graph_service.ports import Store, StoreError

logger = logging.getLogger("graph_service.syncing")

STORE_WALL = "store"
"""The key of `sync`'s `phases` holding the wall seconds the store took to give the changes (the others
hold CPU seconds)."""
DIVISIONS_REBUILT = 1_000
"""From this many changed divisions on, a catch-up builds a whole new engine from the store beside the
live one and swaps it in, instead of updating the live one in place."""


def load_engine(store: Store, *, aggregates: bool = True) -> NetworkEngine:
    """A new engine holding the whole stored network, built in one streaming pass (records that today's
    rules refuse are left out and listed in its `problems`, never fatal); `aggregates=False`: one only
    to check writes against (see `NetworkEngine.load`)."""
    snapshot = Snapshot()
    with collector_paused():
        version = store.load(snapshot)
        return NetworkEngine.load(snapshot, version, aggregates=aggregates)


@dataclass(frozen=True, slots=True)
class WriteScope:
    """What a station write names: the ids it writes, the stations they report to, the divisions they
    sit in."""

    station_ids: frozenset[str]
    parent_ids: frozenset[str]
    division_codes: frozenset[str]


def load_engine_around(store: Store, scope: WriteScope) -> NetworkEngine:
    """A new engine holding the part of the stored network that checking a station write of `scope`
    needs (`NetworkEngine.load_part`): the stations it names as stored, those reporting to the ones
    it writes, every station any of them reports to up the chain, and the divisions all of them sit
    (or sat) in, with every division above; plus the store's bound on every roll-up total.

    Read at the data version read first: the rows given are as of it or later, and the write's
    checks at commit (its basis and expected versions, taken from this engine) refuse it when a row
    it was checked against changed since that version, as for any engine behind the store."""
    version = store.data_version()
    snapshot = Snapshot()
    with collector_paused():
        ids = scope.station_ids | scope.parent_ids
        store.load_part(snapshot, station_ids=ids, reporting_to=scope.station_ids)
        asked = set(ids) | {station.id for station in snapshot.stations}
        # A damaged store may give a station no division or a parent id that is not text.
        while wanted := {s.parent_id for s in snapshot.stations if isinstance(s.parent_id, str)} - asked:
            store.load_part(snapshot, station_ids=wanted)
            asked |= wanted
        codes = set(scope.division_codes)
        for station in snapshot.stations:
            codes.update(p.division_code for p in station.history() if isinstance(p.division_code, str))
        store.load_part(snapshot, division_codes=codes)
        totals = store.station_totals()
        return NetworkEngine.load_part(
            snapshot,
            version,
            stations=totals.stations,
            staff=totals.staff,
            certified_staff=totals.certified_staff,
            volunteers=totals.volunteers,
        )


def sync(
    engine: NetworkEngine,
    store: Store,
    written: Changes | None = None,
    phases: dict[str, float] | None = None,
) -> bool:
    """Catch `engine` up with `store`: apply what was written since its version. True when anything
    changed.

    `written` is what the caller has just committed: when it is the only write since the engine's
    version it is applied as it is, without reading it back (and not at all when already caught up
    with). Changes that break a rule or touch a record left out at load, and any failure to apply
    them, rebuild the engine from the store instead, so the engine never disagrees with the store.
    `phases` receives the CPU seconds of the catch-up's phases (read, check, prepare, swap), and under
    `STORE_WALL` the wall seconds of the read. An engine holding part of the network
    (`load_engine_around`) checks one write and is never caught up: False.
    """
    if engine.is_part:
        return False
    phases = phases if phases is not None else {}
    phases.clear()  # what an earlier catch-up measured is not this one's
    if written is not None:
        applied = _apply_written(engine, store, written)
        if applied is not None:
            return applied
    with engine.catching_up:  # a catch-up under way (the follower's) is waited for, not repeated
        if written is not None and written.version <= engine.version:
            return False  # the catch-up just waited for brought the engine past this write
        # The engine's version is read before the store's: this process's own writes may carry the
        # engine past a store version read before them, but never past one read after them, so only
        # a store version below what the engine held before it was read means the store went back.
        base, stale = engine.version, engine.stale
        current = store.data_version()
        if current < base or stale:
            rebuild(engine, store)
            return True
        if current <= engine.version:  # nothing the engine lacks (its own writes may have got there)
            return engine.version != base
        return _catch_up(engine, store, phases)


def rebuild(engine: NetworkEngine, store: Store) -> None:
    """Replace the engine's network with a fresh load of the store (writers wait meanwhile, so no write
    applied during the load is lost by the swap)."""
    with engine.updating:
        engine.replace_with(load_engine(store))


def _apply_written(engine: NetworkEngine, store: Store, written: Changes) -> bool | None:
    """Apply the caller's own committed `written` when it follows the engine's version directly: True
    when applied, False when there is nothing to do (caught up with already), None when the store
    must be read instead. A catch-up under way holds the engine only while it checks, prepares and
    swaps in what it read, so that is all this waits for."""
    with engine.updating:
        if engine.stale:
            return None
        if written.version <= engine.version:
            return False  # caught up with already (by the background catch-up)
        if written.version != engine.version + 1 or not engine.can_apply(written):
            return None
        _apply_or_rebuild(engine, store, written)
        return True


def _catch_up(engine: NetworkEngine, store: Store, phases: dict[str, float]) -> bool:
    """Read what was written since the engine's version (without holding writers back), then check
    and apply it; True when the engine changed."""
    base = engine.version
    started, asked = time.thread_time(), time.perf_counter()
    try:
        # An import's 50,000 stations read with the collector on cost 0.28-0.31 CPU s, against
        # 0.22-0.23 s with it paused (national scale): its passes over them find no garbage.
        with collector_paused(freeze=False):
            changes = store.changes_since(base)
    except StoreError:
        raise
    except Exception:  # a row that cannot be read (ValueError): the load lists it instead
        rebuild(engine, store)
        return True
    phases["read"] = time.thread_time() - started
    phases[STORE_WALL] = time.perf_counter() - asked
    if len(changes.divisions) >= DIVISIONS_REBUILT:
        rebuild(engine, store)
        return True
    with engine.updating:
        if engine.stale:
            rebuild(engine, store)
            return True
        if changes.version <= engine.version:
            # This process's own writes got there meanwhile; anything newer is the next round's.
            return engine.version != base
        # Changes since `base` hold every record written since, so those this process's own writes
        # applied meanwhile (between `base` and `engine.version`) are applied again as they are.
        started = time.thread_time()
        with collector_paused(freeze=False):
            appliable = engine.can_apply(changes)
        phases["check"] = time.thread_time() - started
        if not appliable:
            rebuild(engine, store)
            return True
        if _apply_or_rebuild(engine, store, changes):
            phases.update(engine.catch_up_cpu)
    return True


def _apply_or_rebuild(engine: NetworkEngine, store: Store, changes: Changes) -> bool:
    """Apply `changes` (checked appliable, the engine held); when that fails all the same (a bug), log
    it and rebuild the engine from the store instead. True when applied."""
    try:
        engine.apply(changes)
    except Exception:
        logger.exception("applying data version %d failed: rebuilding from the store", changes.version)
        rebuild(engine, store)
        return False
    return True
