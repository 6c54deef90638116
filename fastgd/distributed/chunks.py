"""The work on each chunk of a Dask array, in whichever process holds it, and the current
Dask: a distributed Client, or Dask's default scheduler in this process."""

import sys

import numpy as np

from ..gradient import kernel_shift, kernel_width, n_sums, partial_sums
from ..losses import SquaredError
from ..moments import centered_moments, merge_moments

SQUARED_ERROR = SquaredError()  # the loss when none is given

_LOCAL_SCHEDULERS = ("threads", "threading", "sync", "synchronous", "single-threaded",
                     "processes", "multiprocessing")  # fmt: skip


def current_client():
    """The current dask.distributed Client, or None (then Dask's default scheduler runs)."""
    if "distributed" not in sys.modules:
        return None  # a Client exists only where distributed was imported
    import dask

    if dask.config.get("scheduler", None) in _LOCAL_SCHEDULERS:
        return None  # dask.config.set(scheduler="threads") asks for the local scheduler
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


def _make_part(X, y, sample_weight):
    """One chunk as the kernel wants it: C-contiguous arrays (a copy only where Dask left a
    view)."""
    if sample_weight is not None:
        sample_weight = np.ascontiguousarray(sample_weight)
    return np.ascontiguousarray(X), np.ascontiguousarray(y), sample_weight


class ChunkGroup:
    """The parts held by one process, worked on by `threads` threads (the kernels release the
    GIL). Each part's result goes to its own row: the threads never share an accumulator."""

    def __init__(self, parts, threads):
        from concurrent.futures import ThreadPoolExecutor

        self.parts = list(parts)
        self.threads = max(1, min(threads, len(self.parts)))
        self.pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

    def _each(self, work):
        def stride(first):
            for i in range(first, len(self.parts), self.threads):
                work(i, *self.parts[i])

        if self.pool is None:
            stride(0)
        else:
            list(self.pool.map(stride, range(self.threads)))

    def sums(self, b, w, shift, loss=SQUARED_ERROR):
        """The partial sums of each part at (b, w), one row per part (gradient.partial_sums)."""
        out = np.empty((len(self.parts), n_sums(w.shape[0])))
        shift, width = kernel_shift(shift), kernel_width(w.shape[0])
        self._each(lambda i, X, y, s: partial_sums(X, y, s, b, w, shift, loss, width, out[i]))
        return out

    def moments(self):
        """The centred moments of each part (centered_moments), one per part."""
        out = [None] * len(self.parts)

        def work(i, X, y, s):
            out[i] = centered_moments(X, y, s, 1)

        self._each(work)
        return out


def delayed_parts(X, y, sample_weight):
    """One dask.delayed part (X_i, y_i, s_i) per row chunk."""
    import dask

    x_blocks = X.to_delayed().ravel()
    y_blocks = y.to_delayed().ravel()
    w_blocks = [None] * len(x_blocks)
    if sample_weight is not None:
        w_blocks = sample_weight.to_delayed().ravel()
    make_part = dask.delayed(_make_part, pure=True)
    return [make_part(*blocks) for blocks in zip(x_blocks, y_blocks, w_blocks)]


def merge_tree(moments):
    """All chunks' moments merged pairwise (merge_moments), neighbours first: exact, and
    in an order fixed by the chunks alone."""
    moments = list(moments)
    while len(moments) > 1:
        merged = [merge_moments(a, b) for a, b in zip(moments[::2], moments[1::2])]
        moments = merged + moments[len(merged) * 2 :]
    return moments[0]


class ChunkHolder:
    """A Dask Actor on one worker: holds that worker's parts and computes their partial sums
    (or moments) on the worker's threads.

    The parts are the persisted results themselves (Dask hands the actor its local data, no
    copy); only (b, w) and the shift arrive and d + 2 numbers per part leave.
    """

    def __init__(self, *parts):
        from distributed import get_worker

        worker = get_worker()
        threads = getattr(getattr(worker, "state", worker), "nthreads", 1)
        self.group = ChunkGroup(parts, threads)

    def sums(self, b, w, shift, loss=SQUARED_ERROR):
        return self.group.sums(b, w, shift, loss)

    def moments(self):
        return self.group.moments()


def tree_sum(rows):
    """Sum of the rows of a 2-D array by pairwise halving: a fixed order, O(log n) rounding."""
    while rows.shape[0] > 1:
        half = rows.shape[0] // 2
        paired = rows[:half] + rows[half : 2 * half]
        rows = np.concatenate([paired, rows[2 * half :]]) if rows.shape[0] % 2 else paired
    return rows[0].copy()


def part_moments(part):
    X, y, sample_weight = part
    return centered_moments(X, y, sample_weight, 1)
