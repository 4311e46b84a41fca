#!/bin/sh
# The index's crash test at full length: `neardup index add` killed with SIGKILL at 20
# random moments of its run (the default test suite kills it 5 times). After each kill the
# index must open, pass SQLite's integrity check and hold every document it acknowledged;
# the add run again must finish it with no document twice and the batch run's pairs.
#   sh bench/index_crash.sh [KILLS] [SEED]
cd "$(dirname "$0")/.." || exit 1
NEARDUP_KILLS="${1:-20}" KILL_SEED="${2:-5}" exec .venv/bin/python -m pytest -q \
    tests/test_index.py -k killed
