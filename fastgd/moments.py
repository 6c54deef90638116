"""The data's centred moments, in one pass: what the gram method, lr="auto" and max_stable_lr
start from.

For data X (n, d), targets y and sample weights s, the *moments* are the total weight S, the
weighted means of the columns z = (x_1, ..., x_d, y), and their centred cross-products

    comoment[j, k] = sum_i s_i (z_ij - mean_j)(z_ik - mean_k)

(xx, xy and yy in the gram method's terms, see fastgd/gram.py).

Why centred: with uncentred sums (sum x**2, sum x y, ...) data like x = 1e6 + noise loses about
12 of its 16 digits to cancellation. Each thread cuts its rows into small blocks, computes a
block's means and then its centred products from cache (a two-pass algorithm per block), and the
blocks, then the threads, are merged with the exact pairwise update of Chan, Golub and LeVeque
(`merge_moments`). The Dask backend merges its chunks' moments with the same function, and the
CUDA backend computes the same moments on the device (`cuda.device_moments`).

The block's moments (`_block_moments`, `add_products`) and a range's (`_range_moments`) are
compiled functions of their own, called rather than inlined: numba inlines an inline="always"
function by compiling its source again at every call site, and the moment pass, inlined whole,
compiled for 4.6 s at d = 1 and 6.1 s at d = 8 against 1.6 and 3.1 s called (the first fit's
largest compile). A process that compiles them may so differ from those that load numba's
cache in the last bits of the moments (docs/determinism.md says what is guaranteed).
"""

import functools
from typing import NamedTuple

import numpy as np
from numba import njit

from . import _config
from ._config import FASTMATH
from .compiled import compile_for, compile_once
from .gradient import add_products, rows_of
from .threads import in_ranges, row_ranges

BLOCK_ROWS = 512
# One feature and one target: the blocks are the data's own rows (nothing copied), so larger
# blocks cost no cache and save calls of `_block_moments` and merges: with 512 the pass at d = 1
# took 10-25 % longer than with every block inlined (measured 2026-12-06).
ONE_FEATURE_BLOCK_ROWS = 4096


class Moments(NamedTuple):
    """Weighted centred moments of the columns z = (x_1, ..., x_d, y) of a data set.

    Plain arrays and a float, so they pickle (the Dask backend ships them between processes).
    `comoment` is symmetric: comoment[j, k] = sum_i s_i (z_ij - mean_j)(z_ik - mean_k).
    """

    weight: float  # S = sum of the sample weights (n when unweighted)
    mean: np.ndarray  # (d + 1,) weighted means of x_1..x_d and y
    comoment: np.ndarray  # (d + 1, d + 1)

    @property
    def n_features(self):
        return self.mean.shape[0] - 1

    @property
    def x_mean(self):
        return self.mean[:-1]

    @property
    def y_mean(self):
        return float(self.mean[-1])

    @property
    def xx(self):
        return self.comoment[:-1, :-1]

    @property
    def xy(self):
        return self.comoment[:-1, -1]

    @property
    def yy(self):
        return float(self.comoment[-1, -1])


