"""Catching up with other processes' writes in the background, and knowing whether the store answers.

A server runs one `Follower` beside its requests: a daemon thread that asks the store for its data
version every `settings.refresh_interval` seconds and, when another process has written, applies the
changes to the engine (`NetworkService.refresh`). Requests never wait for it: they are answered from
the engine's last complete version, and the engine swaps the next one in at once (see
`NetworkEngine.apply`).

A catch-up is CPU work in Python, so it competes with the event loop for the GIL: while one runs, the
interpreter's switch interval is `CATCH_UP_SWITCH_INTERVAL` (`catch_up_switching`). The event loop gives
the GIL up at every socket read and write, and the catch-up takes it then; the interval is how long
the loop may then wait to get it back. A longer one gives the catch-up more of the process's time
(it ends sooner, so an import is visible sooner) and makes each request slower while it runs; 10 ms
was measured as the balance (see docs/load-runs.md, round eight).

Before its first round it has the store get ready for the server's first writes (`Store.warm_up`:
Neo4j plans their statements). When the store fails, the follower keeps trying, with doubling pauses
up to `MAX_PAUSE` seconds, and says why in `problem` (what `/readyz` reports); the first answer again
clears it.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from graph_service.ports import StoreError, StoreUnavailable
from graph_service.service_layer.services import NetworkService
from graph_service.service_layer.syncing import STORE_WALL

logger = logging.getLogger("graph_service.following")

MIN_PAUSE = 0.01
"""The shortest pause between two questions to the store (a refresh interval of 0 means this)."""
MAX_PAUSE = 1.0
"""The longest pause between two tries while the store fails."""
CATCH_UP_SWITCH_INTERVAL = 0.01
"""The interpreter's switch interval (seconds) while a catch-up runs (Python's default is 0.005)."""

_switching = threading.Lock()
_catching_up = 0  # how many catch-ups (of any follower in this process) are running
_normal_interval = sys.getswitchinterval()


@contextmanager
def catch_up_switching() -> Iterator[None]:
    """Run the block with the interpreter's switch interval at `CATCH_UP_SWITCH_INTERVAL` (other
    threads, the event loop answering requests, wait at most that long for the GIL at each hand-over);
    the interval in force before is put back when the last such block in the process ends."""
    global _catching_up, _normal_interval
    with _switching:
        if _catching_up == 0:
            _normal_interval = sys.getswitchinterval()
            sys.setswitchinterval(CATCH_UP_SWITCH_INTERVAL)
        _catching_up += 1
    try:
        yield
    finally:
        with _switching:
            _catching_up -= 1
            if _catching_up == 0:
                sys.setswitchinterval(_normal_interval)


class Follower:
    """Keeps one service's engine caught up with its store from a background thread."""

    def __init__(self, service: NetworkService) -> None:
        self.service = service
        self.problem: str | None = None
        """Why the store could not be read on the last try, fit for clients (None: it answered)."""
        self.failing_since: float | None = None
        """Since when (a Unix time) the tries have failed."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Start following (once; starting again does nothing)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="graph-service-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following and wait for the thread to end (a catch-up under way is finished first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def check(self) -> None:
        """Catch up once, now, and record how it went (what the thread does on each round)."""
        started, cpu, version = time.monotonic(), time.thread_time(), self.service.engine.version
        phases: dict[str, float] = {}
        try:
            with catch_up_switching():
                changed = self.service.refresh(force=True, phases=phases)
        except StoreUnavailable as error:
            self._failed("the store is busy or cannot be reached", error)
            raise
        except StoreError as error:
            self._failed("the store cannot be read (see the server log)", error)
            raise
        except Exception as error:  # a bug must not end the thread: say so and keep trying
            self._failed("catching up with the store failed (see the server log)", error)
            raise
        if changed:
            store_wall = phases.pop(STORE_WALL, None)
            logger.info(
                "caught up from data version %d to %d in %.3f s (%.3f s of CPU: %s)%s",
                version,
                self.service.engine.version,
                time.monotonic() - started,
                time.thread_time() - cpu,
                ", ".join(f"{phase} {seconds:.3f} s" for phase, seconds in phases.items()),
                "" if store_wall is None else f"; the store answered in {store_wall:.3f} s",
            )
        if self.problem is not None:
            logger.warning("the store answers again")
        self.problem = None
        self.failing_since = None

    def _failed(self, reason: str, error: Exception) -> None:
        """Record a failed try: `reason` for clients (no hosts, no internals), `error` for the log."""
        if self.problem is None:
            logger.warning("%s: %s", reason, error, exc_info=not isinstance(error, StoreError))
            self.failing_since = time.time()
        self.problem = reason

    def _warm_up(self) -> None:
        """Get the store ready for the server's first writes and catch-ups (`Store.warm_up`), before
        following it; a failure only costs those first ones some time, so it is logged, not raised."""
        try:
            self.service.store.warm_up()
        except Exception as error:
            logger.warning("the store could not be warmed up (its first writes may be slower): %s", error)

    def _run(self) -> None:
        self._warm_up()
        normal = max(self.service.settings.refresh_interval, MIN_PAUSE)
        pause = normal
        while not self._stop.wait(pause):
            try:
                self.check()
            except Exception:  # recorded in `problem` by `check`
                pause = min(max(pause * 2, 0.1), MAX_PAUSE)
            else:
                pause = normal
