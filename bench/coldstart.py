"""Cold start of the service in a fresh process: `python -m bench.coldstart --store URL`.

Opens the service the way `graph-service serve` does (store load + engine build) and prints one JSON
line: the seconds it took (split into the store's streaming load and the engine build), the CPU
seconds it used (on a busy machine wall time runs ahead of it), the seconds since the interpreter
started, and the process's peak RSS.

The peak is VmHWM from /proc/self/status: the high-water mark of this process's own memory map.
`ru_maxrss` is reported too but is not the figure to read: Linux carries the parent's resident set
at fork into a child's `ru_maxrss` across exec, so a child of the benchmark (which holds the generated
network) would report the parent's size.
"""

from __future__ import annotations

import time

PROCESS_STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402

from bench.proc import peak_rss_bytes  # noqa: E402


class TimedStore:
    """Wraps a store and times its `load` (everything else passes through)."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.load_s = 0.0

    def load(self, sink: Any) -> int:
        started = time.perf_counter()
        try:
            return int(self._store.load(sink))
        finally:
            self.load_s += time.perf_counter() - started

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def measure(store_url: str) -> dict[str, Any]:
    from graph_service.bootstrap import open_store
    from graph_service.service_layer.services import NetworkService
    from graph_service.service_layer.settings import Settings
    from graph_service.service_layer.syncing import load_engine

    imported = time.perf_counter()
    settings = Settings.from_env(store_url=store_url)
    started = time.perf_counter()
    cpu_started = time.process_time()
    store = TimedStore(open_store(settings))
    engine = load_engine(store)  # type: ignore[arg-type]
    service = NetworkService(store, engine, settings)  # type: ignore[arg-type]
    finished = time.perf_counter()
    cpu_s = time.process_time() - cpu_started
    peak = peak_rss_bytes()
    nodes = engine.graph.number_of_nodes()
    divisions = sum(1 for node in engine.graph if isinstance(node, str))
    service.close()
    return {
        "store": store_url,
        "cold_start_s": finished - started,
        "load_s": store.load_s,
        "build_s": finished - started - store.load_s,
        "cpu_s": cpu_s,
        "imports_s": imported - PROCESS_STARTED,
        "since_interpreter_start_s": finished - PROCESS_STARTED,
        "peak_rss_bytes": peak,
        "ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "divisions": divisions,
        "stations": nodes - divisions,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.coldstart", description=__doc__)
    parser.add_argument("--store", required=True, help="sqlite:///PATH or bolt://HOST:PORT")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.store)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