@njit(cache=True, nogil=True, inline="always")
def _zero(mean, comoment):
    """mean[:] = 0 and comoment[:, :] = 0, in loops: numba compiles a slice assignment's
    broadcasting and checks, which cost a fraction of a second at each of four places (and
    inlined: as a function of its own it compiled for 0.08 s of every first fit)."""
    for j in range(mean.shape[0]):
        mean[j] = 0.0
    for j in range(comoment.shape[0]):
        for k in range(comoment.shape[1]):
            comoment[j, k] = 0.0


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _merge_into(weight_a, mean_a, comoment_a, weight_b, mean_b, comoment_b):
    """Merge moments b into a (mean_a and comoment_a updated in place); return the new weight.

    Chan, Golub & LeVeque: C = C_a + C_b + (S_a S_b / S) delta delta^T, delta = mean_b - mean_a.
    Only the upper triangle (k >= j) is read and written.
    """
    if weight_b == 0.0:
        return weight_a
    if weight_a == 0.0:
        # Element by element: an array assignment compiles numba's shape-mismatch error path,
        # string formatting included, which cost seconds of every first run.
        for j in range(mean_a.shape[0]):
            mean_a[j] = mean_b[j]
            for k in range(mean_a.shape[0]):
                comoment_a[j, k] = comoment_b[j, k]
        return weight_b
    total = weight_a + weight_b
    factor = weight_a * weight_b / total
    share = weight_b / total
    size = mean_a.shape[0]
    for j in range(size):
        delta_j = mean_b[j] - mean_a[j]
        for k in range(j, size):
            comoment_a[j, k] += comoment_b[j, k] + factor * delta_j * (mean_b[k] - mean_a[k])
    for j in range(size):
        mean_a[j] += share * (mean_b[j] - mean_a[j])
    return total


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _block_moments_one_feature(x, y, sample_weight, mean, comoment):
    """`_block_moments` for d = 1: the same two passes, on scalars, which vectorize."""
    rows = x.shape[0]
    weight = 0.0
    sum_x = 0.0
    sum_y = 0.0
    if sample_weight is None:
        for i in range(rows):
            sum_x += np.float64(x[i])
            sum_y += np.float64(y[i])
        weight = float(rows)
    else:
        for i in range(rows):
            s = np.float64(sample_weight[i])
            weight += s
            sum_x += s * np.float64(x[i])
            sum_y += s * np.float64(y[i])
    if weight == 0.0:
        _zero(mean, comoment)
        return 0.0
    x_mean = sum_x / weight
    y_mean = sum_y / weight
    xx = 0.0
    xy = 0.0
    yy = 0.0
    if sample_weight is None:
        for i in range(rows):
            dx = np.float64(x[i]) - x_mean
            dy = np.float64(y[i]) - y_mean
            xx += dx * dx
            xy += dx * dy
            yy += dy * dy
    else:
        for i in range(rows):
            s = np.float64(sample_weight[i])
            dx = np.float64(x[i]) - x_mean
            dy = np.float64(y[i]) - y_mean
            xx += s * dx * dx
            xy += s * dx * dy
            yy += s * dy * dy
    mean[0] = x_mean
    mean[1] = y_mean
    comoment[0, 0] = xx
    comoment[0, 1] = xy
    comoment[1, 1] = yy
    return weight


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def _block_moments(X, y, sample_weight, wide, centred, weighted, mean, comoment):
    """Moments of the rows of a block into (mean, upper triangle of comoment); return the weight.

    Two passes over the block, which is small enough to stay in cache: its means, then the
    products of the centred values. For d > 1 the block is first copied, transposed, into
    `centred` and centred there (and, times the weights, copied into `weighted`), so that the
    means, the centring and every product run over contiguous vectors and vectorize. Loops
    run over 1-D views from index 0: numba's negative-index handling keeps loops with offset
    indices from vectorizing.
    """
    rows, d = X.shape
    # `wide` is None for d = 1 (an empty array otherwise): numba compiles only the branch that
    # the argument's type selects, so a one-feature fit never compiles the general code.
    if wide is None:
        # (y.reshape(rows) types for a 2-D y too, which never comes here: see `_wide`.)
        return _block_moments_one_feature(
            X.reshape(rows), y.reshape(rows), sample_weight, mean, comoment
        )
    weight = 0.0
    if sample_weight is None:
        weight = float(rows)
    else:
        for i in range(rows):
            weight += np.float64(sample_weight[i])
    _zero(mean, comoment)
    if weight == 0.0:
        return 0.0
    # The block, transposed into cache (one strided pass), then means and centring per column.
    # Here y is (rows, k): one column per target (`_targets_as_columns`). Row by row: a block
    # is larger than the L1 cache, so column by column would load each row's lines d / 8 times.
    size = d + y.shape[1]
    for i in range(rows):
        for j in range(d):
            centred[j, i] = X[i, j]
        for t in range(y.shape[1]):
            centred[d + t, i] = y[i, t]
    for j in range(size):
        column = centred[j]
        total = 0.0
        if sample_weight is None:
            for i in range(rows):
                total += column[i]
        else:
            for i in range(rows):
                total += np.float64(sample_weight[i]) * column[i]
        column_mean = total / weight
        mean[j] = column_mean
        for i in range(rows):
            column[i] -= column_mean
        if sample_weight is not None:
            target = weighted[j]
            for i in range(rows):
                target[i] = np.float64(sample_weight[i]) * column[i]
    add_products(weighted, centred, rows, comoment, 0, True)  # comoment is zero above
    return weight


