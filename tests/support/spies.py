"""Making a function of the service layer fail the test if it is called (to show work is not done)."""

from __future__ import annotations

from typing import Any

import pytest

from graph_service.service_layer import importing


def forbid(monkeypatch: pytest.MonkeyPatch, *names: str) -> list[str]:
    """Make the service layer's CSV reading and validation fail the test if called; returns the calls."""
    calls: list[str] = []
    for name in names:

        def called(*args: Any, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            raise AssertionError(f"{_name} ran before the caller was refused")

        monkeypatch.setattr(importing, name, called)
    return calls


# --- finding 2: access before any other work ---------------------------------------------------


def count_executions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the query of every operation the GraphQL endpoint executes (fast path or strawberry's
    pipeline alike; not one answered from the response cache); returns the list of them."""
    from graph_service.entrypoints import graphql_http

    runs: list[str] = []
    original = graphql_http.execute_operation

    def counted(query: str, *args: Any, **kwargs: Any) -> Any:
        runs.append(query)
        return original(query, *args, **kwargs)

    monkeypatch.setattr(graphql_http, "execute_operation", counted)
    return runs
