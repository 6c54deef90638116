"""Dask backend: the same compiled kernel on every chunk, a few numbers per chunk over the network.

`fit` comes here when X (or y) is a `dask.array.Array` chunked along the rows. The data is
persisted once, where Dask computes it: each row chunk becomes one *part* (X_i, y_i, s_i) on one
worker, and nothing but parameters and partial sums crosses the network afterwards.

method="loop": one Dask Actor per worker holds that worker's parts. Each iteration the client
sends (b, w) to every actor; the actor runs `gradient.partial_sums` -- the function the CPU
backend runs on each thread's block -- on each of its chunks and answers d + 2 numbers per
chunk. The client adds the chunks' sums in chunk order by a pairwise tree (so the result does
not depend on which worker holds which chunk) and takes the step (`gradient.apply_step`).
Per-iteration latency is therefore one round trip to the workers, not a Dask graph.

method="gram": one pass computes each chunk's centred moments (`gram.centered_moments`) where
the chunk is, without persisting anything; the client merges them pairwise in chunk order
(`gram.merge_moments`, exact) and runs the iterations from them (`gram.Run`).

Without a distributed Client the parts are computed with Dask's default scheduler into this
process's memory and each iteration runs the chunks on a thread pool (the kernel releases the
GIL): the same per-chunk sums, added in the same order.

A worker lost in the middle of a fit loses its actor and its parts. The scheduler recomputes the
lost parts from their graph; the Run then places new actors and repeats the interrupted
evaluation. Every chunk's sums are a pure function of (b, w) and the chunk, so the fit ends
exactly where it would have without the failure; after repeated failures it raises a
`DistributedFitError` instead.
"""

import sys
import warnings
from typing import Any

import numpy as np

from . import gram
from ._status import PARAMS_NOT_FINITE, RAN
from ._validation import (
    _dtype_problem,
    _float_dtype_for,
    check_total_weight,
    check_weight_shape,
    check_X_shape,
    check_y_shape,
)
from .errors import DeviceError, DivergenceError
from .gradient import all_finite, apply_step, loss_status, n_sums, partial_sums
from .plan import Plan, choose_method

# Lost workers tolerated per evaluation before the fit gives up.
MAX_RECOVERIES = 3

# How often a waiting call checks that the workers it waits for are still alive.
POLL_SECONDS = 0.5


class WorkerLost(RuntimeError):
    """An actor's worker left the cluster while the client waited for its answer."""


class DistributedFitError(RuntimeError):
    """The Dask cluster failed in a way the fit could not recover from."""


def is_dask_array(value):
    """True for a dask.array.Array, without importing dask (it is an optional extra)."""
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(value, module.Array)


def _dask_array():
    try:
        import dask.array
    except ImportError:  # pragma: no cover - dask arrays imply dask
        raise ImportError(
            'Dask input needs the dask extra: python3 -m pip install -e ".[dask]" in a checkout '
            "of fastgd"
        ) from None
    return dask.array


_LOCAL_SCHEDULERS = ("threads", "threading", "sync", "synchronous", "single-threaded",
                     "processes", "multiprocessing")  # fmt: skip


def _current_client():
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


# --- checking and aligning the input ---------------------------------------------------------


def _as_dask(value, name, da, row_chunks):
    """value as a dask array of real numbers; NumPy input is cut into `row_chunks`."""
    if not is_dask_array(value):
        if value is None or isinstance(value, (str, bytes)):
            raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}")
        value = np.asarray(value)
        chunks = (row_chunks, *((s,) for s in value.shape[1:]))
        if row_chunks is None or value.ndim == 0 or value.shape[0] != sum(row_chunks):
            chunks = value.shape or ()  # wrong length: reported below, with the shapes
        value = da.from_array(value, chunks=chunks)
    problem = _dtype_problem(value.dtype)
    if problem is not None:
        raise TypeError(
            f"{name} holds {problem} (dtype {value.dtype}); pass real numbers, e.g. "
            f"{name}.astype(float)"
        )
    if value.ndim >= 1 and any(np.isnan(c) for c in value.chunks[0]):
        raise ValueError(
            f"{name} has unknown chunk sizes (e.g. after boolean indexing); call "
            f"{name}.compute_chunk_sizes() first"
        )
    return value


