"""Quick mode: every benchmark once, at tiny sizes, so that a benchmark that rots fails CI.

CI runs `FASTGD_BENCH_QUICK=1 python3 -m pytest bench --benchmark-disable`: pytest-benchmark then
calls each benchmarked function once, untimed, and the suites shrink their data to a few thousand
rows and their iteration counts to a few. The numbers themselves are printed by a normal run on a
quiet machine and never asserted; a quick run checks only that every benchmark still runs and
that its correctness checks hold. Without FASTGD_BENCH_QUICK=1 these helpers change nothing.
"""

import os

QUICK = os.environ.get("FASTGD_BENCH_QUICK") == "1"


def rows(n, quick=2_000):
    """n data rows; at most `quick` in quick mode."""
    return min(n, quick) if QUICK else n


def steps(n, quick=3):
    """n iterations (or rounds of a loop); at most `quick` in quick mode."""
    return min(n, quick) if QUICK else n
