"""`python -m graph_service.entrypoints.cli`: the same as the console script `graph-service`."""

import sys

from graph_service.entrypoints.cli import main

sys.exit(main())