def check_data(X, y, sample_weight=None):
    """The dask twin of `_validation.check_data`: return (X, y, sample_weight, total weight).

    X becomes (n, d) with one column block, y (n,) and sample_weight (n,) or None, all with X's
    row chunks and float dtype. y or weights chunked differently from X are rechunked to X's
    chunks (moving at most the neighbouring rows of each chunk boundary). Only the weights are
    read here (their total and sign); X and y are not computed.
    """
    da = _dask_array()
    if not is_dask_array(X):
        y_chunks = y.chunks[0] if is_dask_array(y) and y.ndim >= 1 else None
        X = _as_dask(X, "X", da, y_chunks)
    X = _as_dask(X, "X", da, None)
    check_X_shape(X)
    dtype = _float_dtype_for(X.dtype)
    if X.ndim == 1:
        X = X[:, None]
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})  # each task needs whole rows
    X = X.astype(dtype, copy=False)
    row_chunks = X.chunks[0]

    y = check_y_shape(_as_dask(y, "y", da, row_chunks), X.shape[0])
    y = y.astype(dtype, copy=False)
    if y.chunks[0] != row_chunks:
        y = y.rechunk((row_chunks,))

    total_weight = float(X.shape[0])
    if sample_weight is not None:
        sample_weight, total_weight = _check_weights(sample_weight, da, row_chunks, dtype)
    return X, y, sample_weight, total_weight


def _check_weights(sample_weight, da, row_chunks, dtype):
    n = sum(row_chunks)
    if np.ndim(sample_weight) == 0 and not is_dask_array(sample_weight):
        sample_weight = da.full(n, sample_weight, chunks=(row_chunks,), dtype=dtype)
    sample_weight = _as_dask(sample_weight, "sample_weight", da, row_chunks)
    check_weight_shape(sample_weight, n)
    sample_weight = sample_weight.astype(dtype, copy=False)
    if sample_weight.chunks[0] != row_chunks:
        sample_weight = sample_weight.rechunk((row_chunks,))
    import dask

    total, n_bad, n_negative = dask.compute(
        sample_weight.sum(dtype=np.float64),
        (~da.isfinite(sample_weight)).sum(),
        (sample_weight < 0).sum(),
    )
    for count, bad, rule in (
        (n_bad, ~da.isfinite(sample_weight), "finite"),
        (n_negative, sample_weight < 0, ">= 0"),
    ):
        if count:
            index = int(da.argmax(bad).compute())
            value = sample_weight[index].compute()
            raise ValueError(f"sample_weight[{index}] is {value}: weights must be {rule}")
    total = float(total)
    check_total_weight(total, dtype)
    return sample_weight, total


def locate_non_finite(X, y):
    """The dask twin of `_validation.locate_non_finite` (runs only after a non-finite loss)."""
    da = _dask_array()
    for name, array in (("X", X), ("y", y)):
        bad = ~da.isfinite(array)
        if not bool(bad.any().compute()):
            continue
        index = np.unravel_index(int(da.argmax(bad.ravel()).compute()), array.shape)
        value = array[index].compute()
        where = index[0] if len(index) == 1 or array.shape[1] == 1 else index
        return ValueError(
            f"{name}[{', '.join(map(str, np.atleast_1d(where)))}] is {value}: "
            f"{name} must be finite; drop or impute missing values before fitting"
        )
    return None


# --- the work on each chunk ------------------------------------------------------------------


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

    def sums(self, b, w):
        """The partial sums of each part at (b, w), one row per part (gradient.partial_sums)."""
        out = np.empty((len(self.parts), n_sums(w.shape[0])))
        self._each(lambda i, X, y, s: partial_sums(X, y, s, b, w, out[i]))
        return out

    def moments(self):
        """The centred moments of each part (gram.centered_moments), one per part."""
        out = [None] * len(self.parts)

        def work(i, X, y, s):
            out[i] = gram.centered_moments(X, y, s, 1)

        self._each(work)
        return out


def _delayed_parts(X, y, sample_weight):
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
    """All chunks' moments merged pairwise (gram.merge_moments), neighbours first: exact, and
    in an order fixed by the chunks alone."""
    moments = list(moments)
    while len(moments) > 1:
        merged = [gram.merge_moments(a, b) for a, b in zip(moments[::2], moments[1::2])]
        moments = merged + moments[len(merged) * 2 :]
    return moments[0]


