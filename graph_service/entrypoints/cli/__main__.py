"""`python -m graph_service.entrypoints.cli`: the same as the console script `graph-service`."""

from graph_service.entrypoints.cli import run

run()
