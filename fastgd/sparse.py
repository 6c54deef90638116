"""Sparse X (scipy.sparse, rows compressed: CSR): the loop and gram backends, X never densified.

The kernels read X's three CSR arrays (`data`, `indices`, `indptr`). A row's prediction is a
sum over its stored values, and the standardizing shift h (fastgd/coordinates.py), which would
make every zero nonzero, is applied to the sums rather than to X:

    (x_i - h) . w = x_i . w - h . w,
    sum_i s_i r_i (x_ij - h_j) = sum_i s_i r_i x_ij - h_j sums[1],

so a pass costs O(nnz + n), and gives exactly the partial sums of `gradient.partial_sums` (to
rounding). The moments (gram, lr="auto", standardize, tol) come from one pass over the rows,
each row adding the products of its stored values: O(sum of nnz_i**2), and their centring is
done on the small (d + 1)-square result (`sparse_moments`): for columns whose mean is large
next to their spread this loses digits that the dense moment pass keeps (docs/sparse.md).
Below `_config.PASS_KERNEL_MIN_VALUES` stored values the same products come from scipy's
(`_scipy_products`): no kernel to compile.
Duplicate entries of a row add up, as scipy's own products treat them; X is never changed.
"""

import numpy as np
from numba import njit, prange

from . import _config
from ._config import FASTMATH
from .compiled import compile_for, compile_once
from .gradient import LOSS, LOSS_PARAMETER, kernel_shift, n_sums
from .gram import Run as GramRun
from .iteration import steps
from .losses import SquaredError, kernel_loss, row_terms
from .moments import Moments
from .threads import in_ranges, numba_threads, row_ranges


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def csr_partial_sums(data, indices, indptr, first, last, y, sample_weight, b, w, shift, loss,
                     out):  # fmt: skip
    """The d + 2 partial sums (fastgd/gradient.py) of rows first..last - 1 of the CSR matrix
    (data, indices, indptr) into `out`."""
    d = w.shape[0]
    for j in range(d + 2):
        out[j] = 0.0
    offset = 0.0  # h . w: the shift's part of every prediction
    if shift is not None:
        for j in range(d):
            offset += shift[j] * w[j]
    s_rr = 0.0
    s_r = 0.0
    for i in range(first, last):
        prediction = b - offset
        for p in range(indptr[i], indptr[i + 1]):
            prediction += data[p] * w[indices[p]]
        r = y[i] - prediction
        s = 1.0 if sample_weight is None else sample_weight[i]
        # The loss term, and the weight that takes s r's place.
        value, sr = row_terms(loss, y[i], r, s)
        s_rr += value
        s_r += sr
        for p in range(indptr[i], indptr[i + 1]):
            out[2 + indices[p]] += sr * data[p]
    out[0] = s_rr
    out[1] = s_r
    if shift is not None:
        for j in range(d):
            out[2 + j] -= shift[j] * s_r


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _serial_sums(X, y, sample_weight, loss, b, w, shift, partials):
    data, indices, indptr = X
    n = indptr.shape[0] - 1
    csr_partial_sums(data, indices, indptr, 0, n, y, sample_weight, b, w, shift, loss,
                     partials[0])  # fmt: skip


@njit(fastmath=FASTMATH, cache=True, parallel=True)
def _parallel_sums(X, y, sample_weight, loss, b, w, shift, partials):
    """Row block c into partials[c], one block per prange iteration (cpu.py's scheme)."""
    data, indices, indptr = X
    n = indptr.shape[0] - 1
    n_blocks = partials.shape[0]
    for c in prange(n_blocks):
        csr_partial_sums(data, indices, indptr, c * n // n_blocks, (c + 1) * n // n_blocks, y,
                         sample_weight, b, w, shift, loss, partials[c])  # fmt: skip


@njit(nogil=True, inline="always")
def _evaluate(block_sums, X, y, sample_weight, loss, b, w, shift, partials, sums):
    block_sums(X, y, sample_weight, loss, b, w, shift, partials)
    for j in range(sums.shape[0]):
        total = 0.0
        for c in range(partials.shape[0]):
            total += partials[c, j]
        sums[j] = total


@njit(nogil=True, inline="always")
def _loss_serial(X, y, sample_weight, loss, unused, partials, total_weight, b, w, shift,
                 sums):  # fmt: skip
    _evaluate(_serial_sums, X, y, sample_weight, loss, b, w, shift, partials, sums)
    return sums[0] / total_weight


@njit(nogil=True, inline="always")
def _loss_parallel(X, y, sample_weight, loss, unused, partials, total_weight, b, w, shift,
                   sums):  # fmt: skip
    _evaluate(_parallel_sums, X, y, sample_weight, loss, b, w, shift, partials, sums)
    return sums[0] / total_weight