def make_run(X, y, sample_weight, total_weight, device, threads, *, method, n_iter,
             moments_needed):  # fmt: skip
    """The Dask Run for this fit: `Run` (method "loop") or `GramRun`, with its Plan."""
    if device == "cuda":
        raise DeviceError(
            "device='cuda' is not available for Dask input; use device='cpu' or 'auto' "
            "(the workers run the CPU kernel on their chunks)"
        )
    if threads is not None:
        raise ValueError(
            "threads= applies to NumPy input; with Dask input each worker uses its own "
            "threads (set them when starting the workers)"
        )
    method = choose_method(X.shape[0], X.shape[1], n_iter, method, moments_needed)
    if method == "gram":
        return GramRun(X, y, sample_weight)
    return Run(X, y, sample_weight, total_weight)


class ChunkHolder:
    """A Dask Actor on one worker: holds that worker's parts and computes their partial sums
    (or moments) on the worker's threads.

    The parts are the persisted results themselves (Dask hands the actor its local data, no
    copy); only (b, w) arrive and d + 2 numbers per part leave.
    """

    def __init__(self, *parts):
        from distributed import get_worker

        worker = get_worker()
        threads = getattr(getattr(worker, "state", worker), "nthreads", 1)
        self.group = ChunkGroup(parts, threads)

    def sums(self, b, w):
        return self.group.sums(b, w)

    def moments(self):
        return self.group.moments()


def tree_sum(rows):
    """Sum of the rows of a 2-D array by pairwise halving: a fixed order, O(log n) rounding."""
    while rows.shape[0] > 1:
        half = rows.shape[0] // 2
        paired = rows[:half] + rows[half : 2 * half]
        rows = np.concatenate([paired, rows[2 * half :]]) if rows.shape[0] % 2 else paired
    return rows[0].copy()


class Run:
    """One fit's state on Dask, offering `cpu.Run`'s interface to `fit`'s driver.

    Creating it persists the data (one part per row chunk) and, with a distributed Client,
    places one ChunkHolder actor on every worker that holds parts.
    """

    def __init__(self, X, y, sample_weight, total_weight):
        import dask

        self.total_weight = total_weight
        self.sums = np.zeros(n_sums(X.shape[1]))
        self.n_chunks = len(X.chunks[0])
        parts = _delayed_parts(X, y, sample_weight)
        self.client = _current_client()
        if self.client is None:
            self._start_local(dask, parts)
        else:
            self.parts = self.client.compute(parts)  # futures: the data stays on the workers
            self._place_actors()
        self.plan = Plan(device="dask", threads=self.threads, method="loop")

    # -- without a Client: Dask's default scheduler, then a thread pool ---------------------

    def _start_local(self, dask, parts):
        import os

        local_parts = dask.compute(*parts)
        serial = dask.config.get("scheduler", None) in ("sync", "synchronous", "single-threaded")
        threads = 1 if serial else dask.config.get("num_workers", None) or os.cpu_count()
        self.local = ChunkGroup(local_parts, threads)
        self.threads = self.local.threads

    # -- with a Client: one actor per worker ------------------------------------------------

    def _place_actors(self):
        from distributed import wait

        wait(self.parts)
        who_has = self.client.who_has(self.parts)
        by_worker: dict[str, list[int]] = {}
        for index, part in enumerate(self.parts):
            by_worker.setdefault(who_has[part.key][0], []).append(index)
        self.placement = list(by_worker.items())
        # The futures are kept: a lost worker turns its holder's future from "finished" to
        # "lost" or "pending", which is how a call that will never answer is recognised.
        self.holders = [
            self.client.submit(
                ChunkHolder, *[self.parts[i] for i in indices], actor=True,
                workers=[worker], allow_other_workers=False, pure=False,
            )
            for worker, indices in self.placement
        ]  # fmt: skip
        self.actors = [holder.result() for holder in self.holders]
        self.threads = sum(self.client.nthreads().values())

    def _answer(self, call):
        """The call's result, or WorkerLost when an actor's worker is gone (the call would
        otherwise wait for ever)."""
        while True:
            try:
                return call.result(timeout=POLL_SECONDS)
            except TimeoutError:
                lost = [h for h in self.holders if h.status != "finished"]
                if lost:
                    raise WorkerLost(f"the worker holding {lost[0].key} is gone") from None

    def _cluster_sums(self, b, w):
        return self._ask_actors("sums", b, w)

    def _ask_actors(self, name, *args):
        """Every actor's answer to `name(*args)`, as one list in chunk order."""
        for attempt in range(MAX_RECOVERIES + 1):
            try:
                calls = [getattr(actor, name)(*args) for actor in self.actors]
                answers = [self._answer(call) for call in calls]
                break
            except Exception as error:  # a lost worker shows up as several exception types
                if attempt == MAX_RECOVERIES:
                    raise DistributedFitError(
                        f"the Dask cluster failed {attempt + 1} times during one iteration "
                        f"({type(error).__name__}: {error}); check the workers' logs and "
                        "memory limits, then fit again"
                    ) from error
                warnings.warn(
                    f"fastgd: a Dask worker failed during the fit ({type(error).__name__}); "
                    "recomputing its chunks and repeating the iteration",
                    RuntimeWarning,
                    stacklevel=2,
                )
                self._place_actors()  # the scheduler recomputes lost parts from their graph
        out = [None] * self.n_chunks
        for (_, indices), answer in zip(self.placement, answers):
            for index, value in zip(indices, answer):
                out[index] = value
        return out if name != "sums" else np.array(out)

    # -- cpu.Run's interface ----------------------------------------------------------------

    def compile(self, b, w, lr, tol, history):
        """Compile the kernel in every process (or load it from numba's cache) before timing."""
        self._chunk_sums(b, w)

    def _chunk_sums(self, b, w):
        w = np.ascontiguousarray(w, dtype=np.float64)
        return self.local.sums(b, w) if self.client is None else self._cluster_sums(b, w)

    def statistics(self):
        """The data's centred moments (for lr="auto"): one more pass, on the workers."""
        if self.client is None:
            return merge_tree(self.local.moments())
        return merge_tree(self._ask_actors("moments"))

    def evaluate(self, b, w):
        """The loss at (b, w); also keeps its partial sums for the next step."""
        self.sums = tree_sum(self._chunk_sums(b, w))
        return self.sums[0] / self.total_weight

    def iterate(self, b, w, lr, k_start, k_stop, tol, noise, history):
        """`cpu.iterate`'s loop, one round trip to the workers per iteration."""
        for k in range(k_start, k_stop):
            b = apply_step(self.sums, self.total_weight, lr, b, w)
            if not all_finite(b, w):
                return PARAMS_NOT_FINITE, k + 1, b
            loss = self.evaluate(b, w)
            history[k + 1] = loss
            status = loss_status(history[k], loss, tol, noise)
            if status != RAN:
                return status, k + 1, b
        return RAN, k_stop, b


