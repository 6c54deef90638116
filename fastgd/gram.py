"""Gram backend: the lecture's iterations run exactly from the data's sufficient statistics.

For the squared loss the partial sums of `gradient.partial_sums` are affine in (b, w) and the
loss is quadratic, and all of them depend on the data only through a few *moments*: the total
weight S, the weighted means of X and y, and the centred cross-products

    xx = sum_i s_i (x_i - x_mean)(x_i - x_mean)^T    (d, d)
    xy = sum_i s_i (x_i - x_mean)(y_i - y_mean)      (d,)
    yy = sum_i s_i (y_i - y_mean)^2

With the mean residual m = y_mean - b - x_mean . w (so that sum_i s_i r_i = S m) and the centred
gradient g = xy - xx w, the partial sums and the loss at (b, w) are, exactly,

    sums[1]     = S m
    sums[2 + j] = g_j + x_mean_j S m
    loss        = m**2 + (yy - 2 w . xy + w . xx w) / S = m**2 + (yy - w . xy - w . g) / S

So one pass over the data (`centered_moments`) replaces every later pass, and each iteration
costs O(d**2) instead of O(n d). The step itself is `gradient.apply_step`, as in every backend.

Why centred: with uncentred sums (sum x**2, sum x y, ...) data like x = 1e6 + noise loses about
12 of its 16 digits to cancellation. Each thread cuts its rows into small blocks, computes a
block's means and then its centred products from cache (a two-pass algorithm per block), and the
blocks, then the threads, are merged with the exact pairwise update of Chan, Golub and LeVeque
(`merge_moments`). The Dask backend merges its chunks' moments with the same function.

The same moments give the loss's Hessian in (b, w),

    H = 2 [[1, x_mean^T], [x_mean, xx / S + x_mean x_mean^T]],

whose largest eigenvalue L sets the step: gradient descent on a quadratic is stable for
lr < 2 / L (`max_stable_lr`), and lr = 1 / L (`lr="auto"`) decreases the loss monotonically.
"""

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit, prange

from . import _config
from ._config import FASTMATH
from ._status import PARAMS_NOT_FINITE, RAN
from .compiled import compile_for, compile_once
from .gradient import all_finite, apply_step, loss_status
from .threads import numba_threads

# Rows per block of the moment pass: small enough that a block's centred copy stays in cache.
BLOCK_ROWS = 512


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


# --- the moment pass ------------------------------------------------------------------------


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
        mean[:] = 0.0
        comoment[:, :] = 0.0
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


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
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
        return _block_moments_one_feature(X.reshape(rows), y, sample_weight, mean, comoment)
    size = d + 1
    weight = 0.0
    if sample_weight is None:
        weight = float(rows)
    else:
        for i in range(rows):
            weight += np.float64(sample_weight[i])
    mean[:] = 0.0
    comoment[:, :] = 0.0
    if weight == 0.0:
        return 0.0
    # The block, transposed into cache (one strided pass), then means and centring per column.
    for i in range(rows):
        for j in range(d):
            centred[j, i] = X[i, j]
        centred[d, i] = y[i]
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
    for j in range(size):
        left = weighted[j]
        for k in range(j, size):
            right = centred[k]
            total = 0.0
            for i in range(rows):
                total += left[i] * right[i]
            comoment[j, k] = total
    return weight


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _range_moments(X, y, sample_weight, wide, block_rows, mean, comoment):
    """Moments of all rows of X, block by block, merged; return the weight.

    Called on slices of the data (X[start:stop]) rather than with offsets: inside a prange
    body, offset indexing into the whole array made this 20x slower.
    """
    size = X.shape[1] + 1
    # Rows of the scratch 8 values longer than a block: with a power-of-two stride, the
    # transposing copy hits the same cache set for every column (measured 3x slower).
    scratch_rows = 1 if wide is None else block_rows + 8  # d = 1 works on the data itself
    centred = np.empty((size, scratch_rows))
    weighted = np.empty((size, scratch_rows)) if sample_weight is not None else centred
    block_mean = np.empty(size)
    block_comoment = np.empty((size, size))
    weight = 0.0
    mean[:] = 0.0
    comoment[:, :] = 0.0
    n = X.shape[0]
    for block_start in range(0, n, block_rows):
        block_stop = min(block_start + block_rows, n)
        X_block = X[block_start:block_stop]
        y_block = y[block_start:block_stop]
        if sample_weight is None:
            block_weight = _block_moments(
                X_block, y_block, None, wide, centred, weighted, block_mean, block_comoment
            )
        else:
            block_weight = _block_moments(
                X_block, y_block, sample_weight[block_start:block_stop], wide, centred,
                weighted, block_mean, block_comoment,
            )  # fmt: skip
        weight = _merge_into(weight, mean, comoment, block_weight, block_mean, block_comoment)
    return weight


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def _serial_moments(X, y, sample_weight, wide, block_rows, weights, means, comoments):
    weights[0] = _range_moments(X, y, sample_weight, wide, block_rows, means[0], comoments[0])


