"""Entry points: the HTTP app (`app.py`'s `create_app` over `graphql_http.py` and its
`response_cache.py`, `health.py`, `http_common.py`, and `workers.py` for several processes) with the
dashboard's routes (`dashboard.py`), the GraphQL schema (`graphql/`), the command line (`cli/`), and
the writers they share: the gap list's files (`exports.py`), spreadsheet-safe CSV (`csv_out.py`) and
the terminal progress bar (`progress.py`). They translate requests into use cases of the service
layer and its answers back; the rules themselves live in the service layer and the domain.

May import: the domain, the ports' errors, and the service layer (`NetworkService`, its read model
`service.views` and its `consistent()` context for one version per request; its errors, the engine's
`EngineLoadError` among them); never the engine, its values or its lock, and never an adapter: they get
the service they run from `graph_service.bootstrap`. `tests/unit/test_layers.py` holds them to it.
"""