def scratch(size, wide, weighted, block_rows):
    """`_range_moments`'s scratch, allocated by the caller (an np.empty in the kernel compiles
    numba's allocation code into each first fit: 0.13 s): (centred, weighted, block_mean,
    block_comoment)."""
    # Rows of the scratch 8 values longer than a block: with a power-of-two stride, the
    # transposing copy hits the same cache set for every column (measured 3x slower).
    scratch_rows = 1 if wide is None else block_rows + 8  # d = 1 works on the data itself
    centred = np.empty((size, scratch_rows))
    return (centred, np.empty((size, scratch_rows)) if weighted else centred, np.empty(size),
            np.empty((size, size)))  # fmt: skip


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def _range_moments(X, y, sample_weight, wide, block_rows, mean, comoment, centred, weighted,
                   block_mean, block_comoment):  # fmt: skip
    """Moments of all rows of X, block by block, merged; return the weight. The blocks'
    scratch is `scratch`'s.

    Called on slices of the data (X[start:stop]) rather than with offsets: offset indexing
    into the whole array (inside a prange body, where this ran before) made it 20x slower.
    """
    weight = 0.0
    _zero(mean, comoment)
    n = X.shape[0]
    for block_start in range(0, n, block_rows):
        block_stop = block_start + block_rows if block_start + block_rows < n else n
        X_block = X[block_start:block_stop]
        y_block = y[block_start:block_stop]
        block_weight = _block_moments(
            X_block, y_block, rows_of(sample_weight, block_start, block_stop), wide, centred,
            weighted, block_mean, block_comoment,
        )  # fmt: skip
        weight = _merge_into(weight, mean, comoment, block_weight, block_mean, block_comoment)
    return weight


@njit(cache=True, nogil=True)
def _merge_ranges(weights, means, comoments, mean, comoment):
    """The row ranges' moments merged in a fixed order into (mean, comoment); return weight."""
    weight = 0.0
    _zero(mean, comoment)
    for c in range(weights.shape[0]):
        weight = _merge_into(weight, mean, comoment, weights[c], means[c], comoments[c])
    size = mean.shape[0]
    for j in range(size):
        for k in range(j):
            comoment[j, k] = comoment[k, j]
    return weight


def _moment_buffers(n_ranges, size):
    return (
        np.zeros(n_ranges),
        np.zeros((n_ranges, size)),
        np.zeros((n_ranges, size, size)),
        np.zeros(size),
        np.zeros((size, size)),
    )


_WIDE = np.empty(0)


def _wide(X, y):
    """The `wide` argument of the moment kernels: None for one feature and one target (see
    `_block_moments`)."""
    return None if X.shape[1] == 1 and y.ndim == 1 else _WIDE


def _block_rows(wide):
    return ONE_FEATURE_BLOCK_ROWS if wide is None else BLOCK_ROWS


def _targets_as_columns(y, wide):
    """y as the moment kernels take it: (n,) for the one-feature kernel, else (n, k) -- a view
    of a 1-D y as one column, without a copy."""
    return y if wide is None or y.ndim == 2 else y.reshape(y.shape[0], 1)


def _size(X, y):
    """How many columns z = (x_1..x_d, y_1..y_k) the moments are of."""
    return X.shape[1] + (1 if y.ndim == 1 else y.shape[1])


def _range_calls(threads, X, y, sample_weight, wide, means, comoments):
    """`_range_moments`'s arguments for one range of rows per thread, each range's moments into
    its row of means and comoments, with scratch of its own."""
    block_rows, calls = _block_rows(wide), []
    # (One thread: its range whole, without the helper -- a small fit's Python calls count.)
    ranges = (slice(None),) if threads == 1 else row_ranges(X.shape[0], threads)
    for c, rows in enumerate(ranges):
        weights = None if sample_weight is None else sample_weight[rows]
        buffers = scratch(means.shape[1], wide, sample_weight is not None, block_rows)
        calls.append((X[rows], y[rows], weights, wide, block_rows, means[c], comoments[c],
                      *buffers))  # fmt: skip
    return calls


