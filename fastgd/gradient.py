"""The math of one gradient-descent step, defined once for every backend.

For data X (n, d), targets y (n,), sample weights s (all ones when not given) and parameters
(b, w), the residual of row i is r_i = y_i - (X_i . w + b). Every backend reduces the data to the
same d + 2 *partial sums* over the rows it holds:

    sums[0]      = sum_i s_i r_i**2
    sums[1]      = sum_i s_i r_i
    sums[2 + j]  = sum_i s_i r_i X_ij

Partial sums over disjoint row ranges simply add up. With S = sum_i s_i, the loss of the lecture
(the weighted mean squared error) and its gradient are

    loss = sums[0] / S,   dloss/db = -2 sums[1] / S,   dloss/dw_j = -2 sums[2 + j] / S,

and one step of gradient descent with learning rate lr is b += 2 lr sums[1] / S,
w_j += 2 lr sums[2 + j] / S (see `apply_step`).

`partial_sums` computes them on the CPU. The CPU backend calls it on each thread's block of rows
and the Dask backend on each chunk; the CUDA kernel computes the same sums per thread and block.
All are tested against the same slow reference in tests/naive.py.

Accumulation is always in float64, also for float32 data.

The kernels here are inline="always": each backend's compiled entry point contains them whole,
which keeps results bit-identical between the process that compiles and the ones that load
numba's cache (see the comment above the entry points in fastgd/cpu.py). `n_sums`,
`apply_step`, `all_finite` and `loss_status` also run on the GPU: fastgd/cuda_kernels.py compiles
their Python source (`.py_func`) as CUDA device functions, so they keep to what numba-cuda
compiles too (scalars, `math`, indexing of arrays and their slices).
"""

import math

import numpy as np
from numba import njit

from ._config import FASTMATH
from ._status import CONVERGED, LOSS_INCREASED, LOSS_NOT_FINITE, RAN


def n_sums(n_features):
    """Length of the partial-sums vector for data with `n_features` columns."""
    return n_features + 2


@njit(fastmath=FASTMATH, cache=True, inline="always")
def _sums_one_feature(x, y, sample_weight, b, w, out):
    # Kept as one loop over a 1-D slice starting at 0 so that LLVM vectorizes it: with a loop
    # starting at a runtime offset, numba's negative-index handling blocks vectorization (10x).
    s_rr = 0.0
    s_r = 0.0
    s_rx = 0.0
    if sample_weight is None:
        for i in range(x.shape[0]):
            r = y[i] - (x[i] * w + b)
            s_rr += r * r
            s_r += r
            s_rx += r * x[i]
    else:
        for i in range(x.shape[0]):
            r = y[i] - (x[i] * w + b)
            sr = sample_weight[i] * r
            s_rr += sr * r
            s_r += sr
            s_rx += sr * x[i]
    out[0] = s_rr
    out[1] = s_r
    out[2] = s_rx


@njit(fastmath=FASTMATH, cache=True, inline="always")
def _sums_many_features(X, y, sample_weight, b, w, out):
    d = X.shape[1]
    acc = np.zeros(d + 2)
    for i in range(X.shape[0]):
        prediction = b
        for j in range(d):
            prediction += X[i, j] * w[j]
        r = y[i] - prediction
        sr = r if sample_weight is None else sample_weight[i] * r
        acc[0] += sr * r
        acc[1] += sr
        for j in range(d):
            acc[2 + j] += sr * X[i, j]
    for j in range(d + 2):  # not out[:] = acc, whose shape check compiles for seconds
        out[j] = acc[j]


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def partial_sums(X, y, sample_weight, b, w, out):
    """Write the d + 2 partial sums of the rows of X (n, d) into `out` (see the module doc).

    `sample_weight` is None or an (n,) array; `w` is a float64 array of length d.
    """
    n, d = X.shape
    if d == 1:
        # A C-contiguous (n, 1) array reshapes to (n,) without a copy.
        _sums_one_feature(X.reshape(n), y, sample_weight, b, w[0], out)
    else:
        _sums_many_features(X, y, sample_weight, b, w, out)


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def apply_step(sums, total_weight, lr, b, w, fit_intercept):
    """One gradient step from (b, w), whose partial sums are `sums`: update w in place, return b
    (unchanged without an intercept: the model is then y ~ X w, b stays at its start, 0)."""
    scale = 2.0 * lr / total_weight
    for j in range(w.shape[0]):
        w[j] += scale * sums[2 + j]
    if fit_intercept:
        return b + scale * sums[1]
    return b


@njit(cache=True, nogil=True, inline="always")
def all_finite(b, w):
    if not math.isfinite(b):
        return False
    for j in range(w.shape[0]):
        if not math.isfinite(w[j]):
            return False
    return True


@njit(cache=True, nogil=True, inline="always")
def loss_status(previous, loss, tol, noise):
    """Whether the fit goes on after a step took the loss from `previous` to `loss`.

    RAN, or LOSS_NOT_FINITE, or LOSS_INCREASED when the loss rose by more than `noise` (an
    absolute allowance for the rounding of the loss, see `increase_allowance`), or CONVERGED by
    the tol rule 0 <= previous - loss <= tol * previous (tol < 0: no tolerance). For the squared
    loss every step with lr < 2 / L decreases the loss, so an increase means lr is above the
    stable limit: gradient descent diverges, however small the increase looks now. A rise
    within the noise is neither: the fit goes on. The stopping rule of every backend (the CUDA
    kernels compile this function's Python source for the GPU)."""
    if not math.isfinite(loss):
        return LOSS_NOT_FINITE
    if loss - previous > noise:
        return LOSS_INCREASED
    if tol >= 0.0 and loss <= previous and previous - loss <= tol * previous:
        return CONVERGED
    return RAN


# The loss a backend computes carries rounding errors: relative ones for a sum of squares over
# the rows (the loop), and absolute ones of about machine epsilon times the data's scale where
# it is a difference of large moments (gram, near an exact fit). A rise of the loss smaller than
# this many parts of that scale is taken as rounding, not as divergence.
LOSS_NOISE = 1e-9


def increase_allowance(start_loss, scale=0.0):
    """The `noise` argument of `loss_status` for a fit that started at loss `start_loss`.

    Every iterate of a converging fit has a loss below the start's, so the start's loss (or the
    backend's own `scale`, where its rounding is absolute: gram) bounds the size of the terms
    whose rounding could make the loss seem to rise."""
    return LOSS_NOISE * max(float(start_loss), float(scale))
