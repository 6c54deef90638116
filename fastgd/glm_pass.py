"""A Newton step's one pass over X: the GLM objective's value, gradient and Hessian at (b, w).

For each row the pass computes the linear predictor eta = b + (x - c).w + o (o the row's
offset: the log of its exposure in a Poisson model, 0 by default), the family's row
terms (fastgd/families.py: the loss l, its derivative l' and curvature h) and adds up

    value   = sum_i s_i l_i
    grad    = sum_i s_i l'_i (x_i - c, 1)
    hessian = sum_i s_i h_i (x_i - c, 1)(x_i - c, 1)'

-- the (d + 1)-square Hessian's last row and column are the intercept's. One read of X gives all
three: the rows are taken a block at a time, transposed and shifted into cache (as the moment
pass does, fastgd/moments.py), where eta, the terms and the products (`gradient.add_products`,
the moment pass's kernel) run over contiguous vectors. The shift c (the columns' means) keeps
the products of data far from 0 (x = 1e6 + noise) from losing their digits. eta is written
out, so a line search needs no further pass. One row range per thread, their sums added in a
fixed order: a given thread count always gives the same bits.

A scipy.sparse X takes the same sums from scipy's products, and a small dense X from NumPy's
(`numpy_pass`: no compile of the pass).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ._config import FASTMATH
from .families import block_terms, unit_arrays
from .gradient import add_products
from .moments import BLOCK_ROWS  # the moment pass's block: its scratch stays in cache
from .threads import in_ranges, row_ranges

# What a pass adds up (`parts`): the value and eta alone (a line search's shorter step), with the
# gradient too (a step with a Hessian already at hand: fastgd/glm.py's chord steps), or all three.
VALUE, GRADIENT, HESSIAN = 0, 1, 2


class PassSums(NamedTuple):
    value: float  # sum_i s_i l_i
    eta: np.ndarray | None  # (n,) the linear predictor (None on Dask: where the chunks are)
    grad: np.ndarray  # (d + 1,), the intercept's last
    hessian: np.ndarray  # (d + 1, d + 1), symmetric


# error_model "numpy": no ZeroDivisionError branch at the families' divisions, which keeps
# their loop (`block_terms`, called per block) vectorized (fastgd/families.py).
@njit(fastmath=FASTMATH, cache=True, nogil=True, error_model="numpy")
def _range_pass(X, y, s, offset, shift, w, b, terms, fisher, parts, block_rows, eta, grad,
                hessian):  # fmt: skip
    """The sums of the rows of X (a slice: see `moments._range_moments`) into grad (`parts` >=
    GRADIENT) and hessian's upper triangle (`parts` == HESSIAN); return the value."""
    n, d = X.shape
    size = d + 1
    scratch_rows = block_rows + 8  # not a power of two: the transposing copy's cache sets
    centred = np.empty((size, scratch_rows))
    weighted = np.empty((size, scratch_rows))
    block_eta = np.empty(block_rows)
    slopes = np.empty(block_rows)
    curvatures = np.empty(block_rows)
    losses = np.empty(block_rows)
    value = 0.0
    for j in range(size):
        grad[j] = 0.0
        for k in range(size):
            hessian[j, k] = 0.0
    for start in range(0, n, block_rows):
        rows = min(block_rows, n - start)
        X_block = X[start : start + rows]
        for i in range(rows):
            for j in range(d):
                centred[j, i] = np.float64(X_block[i, j]) - shift[j]
            centred[d, i] = 1.0
            block_eta[i] = b + offset[start + i]
        for j in range(d):
            column = centred[j]
            wj = w[j]
            for i in range(rows):
                block_eta[i] += wj * column[i]
        stop = start + rows
        block_terms(terms, fisher, y[start:stop], block_eta[:rows], s[start:stop],
                    losses, slopes, curvatures)  # fmt: skip
        for i in range(rows):
            eta[start + i] = block_eta[i]
        # Every sum in a loop that stores nothing: a loop that adds up and stores is vectorized
        # behind a run-time check of the pointers, whose scalar copy adds in another order
        # (the same bits every run only where the path never changes).
        for i in range(rows):
            value += losses[i]
        if parts == GRADIENT:
            for j in range(size):
                column = centred[j]
                total = 0.0
                for i in range(rows):
                    total += slopes[i] * column[i]
                grad[j] += total
        elif parts == HESSIAN:
            for j in range(size):
                column = centred[j]
                target = weighted[j]
                for i in range(rows):
                    target[i] = curvatures[i] * column[i]
                total = 0.0
                for i in range(rows):
                    total += slopes[i] * column[i]
                grad[j] += total
            add_products(weighted, centred, rows, hessian, 0, True)
    return value