def _moments_pass(threads, X, y, sample_weight, wide, means, comoments):
    """The weights of the moment pass over one range of rows per thread (`threads.in_ranges`)."""
    calls = _range_calls(threads, X, y, sample_weight, wide, means, comoments)
    if threads == 1:  # called directly: a small fit's Python calls are counted (test_call_budget)
        return np.array([_range_moments(*calls[0])])
    return np.array(in_ranges(_range_moments, calls))


def uses_kernel(X, y):
    """Whether `centered_moments` runs the compiled pass on data of X's and y's shapes: from
    `_config.PASS_KERNEL_MIN_VALUES` values of z = (x_1..x_d, y_1..y_k) on; below, NumPy's
    products take milliseconds where the pass's first compile takes seconds."""
    return X.shape[0] * _size(X, y) >= _config.PASS_KERNEL_MIN_VALUES


def compile_moments(X, y, sample_weight, threads):
    """Compile (or load from numba's cache) the moment pass for these argument types, where
    `centered_moments` will run it (`uses_kernel`)."""
    if not uses_kernel(X, y):
        return
    wide = _wide(X, y)
    y = _targets_as_columns(y, wide)

    def compile_them():
        weights, means, comoments, mean, comoment = _moment_buffers(threads, _size(X, y))
        compile_for(_range_moments, _range_calls(1, X, y, sample_weight, wide, means, comoments)[0])
        if threads > 1:
            compile_for(_merge_ranges, (weights, means, comoments, mean, comoment))

    if threads == 1:
        kernels: tuple = (_range_moments,)
    else:
        kernels = (_range_moments, _merge_ranges)
    compile_once(kernels, (X, y, sample_weight, wide), compile_them)


@functools.lru_cache(maxsize=64)
def _lower_triangle(size):
    """The indices of a square's strict lower triangle (numpy's costs a small fit 20 us)."""
    return np.tril_indices(size, -1)


def centered_moments(X, y, sample_weight=None, threads=1):
    """The weighted centred `Moments` of validated data, in one pass over it.

    X is a C-contiguous (n, d) float32 or float64 array, y (n,) -- or (n, k) for k targets,
    whose moments are then of z = (x_1..x_d, y_1..y_k), one pass for all (`target_moments`
    takes each target's) -- and sample_weight None or (n,) of the same dtype (see
    `_validation.check_data`). Accumulation is in float64. `threads` > 1 cuts the rows into one
    range per thread (`threads.in_ranges`); a given thread count always gives the same bits.
    """
    if not uses_kernel(X, y):
        return _numpy_moments(X, y, sample_weight)
    wide = _wide(X, y)
    y = _targets_as_columns(y, wide)
    _, means, comoments, mean, comoment = _moment_buffers(threads, _size(X, y))
    weights = _moments_pass(threads, X, y, sample_weight, wide, means, comoments)
    if threads == 1:
        # One range: merging it into nothing is a copy (`_merge_into`), and the lower triangle
        # copied from the upper one is what `_merge_ranges` ends with, without compiling it.
        upper = comoments[0]
        lower = _lower_triangle(upper.shape[0])
        upper[lower] = upper.T[lower]
        return Moments(float(weights[0]), means[0], upper)
    weight = _merge_ranges(weights, means, comoments, mean, comoment)
    return Moments(float(weight), mean, comoment)


def _numpy_moments(X, y, sample_weight):
    """`centered_moments` of small data by NumPy: the columns z, a block of rows at a time
    copied in float64, their means, then the products of each block's centred copy (two passes,
    as the kernel's). The data are never copied whole (a memory map's rows are read, not
    copied). The result does not depend on `threads`; BLAS may add in another order than the
    kernel (the last bits)."""
    # NaN and inf pass through silently, as in the kernel: the caller looks for them once the
    # moments are not finite (`_validation.locate_non_finite`).
    with np.errstate(all="ignore"):
        return _numpy_moments_of(X, y, sample_weight)


# A block's rows: a float64 copy of 512 KB for narrow data (the data are never copied whole: a
# memory map's scratch stays small; with 16 KB blocks the Python around them took 10x the
# products' time), and never fewer than NUMPY_BLOCK_MIN_ROWS: with a row or two a block, wide
# data's products were rank-1 updates of the whole (d + 1)-square matrix (d = 1500: 4.5 s,
# against 0.1 s for the kernel).
NUMPY_BLOCK_VALUES = 1 << 16
NUMPY_BLOCK_MIN_ROWS = 256


