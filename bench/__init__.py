"""Benchmarks at national scale (see README, Performance): `python -m bench` (the national benchmark,
`run.py`), `python -m bench load` (the load run, `load.py`), `python -m bench uncached`, and
`python -m bench.NAME` for the others (cold start, catch-up, audit overhead, store writes, editions,
dashboard). Shared pieces: the generated network (`generate`), seeding (`seed`), the servers and HTTP
timing (`serve`, `http`), a local Neo4j (`neo4j_local`), brute-force recounts (`recount`) and how
figures print (`report`).

May import anything of `graph_service`; builds what it runs through `graph_service.bootstrap` or the
`graph-service` command, as an admin would. Nothing in `graph_service` imports it.
"""
