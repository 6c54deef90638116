"""Multinomial logistic regression's pass over X: the objective's value and gradient for all k
classes in one read, and its Hessian from a sample of the rows.

With eta_c = b_c + (x - shift).w_c + o_c for the k classes of a row with label y and weight s,
the row's loss is s (log sum_c e^eta_c - eta_y), and with p = softmax(eta)

    value = sum_i s_i (log sum_c e^eta_ic - eta_iy)
    grad  = sum_i s_i (p_i - e_y) (x_i - shift, 1)'          (k, d + 1), the intercepts last
    H     = sum_i s_i (diag(p_i) - p_i p_i') (x) (x_i - shift, 1)(x_i - shift, 1)'

`dense_pass` computes the value and gradient as the binary Newton pass does
(fastgd/glm_pass.py): a block of rows transposed and shifted into cache, the k etas, the
softmax (fastgd/exp_log.py's exp: vectorized) and the k (d + 1) products over contiguous
vectors -- about as many multiply-adds a row as the binary pass's Hessian, one read of X for
all classes. One row range per thread, their sums added in a fixed order: a given thread count
gives the same bits. Its compile (about 5 s, once per machine) pays from KERNEL_MIN_VALUES
values times classes on; below that, and for a sparse X, `numpy_pass` computes the same sums
by NumPy's (scipy's) products (fastgd/plan.py picks).

The Hessian has k (k + 1) / 2 blocks of products, k (k + 1) / 2 times the binary pass's work:
k = 10 classes would take 55 binary passes. Its sampling error, not its exactness, is what a
Newton step needs: `hessian` takes it from HESSIAN_ROWS rows spread over X (every h-th row,
scaled to all the rows' weight), where the gradient of every row makes the answer exact; the
steps then shrink the distance by about the sample's relative error of the Hessian each
(Byrd, Chin, Neveitt and Nocedal's subsampled Newton). With fewer rows it is exact: Newton's
own.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import exp_log
from ._config import FASTMATH
from .glm_pass import GRADIENT, HESSIAN, VALUE
from .gradient import add_products
from .moments import BLOCK_ROWS
from .threads import in_ranges, row_ranges

KERNEL_MIN_VALUES = 1 << 24  # n d k from which a dense X takes the kernels (below, NumPy's
# products take a few milliseconds a pass, less than the kernel's compile: about 5 s, once)
HESSIAN_ROWS = 10_000  # the rows of a sampled Hessian: relative error about sqrt(k d / 10000)
HESSIAN_SCRATCH = 1 << 22  # the values of the Hessian's scratch (32 MB): its rows at a time


# error_model "numpy": no ZeroDivisionError branch at the softmax's division (it would stop the
# loop's vectorization; fastgd/families.py).
@njit(fastmath=FASTMATH, cache=True, nogil=True, error_model="numpy")
def _range_pass(X, labels, s, offset, shift, W, B, parts, block_rows, grad, hessian):
    """The sums of the rows of X (a slice) into grad (k, d + 1) (`parts` >= GRADIENT) and
    hessian (k, k, d + 1, d + 1)'s blocks a <= b, their upper triangles (`parts` == HESSIAN);
    return the value. `offset` (n, k), or (0, k) for none."""
    n, d = X.shape
    k = W.shape[0]
    size = d + 1
    scratch_rows = block_rows + 8  # not a power of two: the transposing copy's cache sets
    centred = np.empty((size, scratch_rows))
    weighted = np.empty((size, scratch_rows))
    eta = np.empty((k, scratch_rows))
    top = np.empty(scratch_rows)
    sums = np.empty(scratch_rows)
    losses = np.empty(scratch_rows)
    totals = np.zeros((k, size))
    has_offset = offset.shape[0] > 0
    value = 0.0
    for start in range(0, n, block_rows):
        rows = min(block_rows, n - start)
        for i in range(rows):
            for j in range(d):
                centred[j, i] = np.float64(X[start + i, j]) - shift[j]
            centred[d, i] = 1.0
        for c in range(k):
            class_eta = eta[c]
            if has_offset:
                for i in range(rows):
                    class_eta[i] = B[c] + offset[start + i, c]
            else:
                for i in range(rows):
                    class_eta[i] = B[c]
            # Four columns a sweep: one load and store of eta for four multiply-adds.
            j = 0
            while j + 4 <= d:
                w0, w1, w2, w3 = W[c, j], W[c, j + 1], W[c, j + 2], W[c, j + 3]
                x0, x1, x2, x3 = centred[j], centred[j + 1], centred[j + 2], centred[j + 3]
                for i in range(rows):
                    class_eta[i] += (w0 * x0[i] + w1 * x1[i]) + (w2 * x2[i] + w3 * x3[i])
                j += 4
            for rest in range(j, d):
                wcj = W[c, rest]
                column = centred[rest]
                for i in range(rows):
                    class_eta[i] += wcj * column[i]
        # The softmax, stable: e^(eta - max), whose sum is in [1, k].
        for i in range(rows):
            top[i] = eta[0, i]
        for c in range(1, k):
            class_eta = eta[c]
            for i in range(rows):
                top[i] = max(top[i], class_eta[i])
        for i in range(rows):
            losses[i] = top[i] - eta[labels[start + i], i]  # before eta holds the exponentials
            sums[i] = 0.0
        for c in range(k):
            class_eta = eta[c]
            for i in range(rows):
                e = exp_log.exp(class_eta[i] - top[i])
                class_eta[i] = e
                sums[i] += e
        for i in range(rows):
            losses[i] = s[start + i] * (losses[i] + exp_log.log(sums[i]))
        # Every sum in a loop that stores nothing (fastgd/glm_pass.py: the same bits every run).
        for i in range(rows):
            value += losses[i]
        if parts == VALUE:
            continue
        for i in range(rows):
            sums[i] = 1.0 / sums[i]
        for c in range(k):
            class_eta = eta[c]
            for i in range(rows):
                class_eta[i] *= sums[i]  # p_c
        if parts == HESSIAN:  # block (a, b): sum s p_a ([a = b] - p_b) x x', upper triangle
            for a in range(k):
                p_a = eta[a]
                for b in range(a, k):
                    p_b = eta[b]
                    if a == b:
                        for i in range(rows):
                            sums[i] = s[start + i] * p_a[i] * (1.0 - p_a[i])
                    else:
                        for i in range(rows):
                            sums[i] = -s[start + i] * p_a[i] * p_b[i]
                    for j in range(size):
                        column = centred[j]
                        target = weighted[j]
                        for i in range(rows):
                            target[i] = sums[i] * column[i]
                    add_products(weighted, centred, rows, hessian[a, b], 0, True)
        for c in range(k):
            class_eta = eta[c]
            for i in range(rows):
                class_eta[i] *= s[start + i]  # s p_c
        for i in range(rows):
            eta[labels[start + i], i] -= s[start + i]  # s (p_c - [y = c])
        add_products(eta, centred, rows, totals, 0, False)  # the slopes times the columns
    for c in range(k):
        for j in range(size):
            grad[c, j] = totals[c, j]
    return value


def _sums(X, labels, s, offset, shift, B, W, parts, threads):
    """`_range_pass` over the rows of a dense X, one range per thread (`in_ranges`), their sums
    added in a fixed order (the same bits for a thread count): (value, grad, hessian blocks
    (k, k, d + 1, d + 1) or None)."""
    n, d = X.shape
    k = W.shape[0]
    ranges = max(1, min(threads, n // BLOCK_ROWS))
    if parts == HESSIAN:  # each range's blocks within HESSIAN_SCRATCH values in all
        ranges = max(1, min(ranges, HESSIAN_SCRATCH // (k * k * (d + 1) * (d + 1))))
    grads = np.zeros((ranges, k, d + 1))
    blocks = (k, k, d + 1, d + 1) if parts == HESSIAN else (1, 1, 1, 1)  # unused: a stand-in
    hessians = np.zeros((ranges, *blocks))
    none = np.zeros((0, k))
    W = np.ascontiguousarray(W, dtype=np.float64)
    B = np.ascontiguousarray(B, dtype=np.float64)
    calls = [
        (X[rows], labels[rows], s[rows], none if offset is None else offset[rows], shift, W, B,
         parts, BLOCK_ROWS, grads[c], hessians[c])
        for c, rows in enumerate(row_ranges(n, ranges))
    ]  # fmt: skip
    values = np.array(in_ranges(_range_pass, calls))
    hessian = hessians.sum(axis=0) if parts == HESSIAN else None
    return float(values.sum()), grads.sum(axis=0), hessian


def dense_pass(X, labels, s, offset, shift, B, W, *, parts=GRADIENT, threads=1):
    """(value, grad (k, d + 1)) of a dense X (C-contiguous float32 or float64) at eta = B +
    (x - shift) W' + offset; labels (n,) int64 in [0, k), s (n,) float64, offset (n, k) or None.
    `parts` VALUE leaves grad at 0."""
    value, grad, _ = _sums(X, labels, s, offset, shift, B, W, parts, threads)
    return value, grad


def softmax(eta):
    """(p, log sum_c e^eta_c) of each row of eta (n, k), without overflow."""
    top = eta.max(axis=1, keepdims=True)
    exp = np.exp(eta - top)
    sums = exp.sum(axis=1, keepdims=True)
    return exp / sums, np.log(sums[:, 0]) + top[:, 0]


def _eta(X, shift, B, W, offset):
    eta = np.asarray(X @ W.T) + (B - W @ shift)
    return eta if offset is None else eta + offset


def numpy_pass(X, labels, s, offset, shift, B, W, *, parts=GRADIENT, threads=1):
    """`dense_pass` by NumPy's (or for a scipy.sparse X, scipy's) products: no kernel to compile
    (`threads`: BLAS's own)."""
    n, d = X.shape
    k = W.shape[0]
    eta = _eta(X, shift, B, W, offset)
    P, log_sums = softmax(eta)
    rows = np.arange(n)
    value = float(s @ (log_sums - eta[rows, labels]))
    grad = np.zeros((k, d + 1))
    if parts == GRADIENT:
        slopes = s[:, None] * P
        slopes[rows, labels] -= s
        grad[:, d] = slopes.sum(axis=0)
        grad[:, :d] = np.asarray(X.T @ slopes).T - np.outer(grad[:, d], shift)
    return value, grad


def hessian_stride(n):
    """Every how many rows the Hessian's sample takes: about HESSIAN_ROWS of them (1: all)."""
    return max(1, -(-n // HESSIAN_ROWS))


def hessian(X, s, offset, shift, B, W, stride, threads=1, compiled=False):
    """The Hessian (k (d + 1), k (d + 1)) of the value's sum at (B, W), in grad's order (class
    by class, each's intercept last), from every stride-th row, scaled by the weight of all
    the rows over theirs (exact with stride 1). `compiled`: by the pass's kernel (a dense X;
    each block's upper triangle, half the products), else by NumPy's products, a chunk of
    rows at a time (a sparse X's taken dense)."""
    d = X.shape[1]
    k = W.shape[0]
    size = d + 1
    total = float(s.sum())
    rows = slice(None, None, stride)
    sampled = float(s[rows].sum())
    if stride > 1 and not sampled > 0.0:  # no weight on the sampled rows: all of them
        return hessian(X, s, offset, shift, B, W, 1, threads, compiled)
    X, s = X[rows], s[rows]
    offset = None if offset is None else offset[rows]
    scale = total / sampled if stride > 1 else 1.0
    if compiled:  # the pass's kernel, on the sampled rows' copy
        X = np.ascontiguousarray(X)
        s = np.ascontiguousarray(s)
        offset = None if offset is None else np.ascontiguousarray(offset)
        labels = np.zeros(X.shape[0], dtype=np.int64)  # the Hessian does not depend on them
        blocks = _sums(X, labels, s, offset, shift, B, W, HESSIAN, threads)[2]
        matrix = np.empty((k, size, k, size))
        for a in range(k):
            for b in range(a, k):
                upper = np.triu(blocks[a, b])
                matrix[a, :, b, :] = matrix[b, :, a, :] = upper + np.triu(upper, 1).T
        return matrix.reshape(k * size, k * size) * scale
    matrix = np.zeros((k * size, k * size))
    chunk_rows = max(64, HESSIAN_SCRATCH // (k * size))
    for start in range(0, X.shape[0], chunk_rows):
        chunk = slice(start, start + chunk_rows)
        X_chunk = X[chunk]
        X_chunk = X_chunk.toarray() if hasattr(X_chunk, "toarray") else np.asarray(X_chunk)
        centred = np.empty((X_chunk.shape[0], size))
        centred[:, :d] = X_chunk - shift
        centred[:, d] = 1.0
        P, _ = softmax(centred[:, :d] @ W.T + B + (0.0 if offset is None else offset[chunk]))
        weights = s[chunk][:, None] * P
        # sum s diag(p) (x) x x' (the blocks on the diagonal), less the rank-one terms
        # (sqrt(s) p (x) x)(sqrt(s) p (x) x)': one product of the chunk's k (d + 1) columns.
        for c in range(k):
            block = slice(c * size, (c + 1) * size)
            matrix[block, block] += centred.T @ (weights[:, c : c + 1] * centred)
        scaled = (np.sqrt(s[chunk])[:, None] * P)[:, :, None] * centred[:, None, :]
        scaled = scaled.reshape(X_chunk.shape[0], k * size)
        matrix -= scaled.T @ scaled
    return matrix * scale