def _numpy_moments_of(X, y, sample_weight):
    n, d = X.shape
    size = _size(X, y)
    if n == 0:  # an empty chunk or block (Dask, streamed rows): no weight, as the kernel's
        return Moments(0.0, np.zeros(size), np.zeros((size, size)))
    Y = y.reshape(n, size - d)
    step = max(NUMPY_BLOCK_MIN_ROWS, NUMPY_BLOCK_VALUES // size)
    scratch = np.empty((min(step, n), size))
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    # Two passes over the blocks, each block copied into the scratch in float64 (written out
    # in each loop: a small fit's Python calls are counted, tests/test_call_budget.py).
    total, weight = np.zeros(size), 0.0
    for start in range(0, n, step):
        z = scratch[: min(step, n - start)]
        z[:, :d], z[:, d:] = X[start : start + step], Y[start : start + step]
        if weights is None:
            total += z.sum(axis=0)
        else:
            total += weights[start : start + step] @ z
    if weights is None:
        weight = float(n)
    else:
        weight = float(weights.sum())
        if weight == 0.0:  # as the kernel: no weight, no moments
            return Moments(0.0, np.zeros(size), np.zeros((size, size)))
    mean = total / weight
    comoment = np.zeros((size, size))
    for start in range(0, n, step):
        z = scratch[: min(step, n - start)]
        z[:, :d], z[:, d:] = X[start : start + step], Y[start : start + step]
        z -= mean
        if weights is None:
            comoment += z.T @ z
        else:
            comoment += z.T @ (z * weights[start : start + step, None])
    lower = _lower_triangle(size)
    comoment[lower] = comoment.T[lower]
    return Moments(weight, mean, comoment)


def target_moments(moments, n_features, target):
    """The `Moments` of X and the target-th target alone, from those of X and several targets
    (`centered_moments` with a 2-D y)."""
    index = np.r_[0:n_features, n_features + target]
    return Moments(
        moments.weight, moments.mean[index].copy(), moments.comoment[np.ix_(index, index)]
    )


def merge_moments(a, b):
    """The `Moments` of the union of two disjoint data sets, from theirs (exact update)."""
    mean = np.array(a.mean, dtype=np.float64)
    comoment = np.triu(np.asarray(a.comoment, dtype=np.float64))
    weight = _merge_into(
        float(a.weight), mean, comoment, float(b.weight),
        np.asarray(b.mean, dtype=np.float64), np.asarray(b.comoment, dtype=np.float64),
    )  # fmt: skip
    upper = np.triu(comoment)
    return Moments(float(weight), mean, upper + np.triu(upper, 1).T)


# Inlined into gram's `iterate`: as a call it doubled the time of a step (about 35 ns against 18 ns
# for d = 1), which matters when badly scaled data needs millions of steps.
@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def sums_from_moments(weight, mean, comoment, b, w, shift, sums):
    """Fill `sums` with the partial sums at (b, w) (fastgd/gradient.py), exactly from the
    moments (the gram method's pass, and `stopping`'s gradient); return the loss."""
    d = w.shape[0]
    residual_mean = mean[d] - b
    for j in range(d):
        residual_mean -= (mean[j] - shift[j]) * w[j]
    sum_r = weight * residual_mean
    sums[1] = sum_r
    spread = comoment[d, d]  # yy - w.xy - w.g = sum s (r - m)**2
    for j in range(d):
        centred_gradient = comoment[j, d]
        for k in range(d):
            centred_gradient -= comoment[j, k] * w[k]
        sums[2 + j] = centred_gradient + (mean[j] - shift[j]) * sum_r
        spread -= w[j] * (comoment[j, d] + centred_gradient)
    # The spread is a sum of squares; on data a line fits exactly it is a difference of equal
    # numbers and can round below zero. Clamping only moves it towards the true value (NaN
    # passes through, so divergence is still seen).
    if spread < 0.0:
        spread = 0.0
    loss = residual_mean * residual_mean + spread / weight
    sums[0] = loss * weight
    return loss