@njit(fastmath=FASTMATH, cache=True, parallel=True)
def _parallel_moments(X, y, sample_weight, wide, block_rows, weights, means, comoments):
    """Moments of row range c into row c of weights, means and comoments, one range per thread."""
    n_ranges = weights.shape[0]
    n = X.shape[0]
    for c in prange(n_ranges):
        start = c * n // n_ranges
        stop = (c + 1) * n // n_ranges
        if sample_weight is None:
            weights[c] = _range_moments(
                X[start:stop], y[start:stop], None, wide, block_rows, means[c], comoments[c]
            )
        else:
            weights[c] = _range_moments(
                X[start:stop], y[start:stop], sample_weight[start:stop], wide, block_rows,
                means[c], comoments[c],
            )  # fmt: skip


@njit(cache=True, nogil=True)
def _merge_ranges(weights, means, comoments, mean, comoment):
    """The row ranges' moments merged in a fixed order into (mean, comoment); return weight."""
    weight = 0.0
    mean[:] = 0.0
    comoment[:, :] = 0.0
    for c in range(weights.shape[0]):
        weight = _merge_into(weight, mean, comoment, weights[c], means[c], comoments[c])
    size = mean.shape[0]
    for j in range(size):
        for k in range(j):
            comoment[j, k] = comoment[k, j]
    return weight


def _moment_buffers(n_ranges, n_features):
    size = n_features + 1
    return (
        np.zeros(n_ranges),
        np.zeros((n_ranges, size)),
        np.zeros((n_ranges, size, size)),
        np.zeros(size),
        np.zeros((size, size)),
    )


_WIDE = np.empty(0)


def _wide(X):
    """The `wide` argument of the moment kernels: None for one feature (see `_block_moments`)."""
    return None if X.shape[1] == 1 else _WIDE


def _range_kernel(threads):
    # Chosen here rather than inside compiled code, so that a one-thread fit never compiles the
    # parallel kernel (a parallel=True compile costs seconds on first use).
    return _serial_moments if threads == 1 else _parallel_moments


def compile_moments(X, y, sample_weight, threads):
    """Compile (or load from numba's cache) the moment pass for these argument types."""

    def compile_them():
        weights, means, comoments, mean, comoment = _moment_buffers(threads, X.shape[1])
        arguments = (X, y, sample_weight, _wide(X), BLOCK_ROWS, weights, means, comoments)
        compile_for(_range_kernel(threads), arguments)
        compile_for(_merge_ranges, (weights, means, comoments, mean, comoment))

    kernels = (_range_kernel(threads), _merge_ranges)
    compile_once(kernels, (X, y, sample_weight, _wide(X)), compile_them)


