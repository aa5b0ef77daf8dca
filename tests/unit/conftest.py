"""Fixtures of the unit tests: the in-memory `FakeStore` (tests/unit/fakes.py) and services over it.

`service` here replaces tests/conftest.py's (one per real store) with one over a fake store holding
the same small seeded network (tests/support/network.py): the service layer's rules do not depend on
which store holds the rows, and the stores themselves are held to their contract by
tests/integration/contract/, the fake included.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from graph_service.service_layer.services import NetworkService
from tests.support.network import seed, settings_for
from tests.unit.fakes import FakeStore, service_over


@pytest.fixture
def fake_store() -> FakeStore:
    """An empty in-memory store."""
    return FakeStore()


@pytest.fixture
def open_service(fake_store: FakeStore) -> Callable[..., NetworkService]:
    """open_service(**settings) -> a service over a new handle on `fake_store` (as another process
    opening the same database would have), with the tests' settings and then `settings`."""

    def opener(**settings: object) -> NetworkService:
        handle = fake_store.handle()
        return service_over(handle, settings_for(handle.url, **settings))

    return opener


@pytest.fixture
def service(fake_store: FakeStore) -> NetworkService:
    """A service over the small seeded network, in a fake store."""
    seeded = service_over(fake_store)
    seed(seeded)
    return seeded
