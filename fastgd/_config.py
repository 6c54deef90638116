"""Tunables of fastgd's kernels, in one place so that tests and benchmarks can patch them.

Nothing here changes numba's global configuration.
"""

# LLVM fast-math flags for the CPU kernels. "reassoc" lets LLVM reorder the sums so the loops
# vectorize (several accumulators); "contract" allows fused multiply-adds. The flags "nnan" and
# "ninf" are left out on purpose: with them LLVM may assume no NaN or inf ever appears and fold
# away the finiteness checks that detect bad data and divergence.
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}

# Below this many values (n * d) a parallel launch costs more than it saves: use the serial kernel.
PARALLEL_MIN_VALUES = 200_000

# With a callback (or progress display) attached, the compiled loop returns to Python between
# blocks of iterations. By default a block covers at least this many values (n * d per
# iteration), a few milliseconds of work, so the return and the callback cost well under 1%
# even on small data (a fixed 100 iterations cost +20-50% on 100 points).
CHECK_BLOCK_VALUES = 10_000_000

# lr="auto" and max_stable_lr need the largest eigenvalue of a (d + 1)-square Hessian: LAPACK's
# eigvalsh up to this many features, power iteration above.
EIGVALSH_MAX_FEATURES = 512
