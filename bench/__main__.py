"""`python -m bench`: the national-scale benchmark (see bench/run.py and the README, Performance).

python -m bench [options]              the full benchmark (bench/run.py)
python -m bench uncached --url URL     never-repeating questions against a running service
python -m bench load [options]         the load run (bench/load.py)
"""

import sys

if len(sys.argv) > 1 and sys.argv[1] == "uncached":
    from bench.uncached import main as uncached_main

    sys.exit(uncached_main(sys.argv[2:]))
if len(sys.argv) > 1 and sys.argv[1] == "load":
    from bench.load import main as load_main

    sys.exit(load_main(sys.argv[2:]))

from bench.run import main  # noqa: E402

sys.exit(main())