def centered_moments(X, y, sample_weight=None, threads=1):
    """The weighted centred `Moments` of validated data, in one pass over it.

    X is a C-contiguous (n, d) float32 or float64 array, y (n,) and sample_weight None or (n,)
    of the same dtype (see `_validation.check_data`). Accumulation is in float64. `threads` > 1
    cuts the rows into one range per thread (numba's thread count must allow it; see
    `threads.numba_threads`); a given thread count always gives the same bits.
    """
    weights, means, comoments, mean, comoment = _moment_buffers(threads, X.shape[1])
    with numba_threads(threads):
        _range_kernel(threads)(X, y, sample_weight, _wide(X), BLOCK_ROWS, weights, means, comoments)
    weight = _merge_ranges(weights, means, comoments, mean, comoment)
    return Moments(float(weight), mean, comoment)


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


# --- curvature and step size ------------------------------------------------------------------


def hessian(moments):
    """The loss's Hessian in (b, w_1, ..., w_d):
    2 [[1, x_mean^T], [x_mean, xx/S + x_mean x_mean^T]]."""
    x_mean = np.asarray(moments.x_mean, dtype=np.float64)
    d = x_mean.shape[0]
    H = np.empty((d + 1, d + 1))
    H[0, 0] = 1.0
    H[0, 1:] = x_mean
    H[1:, 0] = x_mean
    H[1:, 1:] = moments.xx / moments.weight + np.outer(x_mean, x_mean)
    return 2.0 * H


def _power_iteration(H, max_iter=10_000, rtol=1e-12):
    """Largest eigenvalue of a symmetric positive semi-definite H by power iteration."""
    v = np.ones(H.shape[0]) + np.linspace(0.0, 1e-3, H.shape[0])  # not orthogonal to the top
    v /= np.linalg.norm(v)
    estimate = 0.0
    for _ in range(max_iter):
        Hv = H @ v
        new = float(v @ Hv)  # Rayleigh quotient: converges from below
        norm = np.linalg.norm(Hv)
        if norm == 0.0:
            return 0.0
        v = Hv / norm
        if abs(new - estimate) <= rtol * abs(new):
            return new
        estimate = new
    return estimate


def largest_curvature(moments):
    """L, the largest eigenvalue of the loss's Hessian (`hessian`), always > 0.

    Exact: in closed form for one feature (the lecture's case, where LAPACK's call would cost
    more than a small fit), by LAPACK up to _config.EIGVALSH_MAX_FEATURES features; power
    iteration above.
    """
    if moments.n_features == 1:
        # H = 2 [[1, m], [m, c]]: its larger eigenvalue is 2 ((1 + c) / 2 + hypot((1 - c) / 2, m)),
        # a sum of non-negative terms (no cancellation).
        m = float(moments.mean[0])
        c = float(moments.comoment[0, 0]) / moments.weight + m * m
        value = 2.0 * (0.5 * (1.0 + c) + math.hypot(0.5 * (1.0 - c), m))
        return value if math.isfinite(value) else math.inf
    H = hessian(moments)
    if not np.all(np.isfinite(H)):
        return np.inf
    if H.shape[0] - 1 <= _config.EIGVALSH_MAX_FEATURES:
        return float(np.linalg.eigvalsh(H)[-1])
    return _power_iteration(H)


def stable_limit(moments):
    """2 / L: gradient descent on this data converges for lr < stable_limit and diverges above."""
    return 2.0 / largest_curvature(moments)


def loss_scale(moments):
    """The size of the terms whose difference is gram's loss, y's variance yy / S: the loss is
    rounded to a few machine epsilons of it (see `gradient.increase_allowance`)."""
    return moments.yy / moments.weight if moments.weight > 0.0 else 0.0


def auto_lr(moments):
    """1 / L, the step of lr="auto": the loss decreases at every iteration."""
    return 1.0 / largest_curvature(moments)


# --- the iterations -----------------------------------------------------------------------


