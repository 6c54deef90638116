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
# eigvalsh up to this many features, power iteration above. Measured on the 2-core development
# machine: 13 ms at 513, 53 ms at 1001, 0.42 s at 2049 -- where power iteration to 1e-12 on
# a clustered spectrum (sparse, standardized data: d = 1000) took 1.8 s.
EIGVALSH_MAX_FEATURES = 2048

# Below this many values, n * (d + k) (k targets; a sparse X's stored values), the one-pass sums
# -- the moments (fastgd/moments.py, sparse.py) and a GLM's Newton pass (fastgd/glm_pass.py) --
# come from NumPy's (scipy's) products instead of the compiled passes, which numba compiles for
# 3-5 s on a first fit on the 2-core machine (once per machine: numba caches them, but every new
# machine, container and CI job pays it again). NumPy's are slower per pass (moments: 0.8 ms
# against 0.15 ms at (10^4, 8), about 10x at 10^6 values) but need no compile: up to this size
# a fit that needs them once or a few times is over before the kernel would have compiled.
PASS_KERNEL_MIN_VALUES = 1 << 18

# The gram method's moment pass runs once per fit, so a parallel launch (whose thread start-up and
# synchronisation cost milliseconds on a busy machine) pays off only for long passes: below this
# many multiply-adds, n * (d + 1)**2, it runs on one thread unless threads= says otherwise.
GRAM_PARALLEL_MIN_PRODUCTS = 50_000_000

# LassoGD and ElasticNetGD (with an L1 part) and fastgd.path solve X with at least this many
# features (or more features than rows) by working sets (fastgd/working_set.py): one pass over
# X per working set, instead of a step of every coefficient per pass (the loop) or the
# (d + 1)-square moments (gram), which cost n d² to form.
WORKING_SET_MIN_FEATURES = 1024

# A sparse X's gram method (and its moments: lr="auto", standardize, tol) forms a dense
# (d + 1)-square matrix: above this many features "auto" takes the loop; method="gram" is
# refused only where the matrix would take more than this share of the memory free at the time.
SPARSE_GRAM_MAX_FEATURES = 4096
SPARSE_GRAM_MEMORY_SHARE = 0.25