class GramRun:
    """method="gram" on Dask: one pass computes every chunk's centred moments where the chunk
    is (nothing is persisted), the client merges them (`merge_tree`) and the iterations run
    from the merged moments on the client, as `gram.Run` does for in-memory data."""

    def __init__(self, X, y, sample_weight):
        import dask

        self.parts = _delayed_parts(X, y, sample_weight)
        self.client = _current_client()
        self.n_features = X.shape[1]
        self.gram_run: Any = None  # a gram.Run on the merged moments, made on first use
        threads = sum(self.client.nthreads().values()) if self.client else 1
        self.plan = Plan(device="dask", threads=threads, method="gram")
        self.moments_of = dask.delayed(_part_moments, pure=True)

    def statistics(self):
        """The merged moments of all chunks (the one pass over the data, the first time)."""
        if self.gram_run is None:
            import dask

            tasks = [self.moments_of(part) for part in self.parts]
            if self.client is None:
                moments = dask.compute(*tasks)
            else:
                moments = self.client.gather(self.client.compute(tasks))
            self.gram_run = gram.Run.from_moments(merge_tree(moments))
        return self.gram_run.moments

    def compile(self, b, w, lr, tol, history):
        size = self.n_features + 1
        placeholder = gram.Moments(1.0, np.zeros(size), np.zeros((size, size)))
        gram.Run.from_moments(placeholder).compile(b, w, lr, tol, history)

    def evaluate(self, b, w):
        self.statistics()
        return self.gram_run.evaluate(b, w)

    def iterate(self, b, w, lr, k_start, k_stop, tol, noise, history):
        return self.gram_run.iterate(b, w, lr, k_start, k_stop, tol, noise, history)


def _part_moments(part):
    X, y, sample_weight = part
    return gram.centered_moments(X, y, sample_weight, 1)


def max_stable_lr(X, y, sample_weight=None):
    """`fastgd.max_stable_lr` for Dask input: 2 / L from the merged moments of the chunks."""
    X, y, sample_weight, _ = check_data(X, y, sample_weight)
    moments = GramRun(X, y, sample_weight).statistics()
    if not (np.all(np.isfinite(moments.comoment)) and np.all(np.isfinite(moments.mean))):
        raise locate_non_finite(X, y) or DivergenceError(
            "the data's moments overflow: scale X and y (e.g. standardize them)"
        )
    return gram.stable_limit(moments)
