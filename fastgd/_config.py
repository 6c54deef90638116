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

# CUDA backend (fastgd/cuda.py). Threads per block: a power of two; tests patch it small (the
# simulator runs each thread as a Python thread). Blocks: this many per multiprocessor (fewer
# when the data has fewer rows or shared memory runs out). 4 x 256 threads stay resident up to
# 64 registers per thread, and with 4 rows unrolled per thread keep enough loads in flight to
# hide memory latency -- an estimate, not yet measured on a GPU.
CUDA_THREADS_PER_BLOCK = 256
CUDA_BLOCKS_PER_SM = 4

# The host queues kernel launches without waiting; every this many iterations it reads the
# device-side status, so that a fit that stopped (diverged, converged) stops queueing launches.
CUDA_POLL_EVERY = 256

# device="auto" runs on a (real) GPU only from this many values (n * d) on: below, copying the
# data to the device and launching kernels costs more than the CPU's pass.
CUDA_MIN_VALUES = 1_000_000

# lr="auto" and max_stable_lr need the largest eigenvalue of a (d + 1)-square Hessian: LAPACK's
# eigvalsh up to this many features, power iteration above.
EIGVALSH_MAX_FEATURES = 512

# The gram method's moment pass runs once per fit, so a parallel launch (whose thread start-up and
# synchronisation cost milliseconds on a busy machine) pays off only for long passes: below this
# many multiply-adds, n * (d + 1)**2, it runs on one thread unless threads= says otherwise.
GRAM_PARALLEL_MIN_PRODUCTS = 50_000_000