# Inlined into `iterate`: as a call it doubled the time of a step (about 35 ns against 18 ns
# for d = 1), which matters when badly scaled data needs millions of steps.
@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def evaluate(weight, mean, comoment, b, w, sums):
    """Fill `sums` with the partial sums at (b, w), from the moments; return the loss."""
    d = w.shape[0]
    residual_mean = mean[d] - b
    for j in range(d):
        residual_mean -= mean[j] * w[j]
    sum_r = weight * residual_mean
    sums[1] = sum_r
    spread = comoment[d, d]  # yy - w.xy - w.g = sum s (r - m)**2
    for j in range(d):
        centred_gradient = comoment[j, d]
        for k in range(d):
            centred_gradient -= comoment[j, k] * w[k]
        sums[2 + j] = centred_gradient + mean[j] * sum_r
        spread -= w[j] * (comoment[j, d] + centred_gradient)
    # The spread is a sum of squares; on data a line fits exactly it is a difference of equal
    # numbers and can round below zero. Clamping only moves it towards the true value (NaN
    # passes through, so divergence is still seen).
    if spread < 0.0:
        spread = 0.0
    loss = residual_mean * residual_mean + spread / weight
    sums[0] = loss * weight
    return loss


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def iterate(weight, mean, comoment, b, w, lr, k_start, k_stop, tol, noise, sums, history):
    """Step from iterate k_start to k_stop; the contract of `cpu.iterate`, from the moments."""
    for k in range(k_start, k_stop):
        b = apply_step(sums, weight, lr, b, w)
        if not all_finite(b, w):
            return PARAMS_NOT_FINITE, k + 1, b
        loss = evaluate(weight, mean, comoment, b, w, sums)
        history[k + 1] = loss
        status = loss_status(history[k], loss, tol, noise)
        if status != RAN:
            return status, k + 1, b
    return RAN, k_stop, b


class Run:
    """One fit's state for the gram method: the moments (computed on first use), the buffers.

    The same interface as `cpu.Run`, which `fit` drives: compile, evaluate and iterate. The
    moment pass runs inside the first `evaluate`, so it counts in the fit's time.
    """

    def __init__(self, X, y, sample_weight, total_weight, threads):
        self.data: Any = (X, y, sample_weight)  # None for a Run made from moments
        self.threads = threads
        self.moments: Moments | None = None
        self.sums = np.zeros(X.shape[1] + 2)

    @classmethod
    def from_moments(cls, moments):
        """A Run on moments computed elsewhere (e.g. merged from a Dask array's chunks)."""
        run = cls.__new__(cls)
        run.data = None
        run.threads = 1
        run.moments = Moments(
            float(moments.weight),
            np.ascontiguousarray(moments.mean, dtype=np.float64),
            np.ascontiguousarray(moments.comoment, dtype=np.float64),
        )
        run.sums = np.zeros(run.moments.mean.shape[0] + 1)
        return run

    def compile(self, b, w, lr, tol, history):
        if self.data is not None:
            X, y, sample_weight = self.data
            compile_moments(X, y, sample_weight, self.threads)

        def compile_them():
            size = w.shape[0] + 1
            statistics = (1.0, np.zeros(size), np.zeros((size, size)))
            compile_for(evaluate, (*statistics, b, w, self.sums))
            arguments = (*statistics, b, w, lr, 0, 0, tol, tol, self.sums, history)  # tol, noise
            compile_for(iterate, arguments)

        compile_once((evaluate, iterate), (), compile_them)

    def statistics(self):
        """The data's `Moments` (one pass over the data, the first time)."""
        if self.moments is None:
            X, y, sample_weight = self.data
            self.moments = centered_moments(X, y, sample_weight, self.threads)
        return self.moments

    def evaluate(self, b, w):
        weight, mean, comoment = self.statistics()
        return evaluate(weight, mean, comoment, b, w, self.sums)

    def iterate(self, b, w, lr, k_start, k_stop, tol, noise, history):
        weight, mean, comoment = self.statistics()
        return iterate(
            weight, mean, comoment, b, w, lr, k_start, k_stop, tol, noise, self.sums, history
        )
