"""The contract suite's stores: the real ones of tests/conftest.py, and the unit tests' in-memory
`FakeStore` (tests/unit/fakes.py), so the fake keeps every promise the real stores keep."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graph_service.ports import DEFAULT_BATCH_SIZE
from tests.support.stores import STORE_KINDS, StoreFactory, stores_of
from tests.unit.fakes import FakeStore


@pytest.fixture(params=[*STORE_KINDS, "fake"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens stores (`make(batch_size=...)`) on one empty database of the parametrised kind: SQLite,
    Neo4j, or handles on one `FakeStore`'s contents."""
    if request.param != "fake":
        with stores_of(request.param, tmp_path) as make:
            yield make
        return
    first = FakeStore()

    def make_fake(batch_size: int = DEFAULT_BATCH_SIZE) -> FakeStore:
        return first.handle(batch_size=batch_size)

    yield make_fake
