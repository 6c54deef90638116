"""The elastic net on wide and sparse data: working sets, gap-safe screening, coordinate
descent on the working set's moments.

On wide data (many more features than the fit will use) and on sparse data, a solver that steps
all d coefficients every iteration does almost all of its work on features that stay zero.
Here, as in skglm and celer, an outer loop keeps the problem small:

1. one pass over X for the gradient at the current w (X'r, BLAS or scipy's sparse product), and
   from it the duality gap (scikit-learn's, fastgd/coordinate_descent.py) -- the stopping rule
   and the reported bound -- and each feature's gap-safe score, how far its correlation with
   the residual is from the L1 bound, in units of its norm (Fercoq, Gramfort & Salmon 2015):
   a feature whose score exceeds sqrt(2 gap) / l1 is zero at the optimum and is screened out
   for good;
2. the working set: the features in the support and those at zero that violate their
   optimality condition, best-scored first (at least `FIRST_SIZE`, at most four times the
   support's size more), doubled whenever the gap did not halve;
3. the problem restricted to the working set, solved to a tenth of the tolerance by
   coordinate descent on the working set's centred moments (`descend`, the covariance update:
   a step costs O(1) while its coordinate stays at zero and O(|ws|) when it moves). Each
   feature's column is read and its products with the others computed once per fit
   (`ColumnMoments`), so a working set that grows costs only its new columns.

Why coordinate descent on the moments rather than on the columns (skglm's, with Anderson
extrapolation): a sweep on the moments costs O(|ws|) per moving coordinate against O(n) on the
columns, so the inner solves cost next to nothing after the products, which are BLAS; the
sweeps converge fast enough that extrapolation found nothing to gain (the outer loop's passes
over X dominate). The residual is kept from the working set's columns, so a gradient costs one
pass over X.

Input: a dense NumPy X (C or F order; float32 stays float32 in the passes) or a scipy.sparse
matrix (CSR or CSC used as it is, other formats converted to CSC once), y 1-D, sample weights.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from ._config import PARALLEL_MIN_VALUES, WORKING_SET_MIN_FEATURES
from .coordinate_descent import PathFits, follow_path, minimize
from .threads import default_threads, in_ranges, row_ranges

FIRST_SIZE = 10  # the first working set (skglm's p0)
# Each working set's problem is solved to a tenth of the outer tolerance, not to a share of the
# current gap (skglm's 0.3): on the moments the sweeps cost next to nothing, and a set solved
# only roughly came back with the same support for two or three more passes over X (measured:
# 6 outer passes instead of 8 on the sparse benchmark, 4 instead of 7 on the dense one).
INNER_TOL_SHARE = 0.1
# The largest columns cache (values) kept for the working sets' products; beyond it the columns
# are read again for each working set.
CACHE_VALUES = 250_000_000
_BLOCK_ROWS = 8192  # rows of a float32 X converted at a time


def wide(shape: tuple) -> bool:
    """Whether data of this (rows, features) shape is solved by working sets (the lasso and
    elastic net of LassoGD, ElasticNetGD, fastgd.path and the CV twins) rather than from its
    (d + 1)-square moments: `_config.WORKING_SET_MIN_FEATURES` features or more, or more
    features than rows."""
    n_rows, n_features = shape
    return n_features >= WORKING_SET_MIN_FEATURES or n_features > n_rows


class Solution(NamedTuple):
    coef: np.ndarray  # (d,)
    intercept: float
    dual_gap: float  # per unit of weight (scikit-learn's dual_gap_)
    n_iter: int  # coordinate-descent sweeps, over all working sets
    converged: bool  # dual_gap <= tol * y's variance
    outer: int  # working sets solved (passes over X for the gradient)


@njit(cache=True, nogil=True)
def _range_products(indptr, indices, values, s, new_position, all_position, first, last, out):
    """out[new_position[j], all_position[k]] = sum_i s_i x_ij x_ik over X's CSR rows first to
    last, for the features j with new_position[j] >= 0 and k with all_position[k] >= 0: one
    pass over the rows' stored values, and per row only the products of its stored values in
    the two sets (a working set's few per row), not the columns' dot products."""
    longest = 0
    for i in range(first, last):
        longest = max(longest, indptr[i + 1] - indptr[i])
    new_at = np.empty(longest, np.int64)
    new_values = np.empty(longest)
    all_at = np.empty(longest, np.int64)
    all_values = np.empty(longest)
    for a in range(out.shape[0]):
        for b in range(out.shape[1]):
            out[a, b] = 0.0
    for i in range(first, last):
        n_new = 0
        n_all = 0
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if all_position[j] >= 0:
                all_at[n_all] = all_position[j]
                all_values[n_all] = values[p]
                n_all += 1
                if new_position[j] >= 0:
                    new_at[n_new] = new_position[j]
                    new_values[n_new] = values[p]
                    n_new += 1
        weight = s[i]
        for a in range(n_new):
            row = out[new_at[a]]
            scaled = weight * new_values[a]
            for b in range(n_all):
                row[all_at[b]] += scaled * all_values[b]


def sparse_products(X, s, new_position, all_position, threads):
    """The products of `_range_products` over all rows of a CSR X, one range of rows per
    thread, the ranges' added in order (the same bits for a thread count)."""
    outs = np.empty((threads, int((new_position >= 0).sum()), int((all_position >= 0).sum())))
    arguments = (X.indptr, X.indices, X.data, s, new_position, all_position)
    ranges = row_ranges(X.shape[0], threads)  # one range of rows per thread
    in_ranges(_range_products, [(*arguments, rows.start, rows.stop, outs[c])
                                for c, rows in enumerate(ranges)])  # fmt: skip
    total = outs[0]
    for c in range(1, threads):
        total += outs[c]
    return total


@njit(cache=True, nogil=True)
def _csr_column_sums(indptr, indices, values, s, y, sums):
    """sums[0, j] = sum_i s_i x_ij, sums[1, j] = sum_i s_i x_ij y_i, sums[2, j] =
    sum_i s_i x_ij², from one pass over the CSR rows (scipy would take three, and a copy)."""
    for j in range(sums.shape[1]):
        sums[0, j] = 0.0
        sums[1, j] = 0.0
        sums[2, j] = 0.0
    for i in range(indptr.shape[0] - 1):
        weight = s[i]
        weighted_y = weight * y[i]
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            x = values[p]
            sums[0, j] += weight * x
            sums[1, j] += weighted_y * x
            sums[2, j] += weight * x * x


@njit(cache=True, nogil=True)
def _csr_residual_and_products(indptr, indices, values, s, y, w, offset, residual, products):
    """residual_i = y_i - x_i'w - offset and products_j = sum_i s_i residual_i x_ij, from one
    pass over the CSR rows (the row's values read once, from cache the second time)."""
    for j in range(products.shape[0]):
        products[j] = 0.0
    for i in range(indptr.shape[0] - 1):
        fitted = offset
        for p in range(indptr[i], indptr[i + 1]):
            fitted += values[p] * w[indices[p]]
        r = y[i] - fitted
        residual[i] = r
        weighted = s[i] * r
        for p in range(indptr[i], indptr[i + 1]):
            products[indices[p]] += weighted * values[p]


def _is_sparse(X: Any) -> bool:
    return hasattr(X, "tocsc") and hasattr(X, "nnz")


class Data:
    """X, y and the weights, and what every alpha of a fit shares: the weighted means, y's
    centred values, X'y and the columns' centred squared norms, from two passes over X."""

    def __init__(self, X: Any, y: Any, sample_weight: Any, fit_intercept: bool) -> None:
        self.sparse = _is_sparse(X)
        if self.sparse and X.format != "csr":
            X = X.tocsr()  # the products' pass reads rows
        self.X = X
        n, d = X.shape
        self.s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
        self.weight = float(self.s.sum())
        y = np.asarray(y, dtype=np.float64)
        self.x_mean = np.zeros(d)
        self.y_mean = 0.0
        if self.sparse:
            # One pass for the means, X'y and the squares; centred on the d numbers.
            sums = np.empty((3, d))
            _csr_column_sums(X.indptr, X.indices, X.data, self.s, y, sums)
            if fit_intercept:
                self.x_mean = sums[0] / self.weight
                self.y_mean = float(self.s @ y) / self.weight
            self.y = y - self.y_mean
            self.correlation = (sums[1] - self.x_mean * (self.s @ y)) / self.weight
            self.squares = np.maximum(sums[2] / self.weight - self.x_mean**2, 0.0)
        else:
            if fit_intercept:
                self.x_mean = self.transpose_times(self.s) / self.weight
                self.y_mean = float(self.s @ y) / self.weight
            self.y = y - self.y_mean
            self.correlation = self.gradient(self.y)  # X_c's products with y_c, per weight
            self.squares = self._centred_squares()
        self.yy = float(self.s @ (self.y * self.y)) / self.weight

    def transpose_times(self, v: np.ndarray) -> np.ndarray:
        """X'v in float64, one pass over X. A float32 X is converted a block of rows at a time
        (in cache, never whole): in float32 products the gap would stop at float32's
        rounding, far above a float64 tolerance."""
        X = self.X
        if self.sparse or X.dtype == np.float64:
            return np.asarray(X.T @ v, dtype=np.float64).ravel()
        out = np.zeros(X.shape[1])
        for start in range(0, X.shape[0], _BLOCK_ROWS):
            block = np.asarray(X[start : start + _BLOCK_ROWS], dtype=np.float64)
            out += block.T @ v[start : start + _BLOCK_ROWS]
        return out

    def gradient(self, residual: np.ndarray) -> np.ndarray:
        """X_c' (s r) / S: the centred columns' products with the weighted residual."""
        weighted = self.s * residual
        return (self.transpose_times(weighted) - self.x_mean * weighted.sum()) / self.weight

    def _centred_squares(self) -> np.ndarray:
        """sum_i s_i (x_ij - mean_j)² / S per column, a block of rows at a time (no copy of X)."""
        X = self.X
        raw = np.zeros(X.shape[1])
        for start in range(0, X.shape[0], _BLOCK_ROWS):
            block = np.asarray(X[start : start + _BLOCK_ROWS], dtype=np.float64)
            raw += (block * block).T @ self.s[start : start + _BLOCK_ROWS]
        return np.maximum(raw / self.weight - self.x_mean**2, 0.0)

    def columns(self, features: np.ndarray) -> Any:
        """The centred columns of these features (dense (n, k) float64, F order), or for a
        sparse X the raw columns (sparse)."""
        if self.sparse:
            return self.X[:, features]
        block = np.asfortranarray(self.X[:, features], dtype=np.float64)
        block -= self.x_mean[features]
        return block


class ColumnMoments:
    """The centred moments of the features seen so far, G[j, k] = sum_i s_i (x_ij - mean_j)
    (x_ik - mean_k) / S, each column read and each product computed once.

    Dense X: the centred columns are gathered once and kept (up to CACHE_VALUES values), and a
    new column's products with the kept ones are BLAS. Sparse X: one pass over the CSR rows per
    batch of new features (`sparse_products`), centred on the small result."""

    def __init__(self, data: Data) -> None:
        self.data = data
        self.position = np.full(data.X.shape[1], -1, dtype=np.int64)
        self.features = np.zeros(0, dtype=np.int64)
        self.gram = np.zeros((0, 0))
        self.kept: np.ndarray | None = None  # dense X: the centred columns of `features`

    def of(self, ws: np.ndarray) -> np.ndarray:
        """G restricted to the features ws (C-contiguous), computing what is new."""
        new = ws[self.position[ws] < 0]
        if new.size:
            self._add(new)
        index = self.position[ws]
        return np.ascontiguousarray(self.gram[np.ix_(index, index)])

    def _add(self, new: np.ndarray) -> None:
        data = self.data
        m, k = self.features.size, new.size
        features = np.concatenate([self.features, new])
        gram = np.empty((m + k, m + k))
        gram[:m, :m] = self.gram
        if data.sparse:
            rows = self._sparse_rows(new, features)
        else:
            rows = self._dense_rows(new)
        gram[m:, :] = rows
        gram[:m, m:] = rows[:, :m].T
        self.gram = gram
        self.features = features
        self.position[new] = np.arange(m, m + k)

    def _sparse_rows(self, new: np.ndarray, features: np.ndarray) -> np.ndarray:
        data = self.data
        X = data.X
        d = X.shape[1]
        new_position = np.full(d, -1, dtype=np.int64)
        new_position[new] = np.arange(new.size)
        all_position = np.full(d, -1, dtype=np.int64)
        all_position[features] = np.arange(features.size)
        threads = default_threads() if X.nnz >= PARALLEL_MIN_VALUES else 1
        out = sparse_products(X, data.s, new_position, all_position, threads)
        return out / data.weight - np.outer(data.x_mean[new], data.x_mean[features])

    def _dense_rows(self, new: np.ndarray) -> np.ndarray:
        data = self.data
        columns = data.columns(new)
        kept = self.kept
        if kept is None and self.features.size:
            kept = data.columns(self.features)
        both = columns if kept is None else np.hstack([kept, columns])
        rows = (columns.T @ (data.s[:, None] * both)) / data.weight
        if both.size <= CACHE_VALUES:
            self.kept = np.asfortranarray(both)
        else:
            self.kept = None
        return rows

    def residual_and_gradient(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The centred residual y_c - X_c w and the gradient X_c'(s r) / S at w: one pass over
        a sparse X (both at once); for a dense X the residual from the kept columns of w's
        support, then one pass (BLAS) for the gradient."""
        data = self.data
        if data.sparse:
            X = data.X
            residual = np.empty(X.shape[0])
            products = np.empty(X.shape[1])
            _csr_residual_and_products(X.indptr, X.indices, X.data, data.s, data.y, w,
                                       -float(data.x_mean @ w), residual, products)  # fmt: skip
            weighted_sum = float(data.s @ residual)
            return residual, (products - data.x_mean * weighted_sum) / data.weight
        support = np.flatnonzero(w)
        if support.size == 0:
            residual = data.y.copy()
        else:
            kept = self.kept
            if kept is not None and np.all(self.position[support] >= 0):
                columns = kept[:, self.position[support]]
            else:
                columns = data.columns(support)
            residual = data.y - columns @ w[support]
        return residual, data.gradient(residual)


def _gap_and_scores(data: Data, w: np.ndarray, residual: np.ndarray, gradient: np.ndarray,
                    l1: float, l2: float,
                    positive: bool) -> tuple[float, np.ndarray, float, int]:  # fmt: skip
    """The duality gap at w (scikit-learn's formulation A, per unit of weight), each feature's
    gap-safe score, the screening radius sqrt(2 gap) / l1, and how many features at zero
    violate their optimality condition."""
    s = data.s
    correlation = gradient - l2 * w
    dual_norm = max(0.0, float(correlation.max())) if positive else float(np.abs(correlation).max())
    residual2 = float(s @ (residual * residual)) / data.weight
    ry = float(s @ (residual * data.y)) / data.weight
    l2_norm2 = float(w @ w)
    primal = 0.5 * (residual2 + l2 * l2_norm2) + l1 * float(np.abs(w).sum())
    scale = l1 / dual_norm if dual_norm > l1 else 1.0
    dual = -0.5 * scale * scale * (residual2 + l2 * l2_norm2) + scale * ry
    gap = primal - dual
    bound = max(l1, dual_norm)
    reach = correlation if positive else np.abs(correlation)
    norms = np.sqrt(data.squares + l2)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(norms > 0.0, (1.0 - reach / bound) / norms, np.inf)
    violators = int(np.count_nonzero((reach > l1) & (w == 0.0)))
    return gap, scores, math.sqrt(2.0 * max(gap, 0.0)) / l1, violators


def solve(
    data: Data,
    alpha: float,
    l1_ratio: float,
    positive: bool,
    tol: float,
    max_iter: int,
    w0: np.ndarray | None = None,
    moments: ColumnMoments | None = None,
) -> Solution:
    """The elastic net's optimum at alpha (scikit-learn's scale, l1_ratio > 0) by working sets:
    until the duality gap is at most tol times y's variance, or max_iter sweeps in all."""
    l1, l2 = alpha * l1_ratio, alpha * (1.0 - l1_ratio)
    d = data.X.shape[1]
    moments = ColumnMoments(data) if moments is None else moments
    w = np.zeros(d) if w0 is None else np.array(w0, dtype=np.float64)
    screened = np.zeros(d, dtype=bool)
    target = tol * data.yy
    sweeps = 0
    size = FIRST_SIZE
    last_gap = math.inf
    outer = 0
    stalls = 0
    while True:
        residual, gradient = moments.residual_and_gradient(w)
        gap, scores, radius, violators = _gap_and_scores(data, w, residual, gradient, l1, l2,
                                                         positive)  # fmt: skip
        outer += 1
        if gap <= target or sweeps >= max_iter:
            break
        # No progress over three working sets: the gap is down to its rounding (a tolerance
        # below what the data's precision allows). Stop, not converged, rather than pass over
        # X until max_iter.
        stalls = stalls + 1 if gap >= 0.99 * last_gap else 0
        if stalls >= 3:
            break
        # Gap-safe screening: these features are zero at the optimum.
        screened |= scores > radius
        if np.any(w[screened] != 0.0):
            w[screened] = 0.0
        support = np.flatnonzero(w)
        # The support and the features at zero that violate their optimality condition (at
        # most four times the support: at w = 0 many violate that will never enter); the last
        # size doubled if the gap did not halve. Not skglm's twice the support: its extra
        # features never entered here and cost their columns' products (measured: sets of
        # 1878 against 941 on the sparse benchmark, 0.32 s against 0.22 s).
        entering = min(violators, max(4 * support.size, 4 * FIRST_SIZE))
        stalled = 2 * size if gap > 0.5 * last_gap else 0
        size = max(FIRST_SIZE, support.size + entering, stalled)
        last_gap = gap
        candidates = np.where(screened, np.inf, scores)
        candidates[support] = -np.inf
        size = min(size, int(np.count_nonzero(~screened)))
        if size == 0:
            break
        ws = np.sort(np.argpartition(candidates, size - 1)[:size])
        gram = moments.of(ws)
        w_ws = w[ws].copy()
        correlation = np.ascontiguousarray(data.correlation[ws])
        count, _ = minimize(gram, correlation, data.yy, l1, l2, positive, w_ws,
                           INNER_TOL_SHARE * tol, max_iter - sweeps)  # fmt: skip
        sweeps += max(int(count), 1)
        w[:] = 0.0
        w[ws] = w_ws
    intercept = data.y_mean - float(w @ data.x_mean)
    return Solution(w, intercept, float(gap), sweeps, bool(gap <= target), outer)


def alpha_grid(data: Data, l1_ratio: float, positive: bool, n_alphas: int,
               eps: float) -> np.ndarray:  # fmt: skip
    """scikit-learn's grid (`coordinate_descent.alpha_grid`) from X'y."""
    c = data.correlation
    top = (max(0.0, float(c.max())) if positive else float(np.abs(c).max())) / l1_ratio
    resolution = np.finfo(np.float64).resolution
    if top <= resolution:
        return np.full(n_alphas, resolution)
    return np.geomspace(top, top * eps, num=n_alphas)


def solve_path(data: Data, alphas: np.ndarray, l1_ratio: float, positive: bool, tol: float,
               max_iter: int, coef_init: np.ndarray | None = None) -> PathFits:  # fmt: skip
    """Every alpha's optimum by working sets, each from the last one's coefficients; the
    columns' products computed for one alpha serve the next ones (`ColumnMoments`)."""
    moments = ColumnMoments(data)

    def solve_one(alpha: float, w: np.ndarray) -> tuple:
        solution = solve(data, alpha, l1_ratio, positive, tol, max_iter, w, moments)
        return solution.coef, solution.dual_gap, solution.n_iter

    return follow_path(alphas, coef_init, data.X.shape[1], solve_one, tol * data.yy,
                       data.x_mean, data.y_mean)  # fmt: skip