# Entry points, as in fastgd/cpu.py (and inlined for the same reason: see there); they also
# evaluate a starting point (k_start == k_stop).
@njit(fastmath=FASTMATH, cache=True, nogil=True)
def iterate_serial(X, y, sample_weight, loss, total_weight, b, w, k_start, k_stop, rule,
                   shift, precondition, velocity, partials, sums, history):  # fmt: skip
    return steps(_loss_serial, X, y, sample_weight, loss, None, partials, total_weight, b, w,
                 k_start, k_stop, rule, shift, precondition, velocity, sums, history)  # fmt: skip


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def iterate_parallel(X, y, sample_weight, loss, total_weight, b, w, k_start, k_stop, rule,
                     shift, precondition, velocity, partials, sums, history):  # fmt: skip
    return steps(_loss_parallel, X, y, sample_weight, loss, None, partials, total_weight, b, w,
                 k_start, k_stop, rule, shift, precondition, velocity, sums, history)  # fmt: skip


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _range_products(data, indices, indptr, first, last, y, sample_weight, y_mean, column_sums,
                    products):  # fmt: skip
    """Over rows first..last - 1: column_sums[j] = sum s x_ij (j < d), the weight (j = d);
    products[j, k] = sum s x_ij x_ik (upper triangle, by each row's pairs of stored values),
    products[j, d] = sum s x_ij (y_i - y_mean), products[d, d] = sum s (y_i - y_mean)**2."""
    d = column_sums.shape[0] - 1
    for i in range(first, last):
        s = 1.0 if sample_weight is None else np.float64(sample_weight[i])
        centred_y = np.float64(y[i]) - y_mean
        column_sums[d] += s
        products[d, d] += s * centred_y * centred_y
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            value = s * np.float64(data[p])
            column_sums[j] += value
            products[j, d] += value * centred_y
            products[j, j] += value * np.float64(data[p])
            # Each pair of the row's values once, into the upper triangle: half the products
            # of all ordered pairs. Two entries of the same column (duplicates) are both
            # (p, q) and (q, p) of its diagonal cell: twice.
            for q in range(p + 1, indptr[i + 1]):
                k = indices[q]
                product = value * np.float64(data[q])
                if k == j:
                    products[j, j] += 2.0 * product
                elif k > j:
                    products[j, k] += product
                else:
                    products[k, j] += product


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def _products(X, first, last, y, sample_weight, y_mean, column_sums, products):
    """`_range_products` of rows first..last - 1 of X (its (data, indices, indptr))."""
    data, indices, indptr = X
    _range_products(data, indices, indptr, first, last, y, sample_weight, y_mean, column_sums,
                    products)  # fmt: skip


def _products_calls(X, y, sample_weight, y_mean, column_sums, products):
    """`_products`'s arguments for one range of rows per row of column_sums and products."""
    ranges = row_ranges(X[2].shape[0] - 1, column_sums.shape[0])
    return [(X, rows.start, rows.stop, y, sample_weight, y_mean, column_sums[c], products[c])
            for c, rows in enumerate(ranges)]  # fmt: skip


def sparse_moments(X, y, sample_weight, total_weight, threads):
    """The `Moments` of CSR data (X as its (data, indices, indptr) arrays): one pass over the
    rows for the uncentred products, centred on the (d + 1)-square result. y is centred
    exactly first (its mean from one pass over y), so the xy and yy moments keep their
    digits; the xx block is sum s x x^T - S mean mean^T (module doc)."""
    d = n_features(X)
    y64 = y.astype(np.float64)
    weights = None if sample_weight is None else sample_weight.astype(np.float64)
    y_mean = float(np.dot(weights, y64) / total_weight if weights is not None else y64.mean())
    if uses_kernel(X):
        column_sums = np.zeros((threads, d + 1))
        products = np.zeros((threads, d + 1, d + 1))
        calls = _products_calls(X[:3], y, sample_weight, y_mean, column_sums, products)
        in_ranges(_products, calls)
        sums, cross = column_sums.sum(axis=0), products.sum(axis=0)
    else:
        sums, cross = _scipy_products(X, y64, weights, y_mean)
    weight = float(sums[d])
    mean = np.append(sums[:d] / weight, y_mean)
    comoment = np.triu(cross) + np.triu(cross, 1).T
    comoment[:d, :d] -= weight * np.outer(mean[:d], mean[:d])
    # sum s (x_ij - mean_j)(y_i - y_mean) = sum s x_ij (y_i - y_mean): y is centred already.
    comoment[d, :d] = comoment[:d, d]
    return Moments(weight, mean, comoment)


def uses_kernel(X):
    """Whether `sparse_moments` runs the compiled pass: from `_config.PASS_KERNEL_MIN_VALUES`
    stored values on; below, scipy's sparse products (no compile, see moments.uses_kernel)."""
    return X.data.shape[0] >= _config.PASS_KERNEL_MIN_VALUES