@njit(fastmath=FASTMATH, cache=True, nogil=True, error_model="numpy")
def _range_gradient(X, y, s, offset, shift, w, b, terms, parts, block_rows, eta, grad):
    """`_range_pass` without the Hessian (`parts` VALUE or GRADIENT): no d² products to
    vectorize across rows, so no transposed copy either. A block's eta row by row, its terms
    (`block_terms`, vectorized), then the gradient's shares from the same rows, still in
    cache. Return the value."""
    n, d = X.shape
    totals = np.zeros(d + 1)
    block_eta = np.empty(block_rows)
    slopes = np.empty(block_rows)
    curvatures = np.empty(block_rows)
    losses = np.empty(block_rows)
    value = 0.0
    for start in range(0, n, block_rows):
        rows = min(block_rows, n - start)
        stop = start + rows
        for i in range(rows):
            row = X[start + i]
            row_eta = b + offset[start + i]
            for j in range(d):
                row_eta += (np.float64(row[j]) - shift[j]) * w[j]
            block_eta[i] = row_eta
            eta[start + i] = row_eta
        block_terms(terms, False, y[start:stop], block_eta[:rows], s[start:stop],
                    losses, slopes, curvatures)  # fmt: skip
        for i in range(rows):
            value += losses[i]
        if parts == GRADIENT:
            for i in range(rows):
                row = X[start + i]
                g = slopes[i]
                for j in range(d):
                    totals[j] += g * (np.float64(row[j]) - shift[j])
                totals[d] += g
    for j in range(d + 1):
        grad[j] = totals[j]
    return value


def dense_pass(family, X, y, s, offset, shift, b, w, *, fisher=False, parts=HESSIAN, threads=1):
    """The `PassSums` of a dense X (C-contiguous float32 or float64; y, s and offset float64)
    at eta = b + (x - shift).w + offset: Fisher's curvature with `fisher`; `parts` below
    HESSIAN leave the Hessian (and for VALUE the gradient) at 0."""
    n, d = X.shape
    ranges = max(1, min(threads, n // BLOCK_ROWS))
    eta = np.empty(n)
    grads = np.zeros((ranges, d + 1))
    hessians = np.zeros((ranges, d + 1, d + 1))
    constants = (shift, w, float(b), family.terms, fisher, parts, BLOCK_ROWS)
    calls: list[tuple] = []
    for c, rows in enumerate(row_ranges(n, ranges)):  # one range per thread (`in_ranges`)
        if parts == HESSIAN:
            calls.append((X[rows], y[rows], s[rows], offset[rows], *constants, eta[rows],
                          grads[c], hessians[c]))  # fmt: skip
        else:
            calls.append((X[rows], y[rows], s[rows], offset[rows], *constants[:4], parts,
                          BLOCK_ROWS, eta[rows], grads[c]))  # fmt: skip
    values = np.array(in_ranges(_range_pass if parts == HESSIAN else _range_gradient, calls))
    hessian = np.triu(hessians.sum(axis=0))  # the ranges in order: the same bits every time
    hessian = hessian + np.triu(hessian, 1).T
    return PassSums(float(values.sum()), eta, grads.sum(axis=0), hessian)


def numpy_pass(family, X, y, s, offset, shift, b, w, *, fisher=False, parts=HESSIAN, threads=1):
    """`dense_pass` by NumPy's (or scipy's) products: for a scipy.sparse X (never shifted: its
    `shift` is 0), and for a dense X below `_config.PASS_KERNEL_MIN_VALUES` values
    (`plan.newton_pass`), where the kernel's first compile costs seconds and NumPy's products
    a few milliseconds. The rows' terms are the same compiled `families.unit_arrays`.
    `threads`: BLAS's own."""
    sparse = not isinstance(X, np.ndarray)
    if not sparse:
        X = X - shift  # a float64 copy, on small data only
    eta = np.asarray(X @ w).ravel() + b + offset
    loss, slope, second, expected = unit_arrays(family.terms, y, eta)
    value = float(s @ loss)
    d = X.shape[1]
    if parts == VALUE:
        return PassSums(value, eta, np.zeros(d + 1), np.zeros((d + 1, d + 1)))
    g, v = s * slope, s * (expected if fisher else second)
    grad = np.append(np.asarray(X.T @ g).ravel(), g.sum())
    if parts == GRADIENT:
        return PassSums(value, eta, grad, np.zeros((d + 1, d + 1)))
    hessian = np.empty((d + 1, d + 1))
    if sparse:
        hessian[:d, :d] = np.asarray((X.T @ X.multiply(v[:, None]).tocsr()).todense())
    else:
        hessian[:d, :d] = X.T @ (X * v[:, None])
    hessian[:d, d] = hessian[d, :d] = np.asarray(X.T @ v).ravel()
    hessian[d, d] = v.sum()
    upper = np.triu(hessian)  # symmetric to the bit, as the kernel's
    return PassSums(value, eta, grad, upper + np.triu(upper, 1).T)
