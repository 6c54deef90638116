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

# Iterations between two returns to Python when a callback or progress display is attached.
DEFAULT_CHECK_EVERY = 100

# lr="auto" and max_stable_lr need the largest eigenvalue of a (d + 1)-square Hessian: LAPACK's
# eigvalsh up to this many features, power iteration above.
EIGVALSH_MAX_FEATURES = 512