def _scipy_products(X, y64, weights, y_mean):
    """`_products`'s sums, summed over the rows, by scipy's products: (column_sums, products),
    products a full (d + 1)-square (the kernel's is upper-triangular; only that half is read)."""
    import scipy.sparse as sparse  # the caller passed a scipy.sparse X: scipy is there

    n, d = X.shape
    rows = sparse.csr_matrix((X.data, X.indices, X.indptr), shape=(n, d), copy=False)
    s = np.ones(n) if weights is None else weights
    products = np.zeros((d + 1, d + 1))
    with np.errstate(all="ignore"):  # NaN and inf pass, as in the kernel (see moments.py)
        centred_y = y64 - y_mean
        weighted = sparse.diags(s) @ rows.astype(np.float64, copy=False)
        column_sums = np.append(np.asarray(weighted.sum(axis=0)).ravel(), s.sum())
        products[:d, :d] = (rows.T @ weighted).toarray()
        products[:d, d] = weighted.T @ centred_y
        products[d, d] = s @ (centred_y * centred_y)
    return column_sums, products


def n_features(X):
    return X.shape[1]


def compile_moments(X, y, sample_weight, threads):
    if not uses_kernel(X):
        return

    def compile_them():
        d = n_features(X)
        arguments = (X[:3], 0, 0, y, sample_weight, 0.0, np.zeros(d + 1),
                     np.zeros((d + 1, d + 1)))  # fmt: skip
        compile_for(_products, arguments)

    compile_once((_products,), (*X[:3], y, sample_weight), compile_them)


class Run:
    """One fit's state for sparse X (method="loop"): `cpu.Run` with CSR kernels. X is the
    `_validation.SparseRows` of `_validation.check_sparse_data`."""

    def __init__(self, X, y, sample_weight, total_weight, threads):
        self.X = X
        self.csr = X[:3]
        self.data = (self.csr, y, sample_weight)
        self.total_weight = total_weight
        self.threads = threads
        d = n_features(X)
        self.partials = np.zeros((threads, n_sums(d)))
        self.sums = np.zeros(n_sums(d))
        serial = threads == 1
        self._iterate = iterate_serial if serial else iterate_parallel
        self.moments = None
        self.loss = SquaredError()  # until `compile` says otherwise
        self._idle: tuple = ()  # as in fastgd/cpu.py

    def compile(self, b, w, settings, history, statistics=False):
        if statistics:
            compile_moments(self.X, *self.data[1:], self.threads)
        shift = kernel_shift(settings.shift)
        self.loss = kernel_loss(settings.rule[LOSS], settings.rule[LOSS_PARAMETER])
        data = (*self.data, self.loss)
        self._idle = (settings.rule, settings.precondition, settings.velocity, history)

        def compile_them():
            rest = (0, 0, settings.rule, shift, *settings[2:], self.partials, self.sums, history)
            compile_for(self._iterate, (*data, self.total_weight, b, w, *rest))

        compile_once((self._iterate,), (*self.csr, *self.data[1:], self.loss, shift),
                     compile_them)  # fmt: skip

    def statistics(self):
        if self.moments is None:
            self.moments = sparse_moments(self.X, *self.data[1:], self.total_weight, self.threads)
        return self.moments

    def evaluate(self, b, w, shift):
        rule, precondition, velocity, history = self._idle
        with numba_threads(self.threads):
            self._iterate(*self.data, self.loss, self.total_weight, b, w, 0, 0, rule,
                          kernel_shift(shift), precondition, velocity, self.partials, self.sums,
                          history)  # fmt: skip
        return self.sums[0] / self.total_weight

    def iterate(self, b, w, k_start, k_stop, settings, history):
        rule, shift, precondition, velocity = settings
        with numba_threads(self.threads):
            return self._iterate(
                *self.data, self.loss, self.total_weight, b, w, k_start, k_stop, rule,
                kernel_shift(shift), precondition, velocity, self.partials, self.sums, history,
            )  # fmt: skip


class Gram(GramRun):
    """method="gram" on sparse X: the moments from `sparse_moments`, then gram's iterations."""

    def __init__(self, X, y, sample_weight, total_weight, threads):
        self.data = (X, y, sample_weight)
        self.total_weight = total_weight
        self.threads = threads
        self.moments = None
        self.sums = np.zeros(n_features(X) + 2)

    def compile(self, b, w, settings, history, statistics=False):
        X, y, sample_weight = self.data
        compile_moments(X, y, sample_weight, self.threads)
        size = w.shape[0] + 1
        placeholder = GramRun.from_moments(Moments(1.0, np.zeros(size), np.zeros((size, size))))
        placeholder.compile(b, w, settings, history)

    def statistics(self):
        if self.moments is None:
            X, y, sample_weight = self.data
            self.moments = sparse_moments(X, y, sample_weight, self.total_weight, self.threads)
        return self.moments
