"""Fuzzing the GraphQL schema with schemathesis (seeded, bounded to well under a minute): whatever
queries and mutations it generates, valid or not, the service never answers 5xx nor INTERNAL.

Requests carry an admin's token, so mutations get past the access check into validation and the
stores; the store is SQLite in a temporary folder, seeded with the small test network.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from graph_service.bootstrap import open_store
from graph_service.entrypoints.app import create_app
from graph_service.service_layer.services import NetworkService
from graph_service.service_layer.settings import Settings
from graph_service.service_layer.syncing import load_engine
from tests.support.network import seed as seed_network
from tests.support.network import settings_for, token

EXAMPLES_PER_OPERATION = 60
"""Cases generated for each query and mutation field: with 9 of them, about 15 s in all."""

# Dates as the service takes them, and text that is almost one; the same for DateTime and JSON
# when the schema has them (a scalar schemathesis cannot generate would stop the run).
_DAYS = st.dates(min_value=date(1890, 1, 1), max_value=date(2110, 12, 31)).map(date.isoformat)
_ALMOST = st.sampled_from(["", "2024-02-30", "20240101", "2024-W05-3", "0000-01-01", "2024-1-1", "x"])
schemathesis.graphql.scalar("Date", st.one_of(_DAYS, _ALMOST, st.text(max_size=12)).map(nodes.String))
schemathesis.graphql.scalar(
    "DateTime", st.one_of(_DAYS.map(lambda d: d + "T00:00:00Z"), st.text(max_size=12)).map(nodes.String)
)
schemathesis.graphql.scalar("JSON", st.text(max_size=20).map(nodes.String))


def test_no_generated_request_gets_a_5xx_or_internal(tmp_path: Path) -> None:
    """Every query and mutation field, EXAMPLES_PER_OPERATION generated cases each (seeded)."""
    store = open_store(Settings.from_env(store_url=f"sqlite:///{tmp_path / 'fuzz.db'}"))
    service = NetworkService(store, load_engine(store), settings_for(store.url))
    seed_network(service)
    admin = {"Authorization": f"Bearer {token('admin', '*', ttl=timedelta(days=1))}"}
    try:
        schema = schemathesis.graphql.from_asgi("/graphql", create_app(service))
        operations = [result.ok() for result in schema.get_all_operations()]
        names = {operation.label.split(".")[-1] for operation in operations}
        assert {"division", "createStation", "importStations"} <= names
        for operation in operations:

            @seed(20261129)
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def no_5xx_nor_internal(case: Any) -> None:
                response = case.call(headers=admin)
                assert response.status_code < 500, response.text[:1000]
                errors = response.json().get("errors") or []
                codes = [(error.get("extensions") or {}).get("code") for error in errors]
                assert "INTERNAL" not in codes, (case.body, response.text[:1000])

            no_5xx_nor_internal()
    finally:
        store.close()
