"""`python -m bench`: the national-scale benchmark (see bench/run.py and the README, Performance)."""

import sys

from bench.run import main

sys.exit(main())
