"""Every fold's moments in one pass over the data: what cross-validation from moments needs
(fastgd/cross_validation.py).

K-fold cross-validation of a least-squares model needs, for each fold, the moments of its
training rows and of its test rows. When the test sets partition the rows (KFold, shuffled or
not, StratifiedKFold, GroupKFold, ...) and each training set is the rest, the K test folds'
moments are all there is to compute: a training set's are the other folds' merged (the exact
update of `moments.merge_moments`), the whole data's all of them merged. `fold_labels` finds
whether the splits are such a partition and labels each row with its fold.

Folds of consecutive rows (KFold without shuffling, scikit-learn's default) are slices of X:
`moments.centered_moments` of each, nothing copied. Otherwise `labelled_moments` reads the rows
once, in order, and copies each into a block of its own fold's rows (a few hundred rows per
fold, in cache); a full block's moments are merged into its fold's, as the moment pass merges
its blocks. One thread per range of rows, the ranges' moments merged in a fixed order: a given
thread count always gives the same bits.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._config import FASTMATH
from .compiled import compile_for, compile_once
from .moments import (
    _WIDE,  # the general (d > 1 or 2-D y) branch of `_block_moments`
    BLOCK_ROWS,
    Moments,
    _block_moments,
    _merge_into,
    _zero,
    merge_moments,
)
from .threads import in_ranges, row_ranges


def fold_labels(n_rows: int, splits: list) -> np.ndarray | None:
    """Each row's fold (int64, 0..K-1) when the splits' test sets partition the rows and each
    training set is the complement of its test set; None otherwise."""
    labels = np.full(n_rows, -1, dtype=np.int64)
    for fold, (train, test) in enumerate(splits):
        test = np.asarray(test)
        if test.dtype == bool:
            test = np.flatnonzero(test)
        if test.size == 0 or np.any(labels[test] != -1):
            return None
        labels[test] = fold
        train = np.asarray(train)
        n_train = int(np.count_nonzero(train)) if train.dtype == bool else train.size
        if n_train != n_rows - test.size:
            return None
    if np.any(labels == -1):
        return None
    for fold, (train, _) in enumerate(splits):  # each training set is the complement
        train = np.asarray(train)
        train = np.flatnonzero(train) if train.dtype == bool else train
        if np.any(labels[train] == fold):
            return None
    return labels


def fold_ranges(labels: np.ndarray) -> list[tuple[int, int]] | None:
    """[(start, stop), ...] of each fold, in fold order, when each fold is one run of consecutive
    rows; None otherwise."""
    n_folds = int(labels.max()) + 1
    changes = np.flatnonzero(np.diff(labels)) + 1
    starts = np.r_[0, changes]
    stops = np.r_[changes, labels.shape[0]]
    if starts.shape[0] != n_folds:
        return None
    ranges: list[tuple[int, int] | None] = [None] * n_folds
    for start, stop in zip(starts, stops):
        ranges[int(labels[start])] = (int(start), int(stop))
    return ranges if all(r is not None for r in ranges) else None  # type: ignore[return-value]


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def _flush(buffer_X, buffer_y, buffer_s, sample_weight, fold, rows, centred, weighted, block_mean,
           block_comoment, weights, means, comoments):  # fmt: skip
    """Merge the moments of fold `fold`'s `rows` buffered rows into its running moments."""
    if sample_weight is None:
        block_weight = _block_moments(
            buffer_X[fold, :rows], buffer_y[fold, :rows], None, _WIDE, centred, weighted,
            block_mean, block_comoment,
        )  # fmt: skip
    else:
        block_weight = _block_moments(
            buffer_X[fold, :rows], buffer_y[fold, :rows], buffer_s[fold, :rows], _WIDE, centred,
            weighted, block_mean, block_comoment,
        )  # fmt: skip
    weights[fold] = _merge_into(
        weights[fold], means[fold], comoments[fold], block_weight, block_mean, block_comoment
    )


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def _labelled_range(X, y, sample_weight, labels, block_rows, weights, means, comoments):
    """Fold f's moments of the rows of X labelled f, into weights[f], means[f] and the upper
    triangle of comoments[f], for every f."""
    n, d = X.shape
    n_folds = weights.shape[0]
    size = d + 1
    buffer_X = np.empty((n_folds, block_rows, d), X.dtype)
    buffer_y = np.empty((n_folds, block_rows, 1), y.dtype)
    buffer_s = np.empty((n_folds, block_rows), X.dtype)
    filled = np.zeros(n_folds, np.int64)
    # Rows of the scratch 8 longer than a block, as in `moments._range_moments`.
    centred = np.empty((size, block_rows + 8))
    # Unweighted, `_block_moments` multiplies the centred values by themselves.
    weighted = centred if sample_weight is None else np.empty((size, block_rows + 8))
    block_mean = np.empty(size)
    block_comoment = np.empty((size, size))
    for f in range(n_folds):
        weights[f] = 0.0
        _zero(means[f], comoments[f])
    for i in range(n):
        f = labels[i]
        r = filled[f]
        for j in range(d):
            buffer_X[f, r, j] = X[i, j]
        buffer_y[f, r, 0] = y[i]
        if sample_weight is not None:
            buffer_s[f, r] = sample_weight[i]
        filled[f] = r + 1
        if r + 1 == block_rows:
            _flush(buffer_X, buffer_y, buffer_s, sample_weight, f, block_rows, centred, weighted,
                   block_mean, block_comoment, weights, means, comoments)  # fmt: skip
            filled[f] = 0
    for f in range(n_folds):
        if filled[f] > 0:
            _flush(buffer_X, buffer_y, buffer_s, sample_weight, f, filled[f], centred, weighted,
                   block_mean, block_comoment, weights, means, comoments)  # fmt: skip


def _buffers(threads, n_folds, size):
    return (
        np.zeros((threads, n_folds)),
        np.zeros((threads, n_folds, size)),
        np.zeros((threads, n_folds, size, size)),
    )


def _symmetric(weight, mean, upper):
    upper = np.triu(upper)
    return Moments(float(weight), mean.copy(), upper + np.triu(upper, 1).T)


def labelled_moments(X, y, sample_weight, labels, n_folds, threads=1):
    """Each fold's `Moments` (a list, fold by fold) of a checked host X (C-contiguous float32 or
    float64, `_validation.check_data`), y 1-D and sample_weight None or 1-D, from one pass:
    row i belongs to fold labels[i] (int64, 0..n_folds-1)."""
    size = X.shape[1] + 1
    weights, means, comoments = _buffers(threads, n_folds, size)
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    calls = []
    for c, rows in enumerate(row_ranges(X.shape[0], threads)):  # one per thread (in_ranges)
        weights_c = None if sample_weight is None else sample_weight[rows]
        calls.append((X[rows], y[rows], weights_c, labels[rows], BLOCK_ROWS, weights[c], means[c],
                      comoments[c]))  # fmt: skip
    compile_once(
        (_labelled_range,), (X, y, sample_weight), lambda: compile_for(_labelled_range, calls[0])
    )
    in_ranges(_labelled_range, calls)
    folds = []
    for f in range(n_folds):
        total = _symmetric(weights[0, f], means[0, f], comoments[0, f])
        for c in range(1, threads):  # the ranges in order: the same bits for a thread count
            total = merge_moments(total, _symmetric(weights[c, f], means[c, f], comoments[c, f]))
        folds.append(total)
    return folds


def merged(moments: list) -> Moments:
    """The moments of the union of disjoint sets, merged in their order."""
    total = moments[0]
    for one in moments[1:]:
        total = merge_moments(total, one)
    return total
